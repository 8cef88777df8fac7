//! Thunks (delayed computations, forced at most once) and environments (the frames that
//! `let`, `rec`, lambdas and `with` push).

use std::cell::RefCell;
use std::rc::Rc;

use super::ir::{ExprId, Module};
use super::value::Value;

#[derive(Debug)]
pub enum ThunkState {
    /// An expression of a module, to evaluate in an environment.
    Code(Rc<Module>, ExprId, Rc<Env>),
    /// A function applied to arguments (builtins produce these lazily).
    Apply(Value, Vec<Thunk>),
    /// Being forced right now: forcing it again is infinite recursion.
    Blackhole,
    Done(Value),
}

#[derive(Clone, Debug)]
pub struct Thunk(pub Rc<RefCell<ThunkState>>);

impl Thunk {
    pub fn value(v: Value) -> Thunk {
        Thunk(Rc::new(RefCell::new(ThunkState::Done(v))))
    }

    pub fn code(module: Rc<Module>, expr: ExprId, env: Rc<Env>) -> Thunk {
        Thunk(Rc::new(RefCell::new(ThunkState::Code(module, expr, env))))
    }

    pub fn apply(f: Value, args: Vec<Thunk>) -> Thunk {
        Thunk(Rc::new(RefCell::new(ThunkState::Apply(f, args))))
    }

    /// A placeholder filled in with `set` (for frames whose slots refer to the frame).
    pub fn blank() -> Thunk {
        Thunk(Rc::new(RefCell::new(ThunkState::Blackhole)))
    }

    pub fn set(&self, state: ThunkState) {
        *self.0.borrow_mut() = state;
    }

    /// The value if already computed.
    pub fn peek(&self) -> Option<Value> {
        match &*self.0.borrow() {
            ThunkState::Done(v) => Some(v.clone()),
            _ => None,
        }
    }
}

#[derive(Debug)]
pub struct Env {
    pub slots: Vec<Thunk>,
    pub parent: Option<Rc<Env>>,
    /// A `with` frame: its one slot is the namespace.
    pub is_with: bool,
}

impl Env {
    pub fn root() -> Rc<Env> {
        Rc::new(Env {
            slots: Vec::new(),
            parent: None,
            is_with: false,
        })
    }

    pub fn child(parent: &Rc<Env>, slots: Vec<Thunk>, is_with: bool) -> Rc<Env> {
        Rc::new(Env {
            slots,
            parent: Some(parent.clone()),
            is_with,
        })
    }

    pub fn ancestor(self: &Rc<Env>, up: u32) -> Option<&Rc<Env>> {
        let mut env = self;
        for _ in 0..up {
            env = env.parent.as_ref()?;
        }
        Some(env)
    }
}
