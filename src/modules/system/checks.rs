//! What is reported of definitions: values of the wrong type (by the evaluation's code, or
//! N002 in a strict evaluation), and in a strict evaluation definitions of options no
//! module declares.

use crate::diagnostics::Code;
use crate::eval::{Evaluator, Thunk, Value};
use crate::modules::types::{TypeInfo, describe_value};

use super::node::{Node, NodeKind};
use super::{Def, ModuleContext, ModuleDiagnostic};

/// Whether a definition of a type-checked value passed.
pub(super) enum Verdict {
    Good,
    Bad,
    Unknown,
}

impl Node {
    /// Whether a definition has the type: by the type's own `check` function in a strict
    /// evaluation (as NixOS), else by the shape clanc reads from the type.
    pub(super) fn verdict(&self, ev: &mut Evaluator<'_>, ty: &TypeInfo, value: &Value) -> Verdict {
        if matches!(value, Value::Unknown(_)) {
            return Verdict::Unknown;
        }
        if self.scope.checked.get()
            && let Some(verdict) = check(ev, ty, value)
        {
            return if verdict { Verdict::Good } else { Verdict::Bad };
        }
        match ty.shallow_accepts(value) {
            Some(true) => Verdict::Good,
            Some(false) => Verdict::Bad,
            None => Verdict::Unknown,
        }
    }

    pub(super) fn wrong_type(&self, ctx: &ModuleContext, def: &Def, value: &Value, expected: &str) {
        let strict = self.scope.checked.get().then_some(Code::N002);
        let Some(code) = self.scope.settings.type_code.or(strict) else {
            return;
        };
        // An unknown value may have any type.
        if let Value::Unknown(u) = value {
            return ctx.note_unknown(&self.path, &u.reason, def.value_pos.or(def.pos));
        }
        ctx.report(ModuleDiagnostic {
            code,
            message: format!(
                "`{}` must be {expected}, but it is {}",
                self.path,
                describe_value(value)
            ),
            pos: def.value_pos.or(def.pos),
            labels: Vec::new(),
            error: None,
        });
    }

    pub(super) fn wrong_type_value(
        &self,
        ev: &mut Evaluator<'_>,
        def: &Def,
        value: &Value,
        ty: &TypeInfo,
    ) {
        if let Some(ctx) = self.ctx() {
            self.wrong_type(&ctx, def, value, &format!("of type `{}`", ty.describe(ev)));
        }
    }

    /// In a strict evaluation, reports every definition of an option no module declares
    /// (nixpkgs' "The option `x' does not exist"), unless `_module.check` is false.
    pub(super) fn check_declared(&self, ev: &mut Evaluator<'_>) {
        if let Some(check) = self.descend(ev, &["_module", "check"])
            && check.is_defined()
            && let Ok(Value::Bool(false)) = ev.force(&check.value_thunk(), None)
        {
            return;
        }
        self.report_undeclared(ev, true);
    }

    fn report_undeclared(&self, ev: &mut Evaluator<'_>, root: bool) {
        let NodeKind::Namespace { freeform: None, .. } = &self.kind else {
            return;
        };
        let Some(children) = self.children(ev) else {
            return;
        };
        let Some(ctx) = self.ctx() else { return };
        for (name, node) in &children.map {
            if root && &**name == "_module" {
                continue;
            }
            match &node.kind {
                NodeKind::Free if node.is_defined() => {
                    let labels = (node.defs.iter().skip(1))
                        .filter_map(|d| d.pos.map(|p| (p, "also defined here".to_string())))
                        .collect();
                    ctx.report(ModuleDiagnostic {
                        code: Code::N002,
                        message: format!("The option `{}` does not exist", node.path),
                        pos: node.first_pos(),
                        labels,
                        error: None,
                    });
                }
                NodeKind::Namespace { .. } => node.report_undeclared(ev, false),
                _ => {}
            }
        }
    }
}

/// A type's own `check` of a value: `None` when it cannot be known (no check function, an
/// unknown value, or the check failed).
pub(super) fn check(ev: &mut Evaluator<'_>, ty: &TypeInfo, value: &Value) -> Option<bool> {
    if matches!(value, Value::Unknown(_)) {
        return None;
    }
    let Some(f) = &ty.check else {
        return ty.shallow_accepts(value);
    };
    let f = ev.force(f, None).ok()?;
    match ev.apply(f, Thunk::value(value.clone()), None).ok()? {
        Value::Bool(b) => Some(b),
        _ => None,
    }
}
