//! A node's winning definitions, as nixpkgs' `mergeDefinitions` finds them: `mkIf` and
//! `mkMerge` discharged, the default added, only the highest `mkOverride` priority kept,
//! and sorted by `mkOrder`.

use std::rc::Rc;

use crate::diagnostics::Code;
use crate::eval::{EvalError, Evaluator, Thunk, Value};

use super::node::{Node, NodeKind};
use super::{Def, ModuleDiagnostic, ORDER_DEFAULT, PRIORITY_OPTION_DEFAULT, PRIORITY_PLAIN};

/// The definitions that win (highest priority), forced, with their values.
pub struct Resolved {
    pub defs: Vec<(Def, Value)>,
    /// A definition that might win could not be evaluated or sits under an unknown `mkIf`.
    pub uncertain: Option<String>,
}

/// The `_type` of a property (`mkIf`, `mkMerge`, `mkOverride`, `mkOrder`), if `value` is one.
pub(super) fn property(ev: &mut Evaluator<'_>, value: &Value) -> Option<String> {
    let Value::Attrs(attrs) = value else {
        return None;
    };
    let t = attrs.get("_type")?.clone();
    match ev.force(&t, None) {
        Ok(Value::String(s)) => Some(s.text().to_string()),
        _ => None,
    }
}

impl Node {
    /// The definitions at this node with `mkIf`/`mkMerge` discharged, the default added,
    /// only the highest `mkOverride` priority kept (one level of it removed), and sorted by
    /// `mkOrder` (one level of it removed), as nixpkgs' `mergeDefinitions` does.
    pub fn resolved(&self, ev: &mut Evaluator<'_>) -> Rc<Resolved> {
        if let Some(r) = self.resolved.get() {
            return r.clone();
        }
        let mut all = Vec::new();
        let mut uncertain = None;
        for def in &self.defs {
            self.discharge(ev, def.clone(), &mut all, &mut uncertain);
        }
        // Priorities: one `mkOverride` around a definition says it.
        let mut prioritised = Vec::with_capacity(all.len() + 1);
        for (def, value) in all {
            match self.strip(ev, &def, value, "override", "priority") {
                Ok((Some(priority), value)) => prioritised.push((Def { priority, ..def }, value)),
                Ok((None, value)) => prioritised.push((
                    Def {
                        priority: PRIORITY_PLAIN,
                        ..def
                    },
                    value,
                )),
                Err(reason) => {
                    uncertain.get_or_insert(reason);
                }
            }
        }
        if let NodeKind::Option(decl) = &self.kind
            && let Some(default) = &decl.default
        {
            let def = Def {
                value: default.clone(),
                file: None,
                pos: decl.pos,
                value_pos: None,
                priority: PRIORITY_OPTION_DEFAULT,
                maybe: false,
                seq: 0,
            };
            match ev.force(default, decl.pos) {
                Ok(value) => prioritised.push((def, value)),
                Err(e) => {
                    uncertain.get_or_insert_with(|| format!("the default failed: {}", e.message));
                    if let Some(ctx) = self.ctx() {
                        ctx.report_error(e);
                    }
                }
            }
        }
        let best_sure = prioritised
            .iter()
            .filter(|(d, _)| !d.maybe)
            .map(|(d, _)| d.priority)
            .min();
        let best = prioritised.iter().map(|(d, _)| d.priority).min();
        if let (Some(best), Some(sure)) = (best, best_sure)
            && best < sure
        {
            uncertain.get_or_insert_with(|| {
                "a definition under `mkIf` with an unknown condition may override it".into()
            });
        }
        let keep = best_sure.or(best);
        let kept: Vec<(Def, Value)> = prioritised
            .into_iter()
            .filter(|(d, _)| Some(d.priority) == keep)
            .collect();
        // Orders: one `mkOrder` around a definition says where it goes (stable).
        let defs = if kept
            .iter()
            .any(|(_, v)| property(ev, v).as_deref() == Some("order"))
        {
            let mut ordered = Vec::with_capacity(kept.len());
            for (def, value) in kept {
                match self.strip(ev, &def, value, "order", "priority") {
                    Ok((order, value)) => {
                        ordered.push((order.unwrap_or(ORDER_DEFAULT), (def, value)))
                    }
                    Err(reason) => {
                        uncertain.get_or_insert(reason);
                    }
                }
            }
            ordered.sort_by_key(|(order, _)| *order);
            ordered.into_iter().map(|(_, d)| d).collect()
        } else {
            kept
        };
        let r = Rc::new(Resolved { defs, uncertain });
        let _ = self.resolved.set(r.clone());
        r
    }

    /// One level of the property `kind` (`override` or `order`) taken off a value: its
    /// number and its content, or the value as it is. `Err` when it cannot be known.
    fn strip(
        &self,
        ev: &mut Evaluator<'_>,
        def: &Def,
        value: Value,
        kind: &str,
        field: &str,
    ) -> Result<(Option<i64>, Value), String> {
        if property(ev, &value).as_deref() != Some(kind) {
            return Ok((None, value));
        }
        let Value::Attrs(attrs) = &value else {
            return Ok((None, value));
        };
        let number = match attrs.get(field).map(|p| ev.force(&p.clone(), def.pos)) {
            Some(Ok(Value::Int(p))) => Some(p),
            Some(Ok(Value::Unknown(u))) => return Err(u.reason.clone()),
            Some(Err(e)) => return Err(self.failed(e)),
            _ => None,
        };
        match attrs.get("content").map(|c| ev.force(&c.clone(), def.pos)) {
            Some(Ok(content)) => Ok((number, content)),
            Some(Err(e)) => Err(self.failed(e)),
            None => Ok((number, Value::Null)),
        }
    }

    /// Reports an error met while merging; the reason a value is not known.
    fn failed(&self, e: Box<EvalError>) -> String {
        let reason = format!("a definition failed: {}", e.message);
        if let Some(ctx) = self.ctx() {
            ctx.report_error(e);
        }
        reason
    }

    /// `mkIf` and `mkMerge` around a definition discharged (nixpkgs' `dischargeProperties`):
    /// the definitions it stands for, forced.
    fn discharge(
        &self,
        ev: &mut Evaluator<'_>,
        def: Def,
        out: &mut Vec<(Def, Value)>,
        uncertain: &mut Option<String>,
    ) {
        let Some(ctx) = self.ctx() else { return };
        let value = match ev.force(&def.value, def.pos) {
            Ok(v) => v,
            Err(e) => {
                uncertain.get_or_insert_with(|| format!("a definition failed: {}", e.message));
                ctx.report_error(e);
                return;
            }
        };
        let kind = property(ev, &value);
        let Value::Attrs(attrs) = &value else {
            out.push((def, value));
            return;
        };
        let field = |name: &str| attrs.get(name).cloned();
        match (kind.as_deref(), field("content")) {
            (Some("if"), Some(content)) => {
                let condition =
                    field("condition").unwrap_or_else(|| Thunk::value(Value::Bool(true)));
                match ev.force(&condition, def.pos) {
                    Ok(Value::Bool(true)) => self.discharge(
                        ev,
                        Def {
                            value: content,
                            ..def
                        },
                        out,
                        uncertain,
                    ),
                    Ok(Value::Bool(false)) => {}
                    Ok(Value::Unknown(u)) => {
                        ctx.note_unknown(
                            &self.path,
                            &format!("`mkIf` condition: {}", u.reason),
                            def.pos,
                        );
                        self.discharge(
                            ev,
                            Def {
                                value: content,
                                maybe: true,
                                ..def
                            },
                            out,
                            uncertain,
                        )
                    }
                    Ok(other) => {
                        uncertain.get_or_insert_with(|| "`mkIf` of a non-Boolean".into());
                        ctx.report(ModuleDiagnostic {
                            code: Code::N002,
                            message: format!(
                                "the condition of `mkIf` is {} while a Boolean was expected",
                                other.describe()
                            ),
                            pos: def.pos,
                            labels: Vec::new(),
                            error: None,
                        })
                    }
                    Err(e) => {
                        uncertain.get_or_insert_with(|| {
                            format!("an `mkIf` condition failed: {}", e.message)
                        });
                        ctx.report_error(e);
                    }
                }
            }
            (Some("merge"), _) => match field("contents").map(|c| ev.force(&c, def.pos)) {
                Some(Ok(Value::List(items))) => {
                    for item in items.iter() {
                        let pos = ev.thunk_pos(item).or(def.pos);
                        self.discharge(
                            ev,
                            Def {
                                value: item.clone(),
                                pos,
                                ..def.clone()
                            },
                            out,
                            uncertain,
                        );
                    }
                }
                Some(Ok(Value::Unknown(u))) => {
                    uncertain.get_or_insert_with(|| u.reason.clone());
                }
                Some(Err(e)) => {
                    uncertain.get_or_insert_with(|| format!("a definition failed: {}", e.message));
                    ctx.report_error(e);
                }
                _ => {}
            },
            _ => out.push((def, value)),
        }
    }
}
