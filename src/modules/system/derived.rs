//! The node a type merges as: the non-null definitions of `nullOr t` as `t`, the branch of
//! `either` all definitions have, the coerced definitions of `coercedTo`, the inner type of
//! `unique`.

use std::rc::Rc;

use crate::eval::{EvalResult, Evaluator, Pos, Thunk, Value};
use crate::modules::types::{TypeInfo, TypeKind};

use super::checks::check;
use super::node::{Node, NodeKind};
use super::{Def, PRIORITY_PLAIN};

impl Node {
    /// The node this one merges as (see `Node::derived`).
    pub(super) fn derived(&self, ev: &mut Evaluator<'_>) -> Option<Rc<Node>> {
        if let Some(d) = self.derived.get() {
            return d.clone();
        }
        let derived = self.compute_derived(ev);
        let _ = self.derived.set(derived.clone());
        derived
    }

    fn compute_derived(&self, ev: &mut Evaluator<'_>) -> Option<Rc<Node>> {
        let ty = self.type_info()?.clone();
        let resolved = self.resolved(ev);
        if resolved.uncertain.is_some() {
            return None;
        }
        let as_defs = |defs: &[(Def, Value)]| -> Vec<Def> {
            defs.iter()
                .map(|(d, v)| Def {
                    value: Thunk::value(v.clone()),
                    priority: PRIORITY_PLAIN,
                    ..d.clone()
                })
                .collect()
        };
        let (inner, defs): (TypeInfo, Vec<Def>) = match &ty.kind {
            TypeKind::NullOr(inner) => {
                let non_null: Vec<(Def, Value)> = (resolved.defs.iter())
                    .filter(|(_, v)| !matches!(v, Value::Null))
                    .cloned()
                    .collect();
                if non_null.is_empty() {
                    return None;
                }
                ((**inner).clone(), as_defs(&non_null))
            }
            TypeKind::One { inner: Some(inner) } => ((**inner).clone(), as_defs(&resolved.defs)),
            TypeKind::Either(left, right) => {
                let mut all_left = true;
                let mut all_right = true;
                for (_, v) in &resolved.defs {
                    match (check(ev, left, v), check(ev, right, v)) {
                        (Some(l), Some(r)) => {
                            all_left &= l;
                            all_right &= r;
                        }
                        // Which type merges them cannot be known.
                        _ => return None,
                    }
                }
                if all_left {
                    ((**left).clone(), as_defs(&resolved.defs))
                } else if all_right {
                    ((**right).clone(), as_defs(&resolved.defs))
                } else {
                    (
                        ty.with_kind(TypeKind::One { inner: None }),
                        as_defs(&resolved.defs),
                    )
                }
            }
            TypeKind::CoercedTo { from, coerce, to } => {
                let mut defs = Vec::new();
                for (d, v) in &resolved.defs {
                    let value = match check(ev, from, v) {
                        Some(true) => Thunk::apply(
                            Value::host("coercedTo", 2, |ev, args, pos| {
                                let f = ev.force(&args[0], pos)?;
                                ev.apply(f, args[1].clone(), pos)
                            }),
                            vec![coerce.clone(), Thunk::value(v.clone())],
                        ),
                        Some(false) => Thunk::value(v.clone()),
                        None => return None,
                    };
                    defs.push(Def {
                        value,
                        priority: PRIORITY_PLAIN,
                        ..d.clone()
                    });
                }
                ((**to).clone(), defs)
            }
            _ => return None,
        };
        Some(self.make(
            self.path.clone(),
            NodeKind::Element(Rc::new(inner)),
            defs,
            self.name_arg.clone(),
        ))
    }

    pub(super) fn derived_value(
        &self,
        ev: &mut Evaluator<'_>,
        pos: Option<Pos>,
    ) -> EvalResult<Value> {
        match self.derived(ev) {
            Some(node) => {
                let t = node.value_thunk();
                ev.force(&t, pos)
            }
            None => Ok(ev.unknown(
                format!(
                    "`{}`: which type merges its definitions is not known",
                    self.path
                ),
                pos,
            )),
        }
    }
}
