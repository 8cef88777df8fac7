//! Option declarations (`mkOption`): read from a module's `options`, cached by the identity
//! of the value, and merged over the modules that declare them.

use std::collections::BTreeMap;
use std::rc::Rc;

use crate::eval::{Attrs, EvalResult, Evaluator, Pos, Thunk, Value};
use crate::modules::known;
use crate::modules::types::{TypeInfo, TypeKind};

use super::{ModuleContext, Name, Owner, attr, join};

/// An option declaration (`mkOption`), merged over the modules that declare it.
#[derive(Debug)]
pub struct Decl {
    pub ty: TypeInfo,
    pub default: Option<Thunk>,
    pub apply: Option<Thunk>,
    pub pos: Option<Pos>,
    /// `mkRenamedOptionModule`/`mkAliasOptionModule`: definitions go to this option instead.
    pub alias_of: Option<Vec<Name>>,
}

#[derive(Clone, Debug, Default)]
pub struct DeclNs {
    pub entries: BTreeMap<Name, DeclEntry>,
    /// Why some declarations here may be missing: one failed (reported) or is unknown.
    pub open: Option<String>,
    /// The option trees this namespace was declared by (an option of a submodule type
    /// declared at the same path takes them as its submodules' options, as nixpkgs does).
    pub(super) sources: Vec<Thunk>,
    /// Some option here or below is declared by clanc's own models (of NixOS, clan-core,
    /// flake-parts), which declare only part of what the real ones do.
    pub(super) modelled: bool,
}

impl DeclNs {
    /// Why some declarations here or below may be missing.
    pub fn open_below(&self) -> Option<&str> {
        self.open.as_deref().or_else(|| {
            self.entries.values().find_map(|e| match e {
                DeclEntry::Ns(ns) => ns.open_below(),
                DeclEntry::Option(_) => None,
            })
        })
    }
}

#[derive(Clone, Debug)]
pub enum DeclEntry {
    Option(Rc<Decl>),
    Ns(Rc<DeclNs>),
}

fn is_typed(ev: &mut Evaluator<'_>, attrs: &Attrs, what: &str) -> bool {
    match attrs.get("_type") {
        Some(t) => matches!(ev.force(&t.clone(), None), Ok(Value::String(s)) if s.text() == what),
        None => false,
    }
}

/// The options one module declares. Declarations are read once per `options` value: the
/// modules of a submodule type are shared by all its instances (500 inventory machines
/// declare the same options), so the tree is cached by the identity of the value.
pub(super) fn declared(
    ctx: &ModuleContext,
    ev: &mut Evaluator<'_>,
    options: &Thunk,
    file: Option<Rc<str>>,
    path: &str,
    owner: Owner,
) -> Rc<DeclNs> {
    let key = Rc::as_ptr(&options.0) as *const () as usize;
    if let Some((_, cached, _)) = ctx.decl_cache.borrow().get(&key) {
        return cached.clone();
    }
    let mut ns = DeclNs::default();
    declare(ctx, ev, &mut ns, options, file, path);
    let ns = Rc::new(ns);
    // The thunk is kept with the entry, so its address cannot be reused by another.
    ctx.decl_cache
        .borrow_mut()
        .insert(key, (options.clone(), ns.clone(), owner.id));
    ctx.decl_keys.borrow_mut().push((key, owner.id));
    ns
}

/// Adds one module's declarations to an evaluation's. An option that cannot hold the
/// options declared below it is kept, and noted in `clashes`.
pub(super) fn merge_ns(
    into: &mut DeclNs,
    from: &DeclNs,
    path: &str,
    clashes: &mut Vec<(String, Rc<Decl>)>,
) {
    if into.open.is_none() {
        into.open.clone_from(&from.open);
    }
    into.modelled |= from.modelled;
    into.sources.extend(from.sources.iter().cloned());
    for (name, entry) in &from.entries {
        let merged = match (into.entries.remove(name), entry) {
            (None, e) => e.clone(),
            (Some(DeclEntry::Option(old)), DeclEntry::Option(new)) => {
                DeclEntry::Option(Rc::new(merge_decls(&old, clone_decl(new))))
            }
            (Some(DeclEntry::Ns(old)), DeclEntry::Ns(new)) => {
                let mut old = Rc::unwrap_or_clone(old);
                merge_ns(&mut old, new, &join(path, name), clashes);
                DeclEntry::Ns(Rc::new(old))
            }
            // Options declared below an option of a submodule type: options of its
            // submodules (nixpkgs' `optionTreeToOption`).
            (Some(DeclEntry::Option(opt)), DeclEntry::Ns(ns)) => {
                match with_nested_options(&opt, ns) {
                    Some(decl) => DeclEntry::Option(Rc::new(decl)),
                    None => {
                        clashes.push((join(path, name), opt.clone()));
                        DeclEntry::Option(opt)
                    }
                }
            }
            (Some(DeclEntry::Ns(ns)), DeclEntry::Option(opt)) => {
                match with_nested_options(opt, &ns) {
                    Some(decl) => DeclEntry::Option(Rc::new(decl)),
                    None => {
                        clashes.push((join(path, name), opt.clone()));
                        DeclEntry::Option(opt.clone())
                    }
                }
            }
        };
        into.entries.insert(name.clone(), merged);
    }
}

/// A submodule option with the options of a namespace declared at its path added to its
/// submodules; `None` when the option's type has no submodules.
fn with_nested_options(opt: &Decl, ns: &Rc<DeclNs>) -> Option<Decl> {
    let TypeKind::Submodule {
        modules,
        special_args,
        shorthand_only_config,
    } = &opt.ty.kind
    else {
        return None;
    };
    let mut modules = modules.clone();
    for source in &ns.sources {
        modules.push(Thunk::value(Value::attrs(Attrs::from_unsorted(vec![
            attr("options", source.clone()),
        ]))));
    }
    let mut decl = clone_decl(opt);
    decl.ty.kind = TypeKind::Submodule {
        modules,
        special_args: special_args.clone(),
        shorthand_only_config: *shorthand_only_config,
    };
    Some(decl)
}

fn clone_decl(d: &Decl) -> Decl {
    Decl {
        ty: d.ty.clone(),
        default: d.default.clone(),
        apply: d.apply.clone(),
        pos: d.pos,
        alias_of: d.alias_of.clone(),
    }
}

fn declare(
    ctx: &ModuleContext,
    ev: &mut Evaluator<'_>,
    ns: &mut DeclNs,
    options: &Thunk,
    file: Option<Rc<str>>,
    path: &str,
) {
    ns.sources.push(options.clone());
    let value = match ev.force(options, None) {
        Ok(v) => v,
        Err(e) => {
            ns.open.get_or_insert_with(|| e.message.clone());
            return ctx.report_error(e);
        }
    };
    let Value::Attrs(attrs) = value else {
        if let Value::Unknown(u) = value {
            ctx.note_unknown(path, &u.reason, u.origin);
            ns.open.get_or_insert_with(|| u.reason.clone());
        }
        return;
    };
    for a in &attrs.entries {
        let child_path = join(path, &a.name);
        let v = match ev.force(&a.value, a.pos) {
            Ok(v) => v,
            Err(e) => {
                ns.open.get_or_insert_with(|| e.message.clone());
                ctx.report_error(e);
                continue;
            }
        };
        let inner = match &v {
            Value::Attrs(inner) => inner,
            // An option or a namespace clanc cannot see.
            Value::Unknown(u) => {
                ns.open.get_or_insert_with(|| u.reason.clone());
                continue;
            }
            _ => continue,
        };
        if is_typed(ev, inner, "option") {
            let decl = match read_decl(ev, inner, a.pos) {
                Ok(d) => d,
                Err(e) => {
                    ns.open.get_or_insert_with(|| e.message.clone());
                    ctx.report_error(e);
                    continue;
                }
            };
            ns.modelled |= a
                .pos
                .is_some_and(|p| known::is_builtin(&ev.file_path(p.file)));
            let merged = match ns.entries.remove(&a.name) {
                Some(DeclEntry::Option(old)) => merge_decls(&old, decl),
                _ => decl,
            };
            ns.entries
                .insert(a.name.clone(), DeclEntry::Option(Rc::new(merged)));
        } else {
            let mut child = match ns.entries.remove(&a.name) {
                Some(DeclEntry::Ns(old)) => Rc::unwrap_or_clone(old),
                _ => DeclNs::default(),
            };
            declare(ctx, ev, &mut child, &a.value, file.clone(), &child_path);
            ns.modelled |= child.modelled;
            ns.entries
                .insert(a.name.clone(), DeclEntry::Ns(Rc::new(child)));
        }
    }
}

fn read_decl(ev: &mut Evaluator<'_>, attrs: &Attrs, pos: Option<Pos>) -> EvalResult<Decl> {
    let ty = match attrs.get("type") {
        Some(t) => {
            let t = ev.force(&t.clone(), pos)?;
            TypeInfo::read(ev, &t)?
        }
        None => TypeInfo::unspecified(),
    };
    let mut alias_of = None;
    for marker in ["_clancRenamedTo", "_clancAliasOf"] {
        if let Some(t) = attrs.get(marker)
            && let Value::List(items) = ev.force(&t.clone(), pos)?
        {
            let mut path = Vec::new();
            for item in items.iter() {
                if let Value::String(s) = ev.force(item, pos)? {
                    path.push(Name::from(s.text()));
                }
            }
            alias_of = Some(path);
        }
    }
    Ok(Decl {
        ty,
        default: attrs.get("default").cloned(),
        apply: attrs.get("apply").cloned(),
        pos,
        alias_of,
    })
}

/// Two declarations of one option: submodule types combine their modules (as NixOS does);
/// otherwise the first declaration's type stands.
fn merge_decls(old: &Decl, new: Decl) -> Decl {
    let kind = match (&old.ty.kind, &new.ty.kind) {
        (
            TypeKind::Submodule {
                modules: a,
                special_args,
                shorthand_only_config,
            },
            TypeKind::Submodule { modules: b, .. },
        ) => TypeKind::Submodule {
            modules: a.iter().chain(b.iter()).cloned().collect(),
            special_args: special_args.clone(),
            shorthand_only_config: *shorthand_only_config,
        },
        (kind, _) => kind.clone(),
    };
    Decl {
        ty: old.ty.with_kind(kind),
        default: old.default.clone().or(new.default),
        apply: old.apply.clone().or(new.apply),
        pos: old.pos,
        alias_of: old.alias_of.clone().or(new.alias_of),
    }
}
