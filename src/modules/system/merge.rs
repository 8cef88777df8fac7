//! A node's value: its winning definitions merged by its type (nixpkgs' `merge` of each
//! type), with conflicts reported (C012) and whatever cannot be known left unknown.

use std::rc::Rc;

use crate::diagnostics::Code;
use crate::eval::{Attr, Attrs, EvalError, EvalResult, Evaluator, Pos, Thunk, Value};
use crate::modules::known;
use crate::modules::types::{TypeInfo, TypeKind, describe_value};

use super::checks::Verdict;
use super::node::{Node, NodeKind};
use super::resolve::Resolved;
use super::{Def, ModuleDiagnostic, PRIORITY_PLAIN, attr};

impl Node {
    pub(super) fn merge(&self, ev: &mut Evaluator<'_>, pos: Option<Pos>) -> EvalResult<Value> {
        let value = self.merge_raw(ev, pos)?;
        if let NodeKind::Option(decl) = &self.kind
            && let Some(apply) = &decl.apply
        {
            let f = ev.force(apply, pos)?;
            return ev.apply(f, Thunk::value(value), pos);
        }
        Ok(value)
    }

    fn merge_raw(&self, ev: &mut Evaluator<'_>, pos: Option<Pos>) -> EvalResult<Value> {
        if let NodeKind::Namespace { .. } = self.kind {
            return self.attrs_of_children(ev);
        }
        // A key no option declares whose definitions are sets: a namespace.
        if let NodeKind::Free = self.kind
            && self.is_defined()
            && self.children(ev).is_some()
        {
            return self.attrs_of_children(ev);
        }
        // A renamed option reads as its new name.
        if let NodeKind::Option(decl) = &self.kind
            && let Some(to) = &decl.alias_of
            && let Some(root) = self.scope.root()
        {
            let to: Vec<&str> = to.iter().map(|n| &**n).collect();
            return match root.descend(ev, &to) {
                Some(target) => {
                    let t = target.value_thunk();
                    ev.force(&t, pos)
                }
                None => Ok(ev.unknown(format!("`{}` is renamed", self.path), pos)),
            };
        }
        let resolved = self.resolved(ev);
        if let Some(reason) = &resolved.uncertain {
            return Ok(ev.unknown(
                format!("`{}`: {reason}", self.path),
                self.first_pos().or(pos),
            ));
        }
        let Some(ty) = self.type_info().cloned() else {
            return self.merge_free(ev, &resolved, pos);
        };
        if resolved.defs.is_empty() {
            if let TypeKind::Submodule { .. } = ty.kind {
                return self.merge_as(ev, &ty, &[], pos);
            }
            if let Some(empty) = ty.empty_value() {
                return Ok(empty);
            }
            // A module clanc could not see into may define it.
            if !self.scope.complete.get() {
                return Ok(ev.unknown(format!("`{}` has no definition clanc sees", self.path), pos));
            }
            return Err(EvalError::eval(
                format!(
                    "The option `{}` was accessed but has no value defined. Try setting the option.",
                    self.path
                ),
                pos,
            ));
        }
        if let Some((_, Value::Unknown(u))) = resolved
            .defs
            .iter()
            .find(|(_, v)| matches!(v, Value::Unknown(_)))
            && (resolved.defs.len() == 1 || !self.merges_per_key())
        {
            return Ok(Value::Unknown(u.clone()));
        }
        // Definitions of the wrong type are reported; the value is then not known.
        let mut good = Vec::with_capacity(resolved.defs.len());
        let mut bad = false;
        for (def, v) in resolved.defs.iter() {
            match self.verdict(ev, &ty, v) {
                Verdict::Bad => {
                    self.wrong_type_value(ev, def, v, &ty);
                    bad = true;
                }
                Verdict::Good | Verdict::Unknown => good.push((def.clone(), v.clone())),
            }
        }
        if good.is_empty() || (bad && self.scope.checked.get()) {
            return Ok(ev.unknown(
                format!("`{}` has a definition of the wrong type", self.path),
                pos,
            ));
        }
        self.merge_as(ev, &ty, &good, pos)
    }

    /// The merged value of (winning, checked) definitions of a type.
    fn merge_as(
        &self,
        ev: &mut Evaluator<'_>,
        ty: &TypeInfo,
        defs: &[(Def, Value)],
        pos: Option<Pos>,
    ) -> EvalResult<Value> {
        match &ty.kind {
            TypeKind::Submodule { .. } => match self.sub_evaluation(ev) {
                Some(sub) => ev.force(&sub.config, pos),
                None => Ok(ev.unknown("submodule", pos)),
            },
            TypeKind::AttrsOf { .. } => self.attrs_of_children(ev),
            TypeKind::ListOf { elem, .. } => self.merge_list(ev, elem, defs),
            TypeKind::NullOr(_) => {
                let nulls = defs
                    .iter()
                    .filter(|(_, v)| matches!(v, Value::Null))
                    .count();
                if nulls == defs.len() {
                    return Ok(Value::Null);
                }
                if nulls > 0 {
                    self.conflict(defs, "is defined both null and not null");
                    return Ok(
                        ev.unknown(format!("`{}` has conflicting definitions", self.path), pos)
                    );
                }
                self.derived_value(ev, pos)
            }
            TypeKind::Either(..) | TypeKind::CoercedTo { .. } => self.derived_value(ev, pos),
            TypeKind::One { inner } => {
                if defs.len() > 1 {
                    self.conflict(
                        defs,
                        "is defined multiple times while it is expected to be unique",
                    );
                    // As in NixOS the option has no value then: nothing downstream is checked
                    // against a guess.
                    return Ok(ev.unknown(
                        format!("`{}` has conflicting definitions", self.path),
                        defs.last().and_then(|(d, _)| d.pos),
                    ));
                }
                match inner {
                    Some(_) => self.derived_value(ev, pos),
                    None => Ok(defs[0].1.clone()),
                }
            }
            TypeKind::FunctionTo(elem) => Ok(self.merged_function(elem, defs)),
            TypeKind::DeferredModule { static_modules } => Ok(merge_deferred(static_modules, defs)),
            TypeKind::Anything => self.merge_anything(ev, defs, pos),
            TypeKind::Unspecified => self.merge_default(ev, defs, pos),
            TypeKind::Attrs => {
                let mut merged = Attrs::default();
                for (_, v) in defs {
                    if let Value::Attrs(a) = v {
                        merged = merged.update(a);
                    }
                }
                Ok(Value::attrs(merged))
            }
            TypeKind::BoolByOr => Ok(Value::Bool(
                defs.iter().any(|(_, v)| matches!(v, Value::Bool(true))),
            )),
            TypeKind::Separated(sep) => {
                let parts: Vec<&str> = defs
                    .iter()
                    .filter_map(|(_, v)| match v {
                        Value::String(s) => Some(s.text()),
                        _ => None,
                    })
                    .collect();
                Ok(Value::string(parts.join(sep)))
            }
            TypeKind::Custom { merge } => self.merge_custom(ev, merge, defs, pos),
            TypeKind::Leaf { .. } => self.merge_equal(ev, defs, pos),
        }
    }

    /// A type with a `merge` function of its own, called as nixpkgs does: with the option's
    /// location and the definitions with their files.
    fn merge_custom(
        &self,
        ev: &mut Evaluator<'_>,
        merge: &Thunk,
        defs: &[(Def, Value)],
        pos: Option<Pos>,
    ) -> EvalResult<Value> {
        let loc: Vec<Thunk> = (self.path.split('.'))
            .filter(|p| !p.is_empty())
            .map(|p| Thunk::value(Value::string(p)))
            .collect();
        let defs: Vec<Thunk> = defs
            .iter()
            .map(|(d, v)| {
                let file = match &d.file {
                    Some(f) => Value::string(f.to_string()),
                    None => Value::string("<unknown-file>"),
                };
                Thunk::value(Value::attrs(Attrs::from_unsorted(vec![
                    attr("file", Thunk::value(file)),
                    attr("value", Thunk::value(v.clone())),
                ])))
            })
            .collect();
        let f = ev.force(merge, pos)?;
        ev.apply_many(
            f,
            &[
                Thunk::value(Value::list(loc)),
                Thunk::value(Value::list(defs)),
            ],
            pos,
        )
    }

    /// A key no option declares: one definition is its value, sets merge key by key, lists
    /// concatenate, anything else must be equal. (NixOS would know its type; clanc does not.)
    fn merge_free(
        &self,
        ev: &mut Evaluator<'_>,
        resolved: &Resolved,
        pos: Option<Pos>,
    ) -> EvalResult<Value> {
        let defs = &resolved.defs;
        if defs.is_empty() {
            return Ok(ev.unknown(format!("`{}` has no definition", self.path), pos));
        }
        if defs.len() == 1 {
            return Ok(defs[0].1.clone());
        }
        if defs.iter().all(|(_, v)| matches!(v, Value::Attrs(_))) {
            return self.attrs_of_children(ev);
        }
        if defs.iter().all(|(_, v)| matches!(v, Value::List(_))) {
            let items: Vec<Thunk> = defs
                .iter()
                .flat_map(|(_, v)| match v {
                    Value::List(l) => l.to_vec(),
                    _ => Vec::new(),
                })
                .collect();
            return Ok(Value::list(items));
        }
        self.merge_equal(ev, defs, pos)
    }

    /// `types.anything`: the definitions must have one type; sets merge key by key,
    /// functions by their results, a package takes one definition, the rest must be equal.
    fn merge_anything(
        &self,
        ev: &mut Evaluator<'_>,
        defs: &[(Def, Value)],
        pos: Option<Pos>,
    ) -> EvalResult<Value> {
        let mut kinds = Vec::with_capacity(defs.len());
        for (_, v) in defs {
            kinds.push(match v {
                Value::Attrs(a) if a.get("outPath").is_some() || a.get("__toString").is_some() => {
                    "stringCoercibleSet"
                }
                other => other.type_name(),
            });
        }
        if kinds.contains(&"unknown") {
            return Ok(ev.unknown(
                format!("`{}` has a definition clanc cannot know", self.path),
                pos,
            ));
        }
        if kinds.iter().any(|k| *k != kinds[0]) {
            self.conflict(defs, "has conflicting option types");
            return Ok(ev.unknown(format!("`{}` has conflicting definitions", self.path), pos));
        }
        match kinds[0] {
            "set" => self.attrs_of_children(ev),
            "lambda" => Ok(self.merged_function(&TypeInfo::anything(), defs)),
            "stringCoercibleSet" if defs.len() > 1 => {
                self.conflict(
                    defs,
                    "is defined multiple times while it is expected to be unique",
                );
                Ok(ev.unknown(format!("`{}` has conflicting definitions", self.path), pos))
            }
            _ => self.merge_equal(ev, defs, pos),
        }
    }

    /// nixpkgs' `mergeDefaultOption` (`unspecified`, and options without a type).
    fn merge_default(
        &self,
        ev: &mut Evaluator<'_>,
        defs: &[(Def, Value)],
        pos: Option<Pos>,
    ) -> EvalResult<Value> {
        if defs.len() == 1 {
            return Ok(defs[0].1.clone());
        }
        if let Some((_, Value::Unknown(u))) =
            defs.iter().find(|(_, v)| matches!(v, Value::Unknown(_)))
        {
            return Ok(Value::Unknown(u.clone()));
        }
        let all = |f: fn(&Value) -> bool| defs.iter().all(|(_, v)| f(v));
        if all(|v| matches!(v, Value::Lambda(_) | Value::PrimOp(_))) {
            return Ok(self.merged_function(&TypeInfo::unspecified(), defs));
        }
        if all(|v| matches!(v, Value::List(_))) {
            let items: Vec<Thunk> = defs
                .iter()
                .flat_map(|(_, v)| match v {
                    Value::List(l) => l.to_vec(),
                    _ => Vec::new(),
                })
                .collect();
            return Ok(Value::list(items));
        }
        if all(|v| matches!(v, Value::Attrs(_))) {
            let mut merged = Attrs::default();
            for (_, v) in defs {
                if let Value::Attrs(a) = v {
                    merged = merged.update(a);
                }
            }
            return Ok(Value::attrs(merged));
        }
        if all(|v| matches!(v, Value::Bool(_))) {
            return Ok(Value::Bool(
                defs.iter().any(|(_, v)| matches!(v, Value::Bool(true))),
            ));
        }
        if all(|v| matches!(v, Value::String(_))) {
            let mut text = String::new();
            let mut context = false;
            for (_, v) in defs {
                if let Value::String(s) = v {
                    text.push_str(s.text());
                    context |= s.context;
                }
            }
            return Ok(Value::string_with(text, context));
        }
        if all(|v| matches!(v, Value::Int(_))) {
            return self.merge_equal(ev, defs, pos);
        }
        self.conflict(defs, "has definitions that cannot be merged");
        Ok(ev.unknown(format!("`{}` has conflicting definitions", self.path), pos))
    }

    /// A function whose result merges the results of the definitions (`functionTo`).
    fn merged_function(&self, elem: &TypeInfo, defs: &[(Def, Value)]) -> Value {
        let this = self.this.clone();
        let elem = Rc::new(elem.clone());
        let defs: Vec<Def> = defs
            .iter()
            .map(|(d, v)| Def {
                value: Thunk::value(v.clone()),
                ..d.clone()
            })
            .collect();
        Value::host(
            format!("option `{}`", self.path),
            1,
            move |ev, args, pos| {
                let Some(node) = this.upgrade() else {
                    return Ok(ev.unknown("the module evaluation has ended", pos));
                };
                let results: Vec<Def> = defs
                    .iter()
                    .map(|d| {
                        let f = d.value.clone();
                        let arg = args[0].clone();
                        Def {
                            value: Thunk::native("function result", move |ev, pos| {
                                let f = ev.force(&f, pos)?;
                                ev.apply(f, arg.clone(), pos)
                            }),
                            priority: PRIORITY_PLAIN,
                            ..d.clone()
                        }
                    })
                    .collect();
                let result = node.make(
                    format!("{}.<function body>", node.path),
                    NodeKind::Element(elem.clone()),
                    results,
                    node.name_arg.clone(),
                );
                if let Some(ctx) = node.ctx() {
                    ctx.kept.borrow_mut().push(result.clone());
                }
                let t = result.value_thunk();
                ev.force(&t, pos)
            },
        )
    }

    /// `listOf t`: the lists concatenated, each element merged as `t` (an element under
    /// `mkIf false` is left out).
    fn merge_list(
        &self,
        ev: &mut Evaluator<'_>,
        elem: &TypeInfo,
        defs: &[(Def, Value)],
    ) -> EvalResult<Value> {
        let elem = Rc::new(elem.clone());
        let mut items = Vec::new();
        let mut nodes = Vec::new();
        let mut n = 0;
        for (def, v) in defs {
            let Value::List(list) = v else { continue };
            for item in list.iter() {
                n += 1;
                let pos = ev.thunk_pos(item).or(def.pos);
                let node = self.make(
                    format!("{}.\"[definition {n}]\"", self.path),
                    NodeKind::Element(elem.clone()),
                    vec![Def {
                        value: item.clone(),
                        pos,
                        value_pos: pos,
                        priority: PRIORITY_PLAIN,
                        ..def.clone()
                    }],
                    self.name_arg.clone(),
                );
                let r = node.resolved(ev);
                if r.defs.is_empty() && r.uncertain.is_none() {
                    continue;
                }
                items.push(node.value_thunk());
                nodes.push(node);
            }
        }
        self.kept.borrow_mut().extend(nodes);
        Ok(Value::list(items))
    }

    /// Whether definitions of this node merge key by key (so one unknown definition does not
    /// make the whole value unknown).
    fn merges_per_key(&self) -> bool {
        matches!(
            self.type_info().map(|t| &t.kind),
            Some(
                TypeKind::Submodule { .. }
                    | TypeKind::AttrsOf { .. }
                    | TypeKind::ListOf { .. }
                    | TypeKind::Anything
            ) | None
        )
    }

    /// The set of this node's children's values. Keys of `attrsOf` (and `anything`) whose
    /// definitions all vanish under `mkIf false` are left out, as nixpkgs does, which
    /// evaluates their conditions; other keys stay (`lazyAttrsOf`, and keys no option
    /// declares: NixOS would know them, clanc does not).
    fn attrs_of_children(&self, ev: &mut Evaluator<'_>) -> EvalResult<Value> {
        let Some(children) = self.children(ev) else {
            return Ok(ev.unknown(format!("`{}` is not an attribute set", self.path), None));
        };
        let drops_vanished = |node: &Node| -> bool {
            let ty = match &self.kind {
                NodeKind::Namespace { freeform, .. } => match node.kind {
                    NodeKind::Element(_) => freeform.as_deref(),
                    _ => None,
                },
                _ => self.type_info(),
            };
            matches!(
                ty.map(|t| &t.kind),
                Some(TypeKind::AttrsOf { lazy: false, .. } | TypeKind::Anything)
            )
        };
        let mut entries = Vec::with_capacity(children.map.len() + 1);
        // A key that only a definition under an unknown `mkIf` gives may be missing.
        let mut uncertain_key = false;
        for (name, node) in &children.map {
            if matches!(node.kind, NodeKind::Free) && node.defs.is_empty() {
                continue;
            }
            if drops_vanished(node) {
                let r = node.resolved(ev);
                if r.defs.is_empty() && r.uncertain.is_none() {
                    continue;
                }
                uncertain_key |= r.defs.iter().all(|(d, _)| d.maybe);
            }
            entries.push(Attr {
                name: name.clone(),
                value: node.value_thunk(),
                pos: node.first_pos(),
            });
        }
        let unknown_decls = match &self.kind {
            NodeKind::Namespace { decls, .. } => decls.open.clone(),
            _ => None,
        }
        .or_else(|| self.decls_unknown.get().cloned().flatten());
        // Outside a strict evaluation whose every module clanc saw, options clanc does not
        // model (NixOS', clan-core's, flake-parts' beyond its models) may sit in any
        // namespace: a key the value lacks is unknown, not missing.
        let partial = match &self.kind {
            // (With a freeform type, every key is one of its values: none is missing.)
            NodeKind::Namespace {
                decls,
                freeform: None,
            } => decls.modelled && !self.scope.checked.get(),
            NodeKind::Free => self.scope.partial.get(),
            _ => false,
        }
        .then(|| "options clanc does not model may be missing".to_string());
        // An `attrsOf` option the clan's own modules declare: its keys are what the modules
        // define (the unseen NixOS modules do not know the option), so it stays closed in an
        // open world unless a key may be missing.
        let own_attrs_of = match &self.kind {
            NodeKind::Option(decl) => {
                matches!(decl.ty.kind, TypeKind::AttrsOf { .. })
                    && decl
                        .pos
                        .is_some_and(|p| !known::is_builtin(&ev.file_path(p.file)))
                    && !uncertain_key
            }
            _ => false,
        };
        let open_world = (self.scope.settings.open_world.as_ref()).filter(|_| !own_attrs_of);
        if let Some(reason) = (children.open.as_ref())
            .or(unknown_decls.as_ref())
            .or(open_world)
            .or(partial.as_ref())
        {
            let what = match self.path.as_str() {
                "" => format!("the configuration ({reason})"),
                path => format!("`{path}` ({reason})"),
            };
            entries.push(attr(
                crate::eval::OPEN_MARKER,
                Thunk::value(Value::string(what)),
            ));
        }
        Ok(Value::attrs(Attrs::from_unsorted(entries)))
    }

    /// All definitions must be equal (`mergeEqualOption`); otherwise C012.
    fn merge_equal(
        &self,
        ev: &mut Evaluator<'_>,
        defs: &[(Def, Value)],
        pos: Option<Pos>,
    ) -> EvalResult<Value> {
        let first = &defs[0];
        for other in &defs[1..] {
            match ev.equal(&first.1, &other.1, pos)? {
                Ok(true) => {}
                Ok(false) => {
                    self.conflict(
                        &[first.clone(), other.clone()],
                        "has conflicting definition values",
                    );
                    return Ok(ev.unknown(
                        format!("`{}` has conflicting definitions", self.path),
                        other.0.pos,
                    ));
                }
                Err(u) => return Ok(Value::Unknown(u)),
            }
        }
        Ok(first.1.clone())
    }

    /// Reports conflicting definitions (C012): at the one written last, with the others
    /// as labels. Definitions under an unknown `mkIf` conflict with nothing.
    fn conflict(&self, defs: &[(Def, Value)], what: &str) {
        let Some(ctx) = self.ctx() else { return };
        if defs.iter().any(|(d, _)| d.maybe) {
            return;
        }
        let mut defs: Vec<&(Def, Value)> = defs.iter().collect();
        defs.sort_by_key(|(d, _)| d.seq);
        let Some((last, rest)) = defs.split_last() else {
            return;
        };
        let labels = rest
            .iter()
            .filter_map(|(d, v)| {
                d.pos
                    .map(|p| (p, format!("also defined here ({})", describe_value(v))))
            })
            .collect();
        ctx.report(ModuleDiagnostic {
            code: Code::C012,
            message: format!("the option `{}` {what}", self.path),
            pos: last.0.pos,
            labels,
            error: None,
        });
    }
}

/// `deferredModule`: a module importing the type's static modules and each definition (with
/// its file).
fn merge_deferred(static_modules: &[Thunk], defs: &[(Def, Value)]) -> Value {
    let mut items: Vec<Thunk> = static_modules.to_vec();
    items.extend(defs.iter().map(|(d, v)| {
        let mut entries = vec![attr(
            "imports",
            Thunk::value(Value::list(vec![Thunk::value(v.clone())])),
        )];
        if let Some(f) = &d.file {
            entries.push(attr("_file", Thunk::value(Value::string(f.to_string()))));
        }
        Thunk::value(Value::attrs(Attrs::from_unsorted(entries)))
    }));
    Value::attrs(Attrs::from_unsorted(vec![attr(
        "imports",
        Thunk::value(Value::list(items)),
    )]))
}
