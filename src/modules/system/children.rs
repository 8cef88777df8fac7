//! The keys below a node, each with its definitions: a namespace's definitions pushed down
//! into its keys (`mkIf`, `mkMerge` and `mkOverride` moved onto each key's definition
//! without evaluating a condition), the keys of a typed set, a submodule's options, and
//! renamed options' definitions moved to their new names.

use std::collections::BTreeMap;
use std::rc::Rc;

use crate::eval::{Attr, Attrs, Evaluator, Thunk, Value};
use crate::modules::types::{TypeInfo, TypeKind};

use super::declarations::{DeclEntry, DeclNs};
use super::node::{Node, NodeKind, clone_kind};
use super::resolve::property;
use super::{Def, ModuleContext, Name, PRIORITY_PLAIN, attr, join};

pub struct Children {
    pub map: BTreeMap<Name, Rc<Node>>,
    /// Some definition is unknown: keys may be missing.
    pub open: Option<String>,
}

/// Definitions by the key below a node.
type KeyedDefs = BTreeMap<Name, Vec<Def>>;

/// A property pushed down from a namespace into the definitions of its keys.
#[derive(Clone)]
enum Pushed {
    If(Thunk),
    Override(Thunk),
}

/// The definitions of the keys below a namespace.
#[derive(Default)]
struct Split {
    out: KeyedDefs,
    /// Some definition is unknown or failed: keys may be missing.
    open: Option<String>,
    /// Some definition is not a set (for a key no option declares: a leaf).
    leaf: bool,
}

/// `{ _type = kind; <field> = field; content = content; }`, as `lib.mkIf`/`mkOverride` make.
fn wrapped(kind: &str, field: &str, value: Thunk, content: Thunk) -> Thunk {
    Thunk::value(Value::attrs(Attrs::from_unsorted(vec![
        attr("_type", Thunk::value(Value::string(kind))),
        attr(field, value),
        attr("content", content),
    ])))
}

impl Node {
    /// The definitions of a namespace pushed down into its keys (nixpkgs'
    /// `pushDownProperties`): `mkMerge` spread, `mkIf` and `mkOverride` moved onto each key's
    /// definition. No condition is evaluated: which keys a module defines never depends on
    /// `config`, so `config = lib.mkIf cfg.enable { ... }` may read the options it defines.
    fn push_down(
        &self,
        ev: &mut Evaluator<'_>,
        ctx: &ModuleContext,
        def: &Def,
        value: Thunk,
        pushed: &mut Vec<Pushed>,
        split: &mut Split,
    ) {
        let pos = ev.thunk_pos(&value).or(def.pos);
        let v = match ev.force(&value, pos) {
            Ok(v) => v,
            Err(e) => {
                (split.open).get_or_insert_with(|| format!("a definition failed: {}", e.message));
                ctx.report_error(e);
                return;
            }
        };
        let Value::Attrs(attrs) = &v else {
            match &v {
                Value::Unknown(u) => {
                    ctx.note_unknown(&self.path, &u.reason, pos);
                    split.open.get_or_insert_with(|| u.reason.clone());
                }
                // A key no option declares, defined as something else than a set: a leaf.
                _ if matches!(self.kind, NodeKind::Free) => split.leaf = true,
                other => self.wrong_type(ctx, def, other, "an attribute set"),
            }
            return;
        };
        let field = |name: &str| attrs.get(name).cloned();
        match (property(ev, &v).as_deref(), field("content")) {
            (Some("merge"), _) => match field("contents").map(|c| ev.force(&c, pos)) {
                Some(Ok(Value::List(items))) => {
                    for item in items.iter() {
                        self.push_down(ev, ctx, def, item.clone(), pushed, split);
                    }
                }
                Some(Ok(Value::Unknown(u))) => {
                    split.open.get_or_insert_with(|| u.reason.clone());
                }
                Some(Err(e)) => {
                    (split.open)
                        .get_or_insert_with(|| format!("a definition failed: {}", e.message));
                    ctx.report_error(e);
                }
                _ => {}
            },
            (Some("if"), Some(content)) => {
                let condition =
                    field("condition").unwrap_or_else(|| Thunk::value(Value::Bool(true)));
                pushed.push(Pushed::If(condition));
                self.push_down(ev, ctx, def, content, pushed, split);
                pushed.pop();
            }
            (Some("override"), Some(content)) => {
                let priority =
                    field("priority").unwrap_or_else(|| Thunk::value(Value::Int(PRIORITY_PLAIN)));
                pushed.push(Pushed::Override(priority));
                self.push_down(ev, ctx, def, content, pushed, split);
                pushed.pop();
            }
            _ => {
                for a in &attrs.entries {
                    let mut value = a.value.clone();
                    for p in pushed.iter().rev() {
                        value = match p {
                            Pushed::If(c) => wrapped("if", "condition", c.clone(), value),
                            Pushed::Override(p) => {
                                wrapped("override", "priority", p.clone(), value)
                            }
                        };
                    }
                    split.out.entry(a.name.clone()).or_default().push(Def {
                        value,
                        file: def.file.clone(),
                        pos: a.pos.or(pos),
                        value_pos: ev.thunk_pos(&a.value),
                        priority: PRIORITY_PLAIN,
                        maybe: def.maybe,
                        seq: def.seq,
                    });
                }
            }
        }
    }

    /// The keys below this node, each with its definitions; `None` for a leaf.
    pub fn children(&self, ev: &mut Evaluator<'_>) -> Option<Rc<Children>> {
        if let Some(c) = self.children.get() {
            return c.clone();
        }
        let children = self.compute_children(ev);
        let _ = self.children.set(children.clone());
        children
    }

    fn compute_children(&self, ev: &mut Evaluator<'_>) -> Option<Rc<Children>> {
        let ctx = self.ctx()?;
        let children = match (&self.kind, self.type_info().map(|t| &t.kind)) {
            (NodeKind::Namespace { decls, freeform }, _) => {
                self.namespace_children(ev, &ctx, decls, freeform.as_deref())
            }
            // A key no option declares: a namespace as long as its definitions are sets
            // (pushed down like a namespace's: a condition never decides its keys).
            (NodeKind::Free, _) => self.free_children(ev, &ctx)?,
            (_, Some(TypeKind::Submodule { .. })) => return self.submodule_children(ev),
            (
                _,
                Some(
                    TypeKind::NullOr(_)
                    | TypeKind::Either(..)
                    | TypeKind::CoercedTo { .. }
                    | TypeKind::One { inner: Some(_) },
                ),
            ) => {
                return self.derived(ev)?.children(ev);
            }
            (
                _,
                Some(
                    TypeKind::AttrsOf { .. }
                    | TypeKind::Anything
                    | TypeKind::Unspecified
                    | TypeKind::Attrs,
                ),
            ) => self.typed_children(ev, &ctx)?,
            _ => return None,
        };
        Some(Rc::new(children))
    }

    /// The keys of a namespace: its declared options and namespaces, and the keys its
    /// definitions give that no option declares (of the freeform type, if it has one).
    fn namespace_children(
        &self,
        ev: &mut Evaluator<'_>,
        ctx: &ModuleContext,
        decls: &DeclNs,
        freeform: Option<&TypeInfo>,
    ) -> Children {
        let Split {
            out: split, open, ..
        } = self.split_namespace(ev, ctx);
        // Keys below a namespace whose declarations clanc could not read may be
        // options with values it does not know.
        let unknown_decls =
            (decls.open.clone()).or_else(|| self.decls_unknown.get().cloned().flatten());
        let mut map = BTreeMap::new();
        for (name, entry) in &decls.entries {
            let path = join(&self.path, name);
            let defs = split.get(name).cloned().unwrap_or_default();
            let kind = match entry {
                DeclEntry::Option(d) => NodeKind::Option(d.clone()),
                DeclEntry::Ns(ns) => NodeKind::Namespace {
                    decls: ns.clone(),
                    freeform: None,
                },
            };
            map.insert(
                name.clone(),
                self.make(path, kind, defs, Some(name.clone())),
            );
        }
        for (name, defs) in split {
            if map.contains_key(&name) {
                continue;
            }
            // `freeformType = attrsOf t`: each undeclared key has type `t`.
            let kind = match freeform.map(|t| &t.kind) {
                Some(TypeKind::AttrsOf { elem, .. }) => {
                    NodeKind::Element(Rc::new((**elem).clone()))
                }
                Some(_) => NodeKind::Element(Rc::new(TypeInfo::anything())),
                None => NodeKind::Free,
            };
            let path = join(&self.path, &name);
            let node = self.make(path, kind, defs, Some(name.clone()));
            if matches!(node.kind, NodeKind::Free) {
                let _ = node.decls_unknown.set(unknown_decls.clone());
            }
            map.insert(name, node);
        }
        self.apply_aliases(&mut map);
        Children { map, open }
    }

    /// The keys of a key no option declares; `None` when a definition is not a set (a leaf).
    fn free_children(&self, ev: &mut Evaluator<'_>, ctx: &ModuleContext) -> Option<Children> {
        let Split { out, open, leaf } = self.split_namespace(ev, ctx);
        if leaf {
            return None;
        }
        let unknown_decls = self.decls_unknown.get().cloned().flatten();
        let map = out
            .into_iter()
            .map(|(name, defs)| {
                let path = join(&self.path, &name);
                let node = self.make(path, NodeKind::Free, defs, Some(name.clone()));
                let _ = node.decls_unknown.set(unknown_decls.clone());
                (name, node)
            })
            .collect();
        Some(Children { map, open })
    }

    /// The keys of a submodule-typed node: its evaluation's options.
    fn submodule_children(&self, ev: &mut Evaluator<'_>) -> Option<Rc<Children>> {
        let sub = self.sub_evaluation(ev)?;
        let children = sub.root.children(ev)?;
        // A definition of the element that failed (reported) or that clanc cannot see
        // into may have held any key.
        let failed = (self.resolved(ev).uncertain.clone())
            .or_else(|| sub.failed.as_ref().map(|f| f.message.clone()))
            .or_else(|| sub.open.clone());
        match failed {
            Some(reason) if children.open.is_none() => Some(Rc::new(Children {
                map: children.map.clone(),
                open: Some(reason),
            })),
            _ => Some(children),
        }
    }

    /// The keys of a typed set (`attrsOf t`, `anything`, `unspecified`, `attrs`), each of
    /// the element type; `None` when a definition is not a set.
    fn typed_children(&self, ev: &mut Evaluator<'_>, ctx: &ModuleContext) -> Option<Children> {
        let elem: Option<Rc<TypeInfo>> = match self.type_info().map(|t| &t.kind) {
            Some(TypeKind::AttrsOf { elem, .. }) => Some(Rc::new((**elem).clone())),
            Some(TypeKind::Anything) => Some(Rc::new(TypeInfo::anything())),
            Some(_) => Some(Rc::new(TypeInfo::unspecified())),
            None => None,
        };
        let (split, open) = self.split_typed(ev, ctx)?;
        let map = split
            .into_iter()
            .map(|(name, defs)| {
                let path = join(&self.path, &name);
                let kind = match &elem {
                    Some(t) => NodeKind::Element(t.clone()),
                    None => NodeKind::Free,
                };
                (name.clone(), self.make(path, kind, defs, Some(name)))
            })
            .collect();
        Some(Children { map, open })
    }

    /// The definitions of a namespace's keys (see `push_down`).
    fn split_namespace(&self, ev: &mut Evaluator<'_>, ctx: &ModuleContext) -> Split {
        let mut split = Split::default();
        for def in &self.defs {
            self.push_down(ev, ctx, def, def.value.clone(), &mut Vec::new(), &mut split);
        }
        split
    }

    /// The definitions of the keys of a typed set: each winning definition contributes its
    /// attributes. `None` when a definition is not a set (a leaf after all).
    fn split_typed(
        &self,
        ev: &mut Evaluator<'_>,
        ctx: &ModuleContext,
    ) -> Option<(KeyedDefs, Option<String>)> {
        let resolved = self.resolved(ev);
        // A definition that failed (reported) or might win may hold keys: the set is open.
        let mut open = resolved.uncertain.clone();
        let mut out: KeyedDefs = BTreeMap::new();
        for (def, value) in &resolved.defs {
            match value {
                Value::Attrs(attrs) => {
                    for a in &attrs.entries {
                        out.entry(a.name.clone()).or_default().push(Def {
                            value: a.value.clone(),
                            file: def.file.clone(),
                            pos: a.pos.or(def.pos),
                            value_pos: ev.thunk_pos(&a.value),
                            priority: PRIORITY_PLAIN,
                            maybe: def.maybe,
                            seq: def.seq,
                        });
                    }
                }
                Value::Unknown(u) => {
                    ctx.note_unknown(&self.path, &u.reason, def.pos);
                    open.get_or_insert_with(|| u.reason.clone());
                }
                other => {
                    match self.type_info() {
                        // The merged value reports it.
                        Some(ty) if matches!(ty.kind, TypeKind::AttrsOf { .. }) => {
                            self.wrong_type_value(ev, def, other, ty);
                        }
                        _ => return None,
                    }
                }
            }
        }
        Some((out, open))
    }

    /// Definitions of renamed options (`mkRenamedOptionModule`) count for their new name:
    /// a sibling, or an option below a sibling (as `{ new.path = value; }` definitions of
    /// the sibling).
    fn apply_aliases(&self, map: &mut BTreeMap<Name, Rc<Node>>) {
        let aliases: Vec<(Name, Vec<Name>)> = map
            .iter()
            .filter_map(|(name, node)| match &node.kind {
                NodeKind::Option(d) => d.alias_of.clone().map(|to| (name.clone(), to)),
                _ => None,
            })
            .collect();
        let here: Vec<&str> = self
            .path
            .strip_prefix(self.scope.settings.prefix.as_str())
            .unwrap_or(&self.path)
            .split('.')
            .filter(|p| !p.is_empty())
            .collect();
        for (from, to) in aliases {
            // `to` is a path from the evaluation's root; only targets below this node's
            // parent namespace are followed, others stay where written.
            if to.len() <= here.len() || to.iter().zip(&here).any(|(a, b)| **a != **b) {
                continue;
            }
            let target = to[here.len()].clone();
            let rest = &to[here.len() + 1..];
            let (Some(src), Some(dst)) = (map.get(&from), map.get(&target)) else {
                continue;
            };
            let mut defs = dst.defs.clone();
            defs.extend(src.defs.iter().map(|d| {
                let mut value = d.value.clone();
                for name in rest.iter().rev() {
                    value = Thunk::value(Value::attrs(Attrs::from_unsorted(vec![Attr {
                        name: name.clone(),
                        value,
                        pos: d.pos,
                    }])));
                }
                Def { value, ..d.clone() }
            }));
            let node = self.make(
                dst.path.clone(),
                clone_kind(&dst.kind),
                defs,
                dst.name_arg.clone(),
            );
            map.insert(target, node);
        }
    }
}
