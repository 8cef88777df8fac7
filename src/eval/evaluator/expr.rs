//! Evaluating IR expressions to weak head normal form, and the thunks made for expressions
//! (constants as values, variables shared): literals, strings and paths, sets, `let`, `with`,
//! `if`, `assert`, unary operators and variable lookup.

use std::rc::Rc;
use std::sync::Arc;

use super::{Coerced, Evaluator, canon_path};
use crate::eval::Pos;
use crate::eval::error::{ErrorKind, EvalError, EvalResult};
use crate::eval::ir::{Expr, ExprId, Module, Part, UnOp, Var};
use crate::eval::thunk::{Env, Slots, Thunk, ThunkState};
use crate::eval::unknown::Unknown;
use crate::eval::value::{Attr, Attrs, Closure, Value};

impl Evaluator<'_> {
    /// A thunk for `expr` in `env`, reusing existing thunks for variables and skipping the
    /// thunk for constants.
    fn thunk_of(&self, module: &Rc<Module>, expr: ExprId, env: &Rc<Env>) -> Thunk {
        let code = module.expr(expr);
        if !matches!(
            code,
            Expr::Var(_) | Expr::Int(_) | Expr::Float(_) | Expr::Str(_) | Expr::Path { .. }
        ) {
            // only deferred: not entered
            return Thunk::code(module.clone(), expr, env.clone());
        }
        module.enter(expr);
        match code {
            Expr::Int(i) => self.literals_used.number(module, expr, Value::Int(*i)),
            Expr::Float(f) => self.literals_used.number(module, expr, Value::Float(*f)),
            Expr::Str(s) => Thunk::value(self.literals_used.string(module, expr, s)),
            Expr::Var(Var::Local { up, slot }) => {
                match env.ancestor(*up).and_then(|e| e.slots.get(*slot as usize)) {
                    Some(t) => t.clone(),
                    None => Thunk::code(module.clone(), expr, env.clone()),
                }
            }
            // `true` and `false` as values of their own, which note when they are read (the
            // shared global would not tell one use from another).
            e @ Expr::Var(Var::Global(_)) if e.boolean().is_some() => {
                let value = Value::Bool(e.boolean() == Some(true));
                self.literals_used.number(module, expr, value)
            }
            Expr::Var(Var::Global(name)) => match self.globals.get(&**name) {
                Some(t) => t.clone(),
                None => Thunk::code(module.clone(), expr, env.clone()),
            },
            // A path literal without interpolation is a constant, as in Nix.
            Expr::Path {
                home: false,
                relative,
                parts,
            } => match &parts[..] {
                [Part::Lit(p)] if *relative => Thunk::value(Value::Path(
                    canon_path(&format!("{}/{p}", module.dir)).into(),
                )),
                [Part::Lit(p)] => Thunk::value(Value::Path(canon_path(p).into())),
                _ => Thunk::code(module.clone(), expr, env.clone()),
            },
            _ => Thunk::code(module.clone(), expr, env.clone()),
        }
    }

    /// The first state of a `let` or `rec` slot: constants are values at once (as in Nix,
    /// which matters for what non-strict printing shows), anything else is code.
    fn initial_state(&self, module: &Rc<Module>, expr: ExprId, env: &Rc<Env>) -> ThunkState {
        let code = module.expr(expr);
        if !matches!(
            code,
            Expr::Int(_) | Expr::Float(_) | Expr::Str(_) | Expr::Path { .. } | Expr::Var(_)
        ) {
            // only deferred: not entered
            return ThunkState::Code(module.clone(), expr, env.clone());
        }
        module.enter(expr);
        match code {
            Expr::Int(_) | Expr::Float(_) | Expr::Str(_) | Expr::Path { .. } => {
                let constant = self.thunk_of(module, expr, env);
                match constant.constant_state() {
                    Some(state) => state,
                    None => ThunkState::Code(module.clone(), expr, env.clone()),
                }
            }
            // A variable of an enclosing frame already computed is shared as its value (Nix
            // shares the value). Siblings in the same frame are not: whether Nix sees them
            // computed depends on the order of its symbol table, which clanc cannot know.
            Expr::Var(Var::Local { up, slot }) if *up >= 1 => {
                match env
                    .ancestor(*up)
                    .and_then(|e| e.slots.get(*slot as usize))
                    .and_then(Thunk::constant_state)
                {
                    Some(state) => state,
                    None => ThunkState::Code(module.clone(), expr, env.clone()),
                }
            }
            _ => ThunkState::Code(module.clone(), expr, env.clone()),
        }
    }

    pub(in crate::eval) fn eval(
        &mut self,
        module: &Rc<Module>,
        expr: ExprId,
        env: &Rc<Env>,
    ) -> EvalResult<Value> {
        let pos = Self::pos(module, expr);
        guarded!(self, Some(pos), self.eval_inner(module, expr, env, pos))
    }

    fn eval_inner(
        &mut self,
        module: &Rc<Module>,
        expr: ExprId,
        env: &Rc<Env>,
        pos: Pos,
    ) -> EvalResult<Value> {
        // Tail positions (`if` branches, `let`/`with`/`assert` bodies) loop here instead of
        // recursing, and big cases live in their own functions: both keep the stack used
        // per level of Nix recursion small.
        let mut expr = expr;
        let mut env = env.clone();
        let mut pos = pos;
        loop {
            module.enter(expr);
            match module.expr(expr) {
                Expr::Int(i) => {
                    self.literals_used.note(module, expr);
                    return Ok(Value::Int(*i));
                }
                Expr::Float(f) => {
                    self.literals_used.note(module, expr);
                    return Ok(Value::Float(*f));
                }
                Expr::Str(s) => return Ok(self.literals_used.string(module, expr, s)),
                Expr::Var(var) => return self.lookup(var, &env, pos),
                Expr::Error => {
                    self.literals_used.note(module, expr);
                    return Err(EvalError::new(ErrorKind::Syntax, "syntax error", Some(pos)));
                }
                Expr::SearchPath(name) => {
                    return Ok(Value::Unknown(Rc::new(Unknown::new(
                        format!("the search path <{name}> (NIX_PATH is not modelled)"),
                        Some(pos),
                    ))));
                }
                Expr::CurPos => return Ok(self.position_attrs(pos)),
                Expr::Interp(parts) => {
                    self.literals_used.note(module, expr);
                    return self.eval_interp(module, parts, &env, pos);
                }
                Expr::Path {
                    home,
                    relative,
                    parts,
                } => {
                    return self.eval_path(module, *home, *relative, parts, &env, pos);
                }
                Expr::Select {
                    expr: inner,
                    path,
                    default,
                } => return self.eval_select(module, inner, path, default, &env, pos),
                Expr::HasAttr { expr: inner, path } => {
                    return self.eval_has_attr(module, inner, path, &env, pos);
                }
                Expr::Attrs(set) => return self.eval_attrs(module, set, &env),
                Expr::Unary(op, inner) => return self.eval_unary(module, op, inner, &env, pos),
                Expr::List(items) => {
                    let items: Vec<Thunk> = items
                        .iter()
                        .map(|i| self.thunk_of(module, *i, &env))
                        .collect();
                    return Ok(Value::list(items));
                }
                Expr::Lambda(lambda) => {
                    return Ok(Value::Lambda(Rc::new(Closure {
                        module: module.clone(),
                        lambda: lambda.clone(),
                        id: expr,
                        env: env.clone(),
                    })));
                }
                Expr::Apply { func, arg } => {
                    let f = self.eval(module, *func, &env)?;
                    let arg = self.thunk_of(module, *arg, &env);
                    return self.apply(f, arg, Some(pos));
                }
                Expr::Binary(op, lhs, rhs) => {
                    return self.binary(module, *op, *lhs, *rhs, &env, pos);
                }
                Expr::Let { bindings, body } => {
                    let slots: Slots = bindings.iter().map(|_| Thunk::blank()).collect();
                    let new_env = self.self_referential_env(&env, slots);
                    for (slot, b) in new_env.slots.iter().zip(bindings.iter()) {
                        slot.set(self.initial_state(module, *b, &new_env));
                    }
                    env = new_env;
                    expr = *body;
                }
                Expr::With { namespace, body } => {
                    let ns = self.thunk_of(module, *namespace, &env);
                    env = Env::child(&env, smallvec::smallvec![ns], true);
                    expr = *body;
                }
                Expr::If { cond, then, else_ } => match self.eval_condition(module, *cond, &env)? {
                    Ok(true) => expr = *then,
                    Ok(false) => expr = *else_,
                    Err(u) => return Ok(Value::Unknown(u)),
                },
                Expr::Assert { cond, body } => match self.eval_condition(module, *cond, &env)? {
                    Ok(true) => expr = *body,
                    Ok(false) => return Err(self.assertion_failed(module, *cond, pos)),
                    Err(u) => return Ok(Value::Unknown(u)),
                },
            }
            pos = Self::pos(module, expr);
            self.tick(Some(pos))?;
        }
    }

    #[inline(never)]
    fn eval_condition(
        &mut self,
        module: &Rc<Module>,
        cond: ExprId,
        env: &Rc<Env>,
    ) -> EvalResult<Result<bool, Rc<Unknown>>> {
        match self.eval(module, cond, env)? {
            Value::Bool(b) => Ok(Ok(b)),
            Value::Unknown(u) => Ok(Err(u)),
            other => Err(EvalError::eval(
                format!("value is {} while a Boolean was expected", other.describe()),
                Some(Self::pos(module, cond)),
            )),
        }
    }

    #[inline(never)]
    fn assertion_failed(&self, module: &Rc<Module>, cond: ExprId, pos: Pos) -> Box<EvalError> {
        let text = self.file_text(module.file);
        let range = module.source_map.range(cond);
        let shown = text
            .get(std::ops::Range::<usize>::from(range))
            .unwrap_or("");
        EvalError::new(
            ErrorKind::Assert,
            format!("assertion '{shown}' failed"),
            Some(pos),
        )
    }

    #[inline(never)]
    fn eval_interp(
        &mut self,
        module: &Rc<Module>,
        parts: &[Part],
        env: &Rc<Env>,
        _pos: Pos,
    ) -> EvalResult<Value> {
        let pos_of = |e: ExprId| Self::pos(module, e);

        let mut out = String::new();
        let mut context = false;
        for part in parts {
            match part {
                Part::Lit(s) => out.push_str(s),
                Part::Expr(e) => {
                    let v = self.eval(module, *e, env)?;
                    match self.coerce_to_string(v, pos_of(*e), false, true)? {
                        Coerced::Str(s, c) => {
                            out.push_str(&s);
                            context |= c;
                        }
                        Coerced::Unknown(u) => return Ok(Value::Unknown(u)),
                    }
                }
            }
        }
        Ok(Value::string_with(out, context))
    }

    #[inline(never)]
    fn eval_path(
        &mut self,
        module: &Rc<Module>,
        home: bool,
        relative: bool,
        parts: &[Part],
        env: &Rc<Env>,
        pos: Pos,
    ) -> EvalResult<Value> {
        let pos_of = |e: ExprId| Self::pos(module, e);

        let mut out = String::new();
        if relative {
            out.push_str(&module.dir);
            out.push('/');
        }
        if home && self.limits.pure {
            return Ok(Value::Unknown(Rc::new(Unknown::new(
                "a path in the home directory (`~`): a flake's pure evaluation does not read it",
                Some(pos),
            ))));
        }
        if home {
            match std::env::var("HOME") {
                Ok(h) => out.push_str(&h),
                Err(_) => {
                    return Ok(Value::Unknown(Rc::new(Unknown::new(
                        "the home directory ($HOME is not set)",
                        Some(pos),
                    ))));
                }
            }
        }
        for part in parts {
            match part {
                Part::Lit(s) => out.push_str(s),
                Part::Expr(e) => {
                    let v = self.eval(module, *e, env)?;
                    match self.coerce_to_string(v, pos_of(*e), false, false)? {
                        Coerced::Str(s, _) => out.push_str(&s),
                        Coerced::Unknown(u) => return Ok(Value::Unknown(u)),
                    }
                }
            }
        }
        Ok(Value::Path(canon_path(&out).into()))
    }

    #[inline(never)]
    fn eval_attrs(
        &mut self,
        module: &Rc<Module>,
        set: &Arc<crate::eval::ir::AttrsExpr>,
        env: &Rc<Env>,
    ) -> EvalResult<Value> {
        let pos_of = |e: ExprId| Self::pos(module, e);

        let set = set.clone();
        let scope = if set.rec {
            let slots: Slots = set.attrs.iter().map(|_| Thunk::blank()).collect();
            let new_env = self.self_referential_env(env, slots);
            for (slot, def) in new_env.slots.iter().zip(set.attrs.iter()) {
                slot.set(self.initial_state(module, def.value, &new_env));
            }
            new_env
        } else {
            env.clone()
        };
        let mut entries: Vec<Attr> = Vec::with_capacity(set.attrs.len());
        for (i, def) in set.attrs.iter().enumerate() {
            let value = if set.rec {
                scope.slots[i].clone()
            } else {
                self.thunk_of(module, def.value, &scope)
            };
            entries.push(Attr {
                name: def.name.clone(),
                value,
                pos: Some(Pos {
                    file: module.file,
                    range: def.range,
                }),
            });
        }
        let mut attrs = Attrs { entries };
        for (key, value) in &set.dynamic {
            let k = self.eval(module, *key, &scope)?;
            let name = match k {
                Value::Null => continue,
                Value::String(s) => s.text().to_string(),
                Value::Unknown(u) => return Ok(Value::Unknown(u)),
                other => {
                    return Err(EvalError::eval(
                        format!("value is {} while a string was expected", other.describe()),
                        Some(pos_of(*key)),
                    ));
                }
            };
            if attrs.get(&name).is_some() {
                return Err(EvalError::eval(
                    format!("dynamic attribute '{name}' already defined"),
                    Some(pos_of(*key)),
                ));
            }
            let attr = Attr {
                name: name.into(),
                value: self.thunk_of(module, *value, &scope),
                pos: Some(pos_of(*key)),
            };
            let at = attrs.entries.partition_point(|a| a.name < attr.name);
            attrs.entries.insert(at, attr);
        }
        Ok(Value::attrs(attrs))
    }

    #[inline(never)]
    fn eval_unary(
        &mut self,
        module: &Rc<Module>,
        op: &UnOp,
        inner: &ExprId,
        env: &Rc<Env>,
        pos: Pos,
    ) -> EvalResult<Value> {
        let v = self.eval(module, *inner, env)?;
        match (op, v) {
            (_, Value::Unknown(u)) => Ok(Value::Unknown(u)),
            (UnOp::Not, Value::Bool(b)) => Ok(Value::Bool(!b)),
            (UnOp::Negate, Value::Int(i)) => Ok(Value::Int(0i64.wrapping_sub(i))),
            (UnOp::Negate, Value::Float(f)) => Ok(Value::Float(0.0 - f)),
            (UnOp::Not, other) => Err(EvalError::eval(
                format!("value is {} while a Boolean was expected", other.describe()),
                Some(pos),
            )),
            (UnOp::Negate, other) => Err(EvalError::eval(
                format!(
                    "value is {} while an integer was expected",
                    other.describe()
                ),
                Some(pos),
            )),
        }
    }

    fn lookup(&mut self, var: &Var, env: &Rc<Env>, pos: Pos) -> EvalResult<Value> {
        match var {
            Var::Local { up, slot } => {
                let thunk = env
                    .ancestor(*up)
                    .and_then(|e| e.slots.get(*slot as usize))
                    .cloned()
                    .ok_or_else(|| {
                        EvalError::eval("internal error: unbound variable slot", Some(pos))
                    })?;
                self.force(&thunk, Some(pos))
            }
            Var::Global(name) => match self.globals.get(&**name).cloned() {
                Some(t) => self.force(&t, Some(pos)),
                None => Err(EvalError::eval(
                    format!("undefined variable '{name}'"),
                    Some(pos),
                )),
            },
            Var::With(name) => {
                let mut cur = Some(env.clone());
                while let Some(e) = cur {
                    if e.is_with
                        && let Some(ns) = e.slots.first().cloned()
                    {
                        match self.force(&ns, Some(pos))? {
                            Value::Attrs(a) => {
                                if let Some(t) = a.get(name) {
                                    let t = t.clone();
                                    return self.force(&t, Some(pos));
                                }
                            }
                            Value::Unknown(u) => return Ok(Value::Unknown(u)),
                            other => {
                                return Err(EvalError::eval(
                                    format!(
                                        "value is {} while a set was expected",
                                        other.describe()
                                    ),
                                    Some(pos),
                                ));
                            }
                        }
                    }
                    cur = e.parent.clone();
                }
                Err(EvalError::eval(
                    format!("undefined variable '{name}'"),
                    Some(pos),
                ))
            }
        }
    }
}
