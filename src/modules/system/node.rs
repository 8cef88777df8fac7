//! A place in the option tree: its definitions, what it is (a namespace, an option, an
//! element of a type, a key no option declares), and the caches of what is computed from
//! them (resolved definitions, children, submodule evaluation, value, derived node).

use std::cell::{OnceCell, RefCell};
use std::rc::{Rc, Weak};

use crate::eval::{Evaluator, Pos, Thunk};
use crate::modules::types::TypeInfo;

use super::children::Children;
use super::declarations::{Decl, DeclNs};
use super::evaluation::{Evaluation, Scope};
use super::resolve::Resolved;
use super::{Def, ModuleContext, Name};

/// A place in the option tree with its definitions.
pub struct Node {
    pub path: String,
    pub kind: NodeKind,
    /// The definitions, as written below `mkIf`/`mkMerge`/`mkOverride` pushed down from the
    /// namespaces above (those wrap them); `resolved` discharges them.
    pub defs: Vec<Def>,
    pub(super) ctx: Weak<ModuleContext>,
    pub(super) scope: Rc<Scope>,
    pub(super) this: Weak<Node>,
    pub(super) resolved: OnceCell<Rc<Resolved>>,
    pub(super) children: OnceCell<Option<Rc<Children>>>,
    pub(super) sub: OnceCell<Option<Rc<Evaluation>>>,
    pub(super) value: OnceCell<Thunk>,
    /// The node this one merges as (the non-null definitions of `nullOr t` as `t`, the
    /// branch of `either`, the coerced definitions of `coercedTo`, the inner type of
    /// `unique`), when there is one.
    pub(super) derived: OnceCell<Option<Rc<Node>>>,
    /// Nodes made for the value (list elements), kept alive with this one.
    pub(super) kept: RefCell<Vec<Rc<Node>>>,
    /// For a key no option declares: why the declarations above it may be incomplete (its
    /// value then answers unknown for keys it lacks).
    pub(super) decls_unknown: OnceCell<Option<String>>,
    /// Extra arguments for submodules below (`name`).
    pub(super) name_arg: Option<Name>,
}

pub enum NodeKind {
    Namespace {
        decls: Rc<DeclNs>,
        freeform: Option<Rc<TypeInfo>>,
    },
    Option(Rc<Decl>),
    /// An element of `attrsOf` or `listOf`, a freeform key, or what a type merges as.
    Element(Rc<TypeInfo>),
    /// A key no option declares (the rest of NixOS, which clanc does not model).
    Free,
}

impl Node {
    pub(super) fn new(
        ctx: &Rc<ModuleContext>,
        scope: &Rc<Scope>,
        path: String,
        kind: NodeKind,
        defs: Vec<Def>,
        name_arg: Option<Name>,
    ) -> Rc<Node> {
        Node::with(Rc::downgrade(ctx), scope, path, kind, defs, name_arg)
    }

    fn with(
        ctx: Weak<ModuleContext>,
        scope: &Rc<Scope>,
        path: String,
        kind: NodeKind,
        defs: Vec<Def>,
        name_arg: Option<Name>,
    ) -> Rc<Node> {
        Rc::new_cyclic(|this| Node {
            path,
            kind,
            defs,
            ctx,
            scope: scope.clone(),
            this: this.clone(),
            resolved: OnceCell::new(),
            children: OnceCell::new(),
            sub: OnceCell::new(),
            value: OnceCell::new(),
            derived: OnceCell::new(),
            kept: RefCell::default(),
            decls_unknown: OnceCell::new(),
            name_arg,
        })
    }

    /// A node of the same evaluation, for `path` with these definitions.
    pub(super) fn make(
        &self,
        path: String,
        kind: NodeKind,
        defs: Vec<Def>,
        name: Option<Name>,
    ) -> Rc<Node> {
        Node::with(self.ctx.clone(), &self.scope, path, kind, defs, name)
    }

    pub(super) fn ctx(&self) -> Option<Rc<ModuleContext>> {
        self.ctx.upgrade()
    }

    pub(super) fn type_info(&self) -> Option<&TypeInfo> {
        match &self.kind {
            NodeKind::Option(d) => Some(&d.ty),
            NodeKind::Element(t) => Some(t),
            _ => None,
        }
    }

    /// Whether anything defines this option (before priorities and conditions).
    pub fn is_defined(&self) -> bool {
        !self.defs.is_empty()
    }

    /// The merged value, as a thunk (forced on demand).
    pub fn value_thunk(&self) -> Thunk {
        self.value
            .get_or_init(|| {
                let this = self.this.clone();
                Thunk::native("option value", move |ev, pos| match this.upgrade() {
                    Some(node) => node.merge(ev, pos),
                    None => Ok(ev.unknown("the module evaluation has ended", pos)),
                })
            })
            .clone()
    }

    /// The first position that defines this node.
    pub fn first_pos(&self) -> Option<Pos> {
        self.defs.iter().find_map(|d| d.pos)
    }

    /// The node at a path below this one, descending into submodules.
    pub(super) fn descend(&self, ev: &mut Evaluator<'_>, path: &[&str]) -> Option<Rc<Node>> {
        let mut node = self.this.upgrade()?;
        for key in path {
            let children = node.children(ev)?;
            node = children.map.get(*key)?.clone();
        }
        Some(node)
    }
}

pub(super) fn clone_kind(kind: &NodeKind) -> NodeKind {
    match kind {
        NodeKind::Namespace { decls, freeform } => NodeKind::Namespace {
            decls: decls.clone(),
            freeform: freeform.clone(),
        },
        NodeKind::Option(d) => NodeKind::Option(d.clone()),
        NodeKind::Element(t) => NodeKind::Element(t.clone()),
        NodeKind::Free => NodeKind::Free,
    }
}
