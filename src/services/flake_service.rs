//! The flake's own services (`clan.modules.<name> = { _class = "clan.service"; ... }`):
//! evaluated through the module system with a schema of the service options clanc reads
//! (`modules/known/clan-service.nix`), each role's `interface` run for its option
//! declarations, so they check like the built-in catalog's.

use std::rc::Rc;

use crate::eval::{Attr, Attrs, Evaluator, Pos, Thunk, Value};
use crate::modules::known;
use crate::modules::option_type::OptionType;
use crate::modules::system::{
    DeclEntry, DeclNs, EvalSettings, Evaluation, ModuleContext, ModuleSource, Node, NodeKind,
    evaluate,
};

use super::catalog::{OptionDecl, Role, RoleConstraint, Service};

/// A flake service as far as it could be read, and where its roles are declared.
pub struct FlakeServiceRead {
    pub service: Result<Service, String>,
    pub role_positions: Vec<(String, Pos)>,
    /// The service's evaluation (where its code is, for `plan --changed-since`).
    pub evaluation: Option<Rc<Evaluation>>,
}

pub fn read_flake_service(
    ev: &mut Evaluator<'_>,
    ctx: &Rc<ModuleContext>,
    node: &Rc<Node>,
    name: &str,
) -> FlakeServiceRead {
    let mut read = FlakeServiceRead {
        service: Err("not evaluated".into()),
        role_positions: Vec::new(),
        evaluation: None,
    };
    let (evaluation, complete) = evaluate_service(ev, ctx, node);
    read.evaluation = Some(evaluation.clone());
    if let Err(reason) = complete {
        read.service = Err(reason);
        return read;
    }
    let string = |ev: &mut Evaluator<'_>, path: &[&str]| -> Option<String> {
        let node = evaluation.node(ev, path)?;
        match ev.force(&node.value_thunk(), None).ok()? {
            Value::String(s) => Some(s.text().to_string()),
            _ => None,
        }
    };
    let manifest_name = string(ev, &["manifest", "name"]).unwrap_or_else(|| name.to_string());
    let description = string(ev, &["manifest", "description"]);
    let max_node = evaluation.node(ev, &["manifest", "constraints", "maxInstances"]);
    let max_instances = int(ev, max_node);
    let mut service = Service {
        name: name.to_string(),
        manifest_name,
        description,
        categories: Vec::new(),
        // Which classes a flake's service supports would need its perInstance modules
        // evaluated; both are assumed, so no darwin warning is ever false.
        classes: vec!["nixos".into(), "darwin".into()],
        max_instances,
        roles: Default::default(),
    };
    let Some(roles) = evaluation.node(ev, &["roles"]).and_then(|n| n.children(ev)) else {
        read.service = Ok(service);
        return read;
    };
    if let Some(reason) = &roles.open {
        read.service = Err(format!("its roles: {reason}"));
        return read;
    }
    for (role, role_node) in roles.map.iter() {
        if let Some(pos) = role_node.first_pos() {
            read.role_positions.push((role.to_string(), pos));
        }
        match read_role(ev, ctx, &evaluation, role, role_node) {
            Ok(r) => {
                service.roles.insert(role.to_string(), r);
            }
            Err(reason) => {
                read.service = Err(reason);
                return read;
            }
        }
    }
    read.service = Ok(service);
    read
}

/// The service evaluated with clanc's schema of its options, and `Err` with the reason when
/// a module clanc cannot see into, or one that failed (reported), leaves its roles unknown.
fn evaluate_service(
    ev: &mut Evaluator<'_>,
    ctx: &Rc<ModuleContext>,
    node: &Rc<Node>,
) -> (Rc<Evaluation>, Result<(), String>) {
    let schema = {
        let lib = ctx.lib.clone();
        Thunk::native("clan.service schema", move |ev, pos| {
            let f = ev.import(&known::path("clan-service.nix"), pos)?;
            let arg = Attrs::from_unsorted(vec![Attr {
                name: "lib".into(),
                value: lib.clone(),
                pos: None,
            }]);
            ev.apply(f, Thunk::value(Value::attrs(arg)), pos)
        })
    };
    let mut modules = vec![ModuleSource::new(
        schema,
        Some(Rc::from(known::path("clan-service.nix"))),
        None,
    )];
    let (defined, uncertain) = node.as_modules(ev);
    modules.extend(defined);
    let evaluation = evaluate(ctx, ev, modules, Vec::new(), EvalSettings::default());
    // A module clanc cannot see into, or one that failed (reported): its roles are unknown.
    if let Some(reason) = (evaluation.open.clone())
        .or_else(|| evaluation.failed.as_ref().map(|f| f.message.clone()))
        .or(uncertain)
    {
        return (evaluation, Err(reason));
    }
    (evaluation, Ok(()))
}

/// An integer option's value, when it is a known `u32`.
fn int(ev: &mut Evaluator<'_>, node: Option<Rc<Node>>) -> Option<u32> {
    match ev.force(&node?.value_thunk(), None).ok()? {
        Value::Int(i) => u32::try_from(i).ok(),
        _ => None,
    }
}

/// One role: its constraints, description and interface's options; `Err` with the reason
/// the service cannot be read when its definitions or interface cannot be known.
fn read_role(
    ev: &mut Evaluator<'_>,
    ctx: &Rc<ModuleContext>,
    evaluation: &Evaluation,
    role: &str,
    role_node: &Rc<Node>,
) -> Result<Role, String> {
    // A definition of the role that failed (reported) may have held its interface.
    if let Some(reason) = role_node.children(ev).and_then(|c| c.open.clone()) {
        return Err(format!("role `{role}`: {reason}"));
    }
    let constraint_node = evaluation.node(ev, &["manifest", "constraints", "roles", role]);
    let constraint = match constraint_node {
        Some(c) => {
            let c = Some(c);
            let child = |ev: &mut Evaluator<'_>, key: &str| {
                c.as_ref()
                    .and_then(|c| c.children(ev))
                    .and_then(|ch| ch.map.get(key).cloned())
            };
            let min = child(ev, "minMachines");
            let max = child(ev, "maxMachines");
            RoleConstraint {
                min_machines: int(ev, min),
                max_machines: int(ev, max),
            }
        }
        None => RoleConstraint::default(),
    };
    let role_description = evaluation
        .node(ev, &["roles", role, "description"])
        .and_then(|n| match ev.force(&n.value_thunk(), None).ok()? {
            Value::String(s) => Some(s.text().to_string()),
            _ => None,
        });
    let options = match evaluation.node(ev, &["roles", role, "interface"]) {
        Some(interface) => match interface_options(ev, ctx, &interface) {
            Ok(options) => options,
            Err(reason) => return Err(format!("the interface of role `{role}`: {reason}")),
        },
        None => Vec::new(),
    };
    Ok(Role {
        description: role_description,
        constraint,
        options,
    })
}

/// The options a role's interface declares, as dotted paths.
fn interface_options(
    ev: &mut Evaluator<'_>,
    ctx: &Rc<ModuleContext>,
    interface: &Rc<Node>,
) -> Result<Vec<OptionDecl>, String> {
    let (modules, uncertain) = interface.as_modules(ev);
    let evaluation = evaluate(ctx, ev, modules, Vec::new(), EvalSettings::default());
    if let Some(reason) = (evaluation.open.clone())
        .or_else(|| evaluation.failed.as_ref().map(|f| f.message.clone()))
        .or(uncertain)
    {
        return Err(reason);
    }
    let NodeKind::Namespace { decls, freeform } = &evaluation.root.kind else {
        return Ok(Vec::new());
    };
    // `freeformType`: settings it does not declare are accepted too.
    if freeform.is_some() {
        return Err(
            "the interface has a `freeformType`: it accepts settings it does not declare".into(),
        );
    }
    // A declaration that failed (reported): settings it declares would look undeclared.
    if let Some(reason) = decls.open_below() {
        return Err(reason.to_string());
    }
    let mut out = Vec::new();
    collect(ev, decls, "", &mut out);
    Ok(out)
}

fn collect(ev: &mut Evaluator<'_>, ns: &DeclNs, prefix: &str, out: &mut Vec<OptionDecl>) {
    for (name, entry) in &ns.entries {
        let path = if prefix.is_empty() {
            name.to_string()
        } else {
            format!("{prefix}.{name}")
        };
        match entry {
            DeclEntry::Ns(inner) => collect(ev, inner, &path, out),
            DeclEntry::Option(decl) => {
                let type_description = decl.ty.describe(ev);
                out.push(OptionDecl {
                    path,
                    option_type: OptionType::from_description(&type_description),
                    type_description,
                    default: decl.default.as_ref().map(|d| default_text(ev, d)),
                    required: decl.default.is_none(),
                    read_only: false,
                });
            }
        }
    }
}

/// A default as Nix source text when it is a plain scalar (for hover and completion);
/// anything else is only said to exist.
fn default_text(ev: &mut Evaluator<'_>, default: &Thunk) -> String {
    let text = match ev.force_value(default) {
        Ok(Value::Null) => Some("null".to_string()),
        Ok(Value::Bool(b)) => Some(b.to_string()),
        Ok(Value::Int(i)) => Some(i.to_string()),
        Ok(Value::String(s)) if s.text().len() <= 80 && !s.text().contains('\n') => Some(
            serde_json::to_string(&s.text())
                .unwrap_or_default()
                .replace("${", "\\${"),
        ),
        _ => None,
    };
    text.unwrap_or_else(|| "(set in the service)".to_string())
}
