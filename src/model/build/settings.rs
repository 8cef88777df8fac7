//! Reading role and machine settings as data (with their `mkIf`/`mkOverride` wrappers, so the
//! checker merges them with priorities) and roles' `extraModules`.

use super::*;
use crate::eval::Attrs;

impl Reader<'_, '_> {
    /// The `settings` of a role or role machine, as data (one definition; more are C012,
    /// reported by the module system).
    pub(super) fn settings(
        &mut self,
        parent: Option<Rc<Node>>,
        subject: &str,
    ) -> Option<Spanned<Data>> {
        let node = self.child(&parent, "settings")?;
        // Merging reports a second definition (C012: settings take one).
        let _ = self.force(&node.value_thunk());
        let defs = self.user_defs(&node);
        let def = defs.first()?;
        let span = self.def_span(def);
        let json_path = def
            .file
            .as_deref()
            .filter(|f| f.ends_with("/inventory.json"))
            .map(|_| json_path_of(subject));
        Some(self.data(&def.value, span, 0, subject, json_path))
    }

    /// A value as `Data` with the span of its definition, keeping module-system wrappers.
    pub(super) fn data(
        &mut self,
        thunk: &Thunk,
        span: Option<Span>,
        depth: usize,
        subject: &str,
        json: Option<Vec<String>>,
    ) -> Spanned<Data> {
        let mut literal = None;
        let value = self.data_value(thunk, span.clone(), depth, subject, json, &mut literal);
        Spanned {
            literal,
            ..Spanned::new(value, span)
        }
    }

    /// [`Self::data`]'s value; a string copied from a literal sets `literal`.
    pub(super) fn data_value(
        &mut self,
        thunk: &Thunk,
        span: Option<Span>,
        depth: usize,
        subject: &str,
        json: Option<Vec<String>>,
        literal: &mut Option<Span>,
    ) -> Data {
        if depth > MAX_DATA_DEPTH {
            return Data::Unknown("nested too deeply".into());
        }
        if let Some((data, span)) = self.copied_literal(thunk) {
            *literal = Some(span);
            return data;
        }
        let value = match self.force(thunk) {
            Ok(v) => v,
            Err(e) => return Data::Unknown(e),
        };
        match value {
            Value::Null => Data::Null,
            Value::Bool(b) => Data::Bool(b),
            Value::Int(i) => Data::Int(i),
            Value::Float(f) => Data::Float(f),
            Value::String(s) => {
                let (text, from) = self.copy_string(&s);
                *literal = from;
                Data::String(text)
            }
            Value::Path(p) => Data::Path(
                self.files
                    .relative(&p)
                    .map(str::to_string)
                    .unwrap_or_else(|| p.to_string()),
            ),
            Value::Lambda(_) | Value::PrimOp(_) => Data::Function,
            Value::Unknown(u) => {
                self.note(subject, u.reason.clone(), span);
                Data::Unknown(u.reason.clone())
            }
            Value::List(items) => Data::List(self.items_data(&items, &span, depth, subject)),
            Value::Attrs(attrs) => match self.wrapper_data(&attrs, &span, depth, subject) {
                Some(wrapper) => wrapper,
                None => self.attrs_data(&attrs, &span, depth, subject, json),
            },
        }
    }

    /// A number literal's (or `true`'s, `false`'s) value, copied, with the literal's span:
    /// the model keeps the literal with it.
    fn copied_literal(&self, thunk: &Thunk) -> Option<(Data, Span)> {
        let (number, pos) = thunk.literal_number()?;
        let copied = match number {
            Value::Int(i) => Some(Data::Int(i)),
            Value::Float(f) => Some(Data::Float(f)),
            Value::Bool(b) => Some(Data::Bool(b)),
            _ => None,
        };
        match (copied, self.span(Some(pos))) {
            (Some(data), Some(span)) => Some((data, span)),
            _ => None,
        }
    }

    /// The items of a list (or of `mkMerge`'s `contents`) as data, each with its own span
    /// where it has one, else the list's.
    fn items_data(
        &mut self,
        items: &[Thunk],
        span: &Option<Span>,
        depth: usize,
        subject: &str,
    ) -> Vec<Spanned<Data>> {
        let mut out = Vec::new();
        for item in items.iter() {
            let pos = self.ev.thunk_pos(item);
            let s = self.span(pos).or_else(|| span.clone());
            out.push(self.data(item, s, depth + 1, subject, None));
        }
        out
    }

    /// A module-system wrapper (`mkOverride`, `mkOrder`, `mkIf`, `mkMerge`: a set with a
    /// `_type` it knows) as data; `None` for any other set.
    fn wrapper_data(
        &mut self,
        attrs: &Attrs,
        span: &Option<Span>,
        depth: usize,
        subject: &str,
    ) -> Option<Data> {
        let get = |name: &str| attrs.get(name).cloned();
        let kind = get("_type")?;
        let kind = match self.force(&kind) {
            Ok(Value::String(s)) => s.text().to_string(),
            _ => String::new(),
        };
        let content = |r: &mut Self| -> Box<Spanned<Data>> {
            let c = get("content").unwrap_or_else(|| Thunk::value(Value::Null));
            let pos = r.ev.thunk_pos(&c);
            let s = r.span(pos).or_else(|| span.clone());
            Box::new(r.data(&c, s, depth + 1, subject, None))
        };
        let int = |r: &mut Self, name: &str| -> i64 {
            match get(name).map(|t| r.force(&t)) {
                Some(Ok(Value::Int(i))) => i,
                _ => 100,
            }
        };
        match kind.as_str() {
            "override" => {
                let priority = int(self, "priority");
                Some(Data::Override {
                    priority,
                    content: content(self),
                })
            }
            "order" => {
                let priority = int(self, "priority");
                Some(Data::Order {
                    priority,
                    content: content(self),
                })
            }
            "if" => {
                let condition = match get("condition").map(|t| self.force(&t)) {
                    Some(Ok(Value::Bool(b))) => Known::Known(b),
                    Some(Ok(Value::Unknown(u))) => Known::Unknown(u.reason.clone()),
                    Some(Ok(_)) => Known::Unknown("not a Boolean".into()),
                    Some(Err(e)) => Known::Unknown(e),
                    None => Known::Known(true),
                };
                Some(Data::If {
                    condition,
                    content: content(self),
                })
            }
            "merge" => Some(match get("contents").map(|t| self.force(&t)) {
                Some(Ok(Value::List(items))) => {
                    Data::Merge(self.items_data(&items, span, depth, subject))
                }
                _ => Data::Unknown("mkMerge without a list".into()),
            }),
            _ => None,
        }
    }

    /// A plain set as data: each attribute with the span of its key (in inventory.json when
    /// it comes from there, `json` being the path to it) and of its value.
    fn attrs_data(
        &mut self,
        attrs: &Attrs,
        span: &Option<Span>,
        depth: usize,
        subject: &str,
        json: Option<Vec<String>>,
    ) -> Data {
        let mut out = BTreeMap::new();
        for a in &attrs.entries {
            if &*a.name == crate::eval::OPEN_MARKER {
                continue;
            }
            let child_json = json.as_ref().map(|p| {
                let mut p = p.clone();
                p.push(a.name.to_string());
                p
            });
            let json_key = child_json.as_ref().and_then(|p| {
                let keys: Vec<&str> = p.iter().map(String::as_str).collect();
                self.json_key_span(&keys)
            });
            let key = json_key
                .or_else(|| self.span(a.pos))
                .or_else(|| span.clone());
            let value_pos = self
                .ev
                .thunk_pos(&a.value)
                .or_else(|| self.value_of_key(a.pos));
            let s = self.span(value_pos).or_else(|| key.clone());
            let d = self.data(&a.value, s, depth + 1, subject, child_json);
            out.insert(a.name.to_string(), d.with_key(key));
        }
        Data::Attrs(out)
    }

    pub(super) fn extra_modules(&mut self, node: Option<Rc<Node>>) -> Vec<Spanned<ExtraModule>> {
        let Some(node) = node else { return Vec::new() };
        let mut out = Vec::new();
        for def in self.user_defs(&node) {
            let written = self.list_items(self.def_value_pos(&def));
            let items = match self.force(&def.value) {
                Ok(Value::List(items)) => items,
                // Modules clanc cannot see (reported when it failed): any module at all.
                other => {
                    let reason = match other {
                        Ok(Value::Unknown(u)) => u.reason.clone(),
                        Ok(Value::Attrs(a)) if a.get("_type").is_some() => {
                            "`extraModules` under `mkIf`/`mkMerge` is not read".to_string()
                        }
                        Ok(v) => format!("`extraModules` is {}", v.describe()),
                        Err(e) => e,
                    };
                    let span = self.def_span(&def);
                    out.push(Spanned::new(ExtraModule::Unknown(reason), span));
                    continue;
                }
            };
            for (i, item) in items.iter().enumerate() {
                let pos = self.ev.thunk_pos(item).or_else(|| written.get(i).copied());
                let span = self.span(pos).or_else(|| self.def_span(&def));
                let module = match self.force(item) {
                    Ok(Value::Path(p)) => ExtraModule::File(
                        self.files
                            .relative(&p)
                            .map(str::to_string)
                            .unwrap_or_else(|| p.to_string()),
                    ),
                    Ok(Value::String(s)) => ExtraModule::File(s.text().to_string()),
                    Ok(Value::Unknown(u)) => ExtraModule::Unknown(u.reason.clone()),
                    Ok(_) => ExtraModule::Inline,
                    Err(e) => ExtraModule::Unknown(e),
                };
                out.push(Spanned::new(module, span));
            }
        }
        out
    }
}
