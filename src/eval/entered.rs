//! Which expressions of a file an evaluation entered ([`super::ir::Module::enter`]), and what
//! that says about a new text of the file. Evaluation is deterministic and lazy, and the IR is
//! a tree whose subtrees are reached only through their roots: when the new text lowers to the
//! same IR apart from subtrees whose roots the evaluation never entered, evaluating the new
//! text does exactly what evaluating the old one did (it reaches the same places and never
//! enters those subtrees either). Typing inside an option definition nothing reads (a
//! package list, a service's settings) then changes nothing the evaluation computed.

use std::sync::Arc;

use rnix::TextRange;

use super::ir::{AttrKey, Expr, ExprId, Lowered, Param, Part, Var};

/// The expressions of one lowered file an evaluation entered.
#[derive(Clone, Debug)]
pub struct EnteredExprs {
    lowered: Arc<Lowered>,
    /// A bit per expression of `lowered`.
    bits: Arc<[u64]>,
}

/// How a new IR of a file corresponds to the old one ([`EnteredExprs::carried_to`]).
#[derive(Debug)]
pub struct Carried {
    /// What was entered, in terms of the new IR: an expression of the new IR was entered
    /// when its counterpart in the old one was.
    pub entered: EnteredExprs,
    /// The old ranges of the subtrees that differ (old and new are the same elsewhere),
    /// whether or not they were entered.
    pub differ: Vec<TextRange>,
    /// Whether the evaluation entered any subtree that differs.
    pub differ_entered: bool,
    /// Attribute names of corresponding sets that are written elsewhere now (their old
    /// ranges): a set built from attribute paths (`a.x = 1; a.y = 2;`) is named where its
    /// first path is, so a new first path moves the name without changing the set.
    pub names_moved: Vec<TextRange>,
}

impl EnteredExprs {
    pub fn new(lowered: Arc<Lowered>, bits: Vec<u64>) -> EnteredExprs {
        EnteredExprs {
            lowered,
            bits: bits.into(),
        }
    }

    pub fn lowered(&self) -> &Arc<Lowered> {
        &self.lowered
    }

    /// A bit per expression of the IR, 64 to a word, set when it was entered.
    pub fn bits(&self) -> &[u64] {
        &self.bits
    }

    pub fn is_entered(&self, expr: ExprId) -> bool {
        let i = expr.0 as usize;
        self.bits
            .get(i / 64)
            .is_some_and(|word| word & (1 << (i % 64)) != 0)
    }

    /// These bits joined with another evaluation's of the same IR.
    pub fn union(&self, other: &EnteredExprs) -> Option<EnteredExprs> {
        if !Arc::ptr_eq(&self.lowered, &other.lowered) {
            return None;
        }
        let bits = (self.bits.iter().zip(other.bits.iter()))
            .map(|(a, b)| a | b)
            .collect();
        Some(EnteredExprs {
            lowered: self.lowered.clone(),
            bits,
        })
    }

    /// Walks the old IR and `new` side by side from their roots. Two expressions correspond
    /// when they are of the same kind with the same names, variables, operators and constants,
    /// their children correspond in order, and the old one's range, moved by `moved`, is the
    /// new one's (an attribute name that is not is noted). Where two expressions differ, the
    /// walk notes the pair and does not go below it. `None` when a range does not move to its
    /// counterpart (then what the old evaluation knew of positions does not carry over).
    pub fn carried_to(
        &self,
        new: &Arc<Lowered>,
        moved: impl Fn(TextRange) -> TextRange,
    ) -> Option<Carried> {
        let old = &*self.lowered;
        let mut bits = vec![0u64; new.exprs.len().div_ceil(64)];
        let mut differ = Vec::new();
        let mut differ_entered = false;
        let mut names_moved = Vec::new();
        let mut stack = vec![(old.root, new.root)];
        let (mut old_children, mut new_children) = (Vec::new(), Vec::new());
        while let Some((o, n)) = stack.pop() {
            let entered = self.is_entered(o);
            if entered && let Some(word) = bits.get_mut(n.0 as usize / 64) {
                *word |= 1 << (n.0 % 64);
            }
            let (old_expr, new_expr) = (old.exprs.get(o.0 as usize)?, new.exprs.get(n.0 as usize)?);
            if !same_shape(old_expr, new_expr) {
                differ.push(old.source_map.range(o));
                differ_entered |= entered;
                continue;
            }
            if moved(old.source_map.range(o)) != new.source_map.range(n) {
                return None;
            }
            if let (Expr::Attrs(a), Expr::Attrs(b)) = (old_expr, new_expr) {
                names_moved.extend(
                    (a.attrs.iter().zip(&b.attrs))
                        .filter(|(p, q)| moved(p.range) != q.range)
                        .map(|(p, _)| p.range),
                );
            }
            old_children.clear();
            new_children.clear();
            children(old_expr, &mut old_children);
            children(new_expr, &mut new_children);
            if old_children.len() != new_children.len() {
                // same_shape compares what decides the number of children
                differ.push(old.source_map.range(o));
                differ_entered |= entered;
                continue;
            }
            stack.extend(
                old_children
                    .iter()
                    .copied()
                    .zip(new_children.iter().copied()),
            );
        }
        Some(Carried {
            entered: EnteredExprs::new(new.clone(), bits),
            differ,
            differ_entered,
            names_moved,
        })
    }
}

/// Whether two expressions are the same apart from their children and ranges.
fn same_shape(a: &Expr, b: &Expr) -> bool {
    match (a, b) {
        (Expr::Error, Expr::Error) | (Expr::CurPos, Expr::CurPos) => true,
        (Expr::Int(x), Expr::Int(y)) => x == y,
        (Expr::Float(x), Expr::Float(y)) => x.to_bits() == y.to_bits(),
        (Expr::Str(x), Expr::Str(y)) | (Expr::SearchPath(x), Expr::SearchPath(y)) => x == y,
        (Expr::Interp(x), Expr::Interp(y)) => same_parts(x, y),
        (
            Expr::Path {
                home: h1,
                relative: r1,
                parts: p1,
            },
            Expr::Path {
                home: h2,
                relative: r2,
                parts: p2,
            },
        ) => h1 == h2 && r1 == r2 && same_parts(p1, p2),
        (Expr::Var(x), Expr::Var(y)) => match (x, y) {
            (Var::Local { up: u1, slot: s1 }, Var::Local { up: u2, slot: s2 }) => {
                u1 == u2 && s1 == s2
            }
            (Var::Global(p), Var::Global(q)) | (Var::With(p), Var::With(q)) => p == q,
            _ => false,
        },
        (
            Expr::Select {
                path: p1,
                default: d1,
                ..
            },
            Expr::Select {
                path: p2,
                default: d2,
                ..
            },
        ) => same_keys(p1, p2) && d1.is_some() == d2.is_some(),
        (Expr::HasAttr { path: p1, .. }, Expr::HasAttr { path: p2, .. }) => same_keys(p1, p2),
        (Expr::Attrs(x), Expr::Attrs(y)) => {
            x.rec == y.rec
                && x.dynamic.len() == y.dynamic.len()
                && x.attrs.len() == y.attrs.len()
                && (x.attrs.iter().zip(&y.attrs)).all(|(p, q)| p.name == q.name)
        }
        (Expr::List(x), Expr::List(y)) => x.len() == y.len(),
        (Expr::Lambda(x), Expr::Lambda(y)) => match (&x.param, &y.param) {
            (Param::Ident(p), Param::Ident(q)) => p == q,
            (
                Param::Formals {
                    formals: f1,
                    ellipsis: e1,
                    bind: b1,
                },
                Param::Formals {
                    formals: f2,
                    ellipsis: e2,
                    bind: b2,
                },
            ) => {
                e1 == e2
                    && b1 == b2
                    && f1.len() == f2.len()
                    && (f1.iter().zip(f2)).all(|(p, q)| {
                        p.name == q.name && p.default.is_some() == q.default.is_some()
                    })
            }
            _ => false,
        },
        (Expr::Apply { .. }, Expr::Apply { .. })
        | (Expr::With { .. }, Expr::With { .. })
        | (Expr::If { .. }, Expr::If { .. })
        | (Expr::Assert { .. }, Expr::Assert { .. }) => true,
        (Expr::Let { bindings: x, .. }, Expr::Let { bindings: y, .. }) => x.len() == y.len(),
        (Expr::Unary(p, _), Expr::Unary(q, _)) => p == q,
        (Expr::Binary(p, ..), Expr::Binary(q, ..)) => p == q,
        _ => false,
    }
}

fn same_parts(a: &[Part], b: &[Part]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|pair| match pair {
            (Part::Lit(x), Part::Lit(y)) => x == y,
            (Part::Expr(_), Part::Expr(_)) => true,
            _ => false,
        })
}

fn same_keys(a: &[AttrKey], b: &[AttrKey]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|pair| match pair {
            (AttrKey::Static(x), AttrKey::Static(y)) => x == y,
            (AttrKey::Dynamic(_), AttrKey::Dynamic(_)) => true,
            _ => false,
        })
}

/// The expression's children, in a fixed order.
pub(super) fn children(expr: &Expr, out: &mut Vec<ExprId>) {
    let parts = |parts: &[Part], out: &mut Vec<ExprId>| {
        out.extend(parts.iter().filter_map(|p| match p {
            Part::Expr(e) => Some(*e),
            Part::Lit(_) => None,
        }))
    };
    let keys = |keys: &[AttrKey], out: &mut Vec<ExprId>| {
        out.extend(keys.iter().filter_map(|k| match k {
            AttrKey::Dynamic(e) => Some(*e),
            AttrKey::Static(_) => None,
        }))
    };
    match expr {
        Expr::Error
        | Expr::Int(_)
        | Expr::Float(_)
        | Expr::Str(_)
        | Expr::SearchPath(_)
        | Expr::CurPos
        | Expr::Var(_) => {}
        Expr::Interp(p) | Expr::Path { parts: p, .. } => parts(p, out),
        Expr::Select {
            expr,
            path,
            default,
        } => {
            out.push(*expr);
            keys(path, out);
            out.extend(*default);
        }
        Expr::HasAttr { expr, path } => {
            out.push(*expr);
            keys(path, out);
        }
        Expr::Attrs(a) => {
            out.extend(a.attrs.iter().map(|d| d.value));
            out.extend(a.dynamic.iter().flat_map(|(k, v)| [*k, *v]));
        }
        Expr::List(items) => out.extend(items.iter().copied()),
        Expr::Lambda(l) => {
            if let Param::Formals { formals, .. } = &l.param {
                out.extend(formals.iter().filter_map(|f| f.default));
            }
            out.push(l.body);
        }
        Expr::Apply { func, arg } => out.extend([*func, *arg]),
        Expr::Let { bindings, body } => {
            out.extend(bindings.iter().copied());
            out.push(*body);
        }
        Expr::With { namespace, body } => out.extend([*namespace, *body]),
        Expr::If { cond, then, else_ } => out.extend([*cond, *then, *else_]),
        Expr::Assert { cond, body } => out.extend([*cond, *body]),
        Expr::Unary(_, e) => out.push(*e),
        Expr::Binary(_, a, b) => out.extend([*a, *b]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lowered(text: &str) -> Arc<Lowered> {
        let parse = crate::syntax::parse(text);
        let root = parse.root().and_then(|r| r.expr());
        Arc::new(super::super::lower::lower(
            root,
            &super::super::builtins::is_global,
            1 << 20,
        ))
    }

    fn all_entered(l: &Arc<Lowered>) -> EnteredExprs {
        EnteredExprs::new(l.clone(), vec![u64::MAX; l.exprs.len().div_ceil(64)])
    }

    fn shifted(by: i64) -> impl Fn(TextRange) -> TextRange {
        move |r| {
            let shift = |x: rnix::TextSize| rnix::TextSize::from((u32::from(x) as i64 + by) as u32);
            TextRange::new(shift(r.start()), shift(r.end()))
        }
    }

    #[test]
    fn the_same_text_corresponds_everywhere() {
        let l = lowered("let a = 1; in { x = [ a 2 ]; y = a + 1; }");
        let carried = all_entered(&l)
            .carried_to(&lowered("let a = 1; in { x = [ a 2 ]; y = a + 1; }"), |r| r)
            .unwrap();
        assert!(carried.differ.is_empty());
        assert!((0..l.exprs.len() as u32).all(|i| carried.entered.is_entered(ExprId(i))));
    }

    #[test]
    fn a_changed_subtree_is_the_one_that_differs() {
        let old = lowered("{ x = [ 1 ]; y = 2; }");
        let new = lowered("{ x = [ 1 3 ]; y = 2; }");
        // nothing entered: the list differs, and nothing below it is looked at
        let none = EnteredExprs::new(old.clone(), vec![0; old.exprs.len().div_ceil(64)]);
        let moved = |r: TextRange| {
            // `y = 2; }` moved two to the right
            if r.start() >= 13.into() {
                shifted(2)(r)
            } else if r.end() >= 13.into() {
                TextRange::new(r.start(), r.end() + rnix::TextSize::from(2))
            } else {
                r
            }
        };
        let carried = none.carried_to(&new, moved).unwrap();
        assert_eq!(carried.differ, vec![TextRange::new(6.into(), 11.into())]);
        assert!(!carried.differ_entered);
        assert!(
            all_entered(&old)
                .carried_to(&new, moved)
                .unwrap()
                .differ_entered
        );
    }

    #[test]
    fn a_range_that_does_not_move_to_its_counterpart_fails() {
        let old = lowered("{ x = 1; }");
        let new = lowered("{  x = 1; }");
        assert!(all_entered(&old).carried_to(&new, |r| r).is_none());
        // the opening brace stays, everything after it moves one to the right
        let after_brace = |r: TextRange| {
            let at = |x: rnix::TextSize| {
                if x == 0.into() {
                    x
                } else {
                    x + rnix::TextSize::from(1)
                }
            };
            TextRange::new(at(r.start()), at(r.end()))
        };
        let carried = all_entered(&old).carried_to(&new, after_brace).unwrap();
        assert!(carried.differ.is_empty());
        assert!(all_entered(&old).carried_to(&new, shifted(1)).is_none());
    }

    #[test]
    fn a_set_of_attribute_paths_named_at_a_new_first_path_moves_its_name() {
        let (before, after) = ("{ b = 1; a.y = 2; }", "{ a.x = 1; b = 1; a.y = 2; }");
        let (moved, _) = crate::syntax::token_edit::around_change(before, after).unwrap();
        let carried = all_entered(&lowered(before))
            .carried_to(&lowered(after), |r| moved.range(r))
            .unwrap();
        // the set `a` differs (it has `x` now), and is named at the new first path
        assert_eq!(carried.differ.len(), 1);
        assert_eq!(
            carried.names_moved,
            vec![TextRange::new(9.into(), 10.into())]
        );
    }

    #[test]
    fn names_and_variables_are_part_of_the_shape() {
        let old = lowered("let a = 1; b = 2; in a");
        let new = lowered("let a = 1; b = 2; in b");
        let carried = all_entered(&old).carried_to(&new, |r| r).unwrap();
        assert_eq!(carried.differ.len(), 1);
        assert!(carried.differ_entered);
        let renamed = lowered("{ a = 1; }");
        let carried = all_entered(&renamed)
            .carried_to(&lowered("{ b = 1; }"), |r| r)
            .unwrap();
        assert_eq!(carried.differ, vec![TextRange::new(0.into(), 10.into())]);
    }
}
