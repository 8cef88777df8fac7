//! Thunks (delayed computations, forced at most once) and environments (the frames that
//! `let`, `rec`, lambdas and `with` push).

use std::cell::RefCell;
use std::rc::Rc;

use super::Pos;
use super::ir::{ExprId, Module};
use super::value::{LiteralMark, Value};

#[derive(Debug)]
pub enum ThunkState {
    /// An expression of a module, to evaluate in an environment.
    Code(Rc<Module>, ExprId, Rc<Env>),
    /// A function applied to arguments (builtins produce these lazily). Boxed, as `Literal`:
    /// both are rarer than code and values, and inline they made every thunk 16 bytes larger.
    Apply(Box<(Value, Vec<Thunk>)>),
    /// Being forced right now: forcing it again is infinite recursion.
    Blackhole,
    Done(Value),
    /// The value of a number literal (or of a `true` or `false` the code does not bind):
    /// computed, but whoever takes the value out notes that it was read ([`LiteralMark`]),
    /// unless it is copied out verbatim ([`Thunk::literal_number`]).
    Literal(Box<(Value, Rc<LiteralMark>)>),
}

#[derive(Clone, Debug)]
pub struct Thunk(pub Rc<RefCell<ThunkState>>);

/// The bytes one thunk takes (its shared cell with the two counts), as the value budget
/// counts them.
pub const THUNK_BYTES: usize = std::mem::size_of::<RefCell<ThunkState>>() + 16;

impl Thunk {
    pub fn value(v: Value) -> Thunk {
        super::value::count_built(THUNK_BYTES);
        Thunk(Rc::new(RefCell::new(ThunkState::Done(v))))
    }

    pub fn code(module: Rc<Module>, expr: ExprId, env: Rc<Env>) -> Thunk {
        super::value::count_built(THUNK_BYTES);
        Thunk(Rc::new(RefCell::new(ThunkState::Code(module, expr, env))))
    }

    pub fn apply(f: Value, args: Vec<Thunk>) -> Thunk {
        super::value::count_built(THUNK_BYTES + args.capacity() * std::mem::size_of::<Thunk>());
        Thunk(Rc::new(RefCell::new(ThunkState::Apply(Box::new((
            f, args,
        ))))))
    }

    /// A computation in Rust, run when the thunk is first forced.
    pub fn native(
        name: &str,
        f: impl Fn(&mut super::Evaluator<'_>, Option<super::Pos>) -> super::EvalResult<Value> + 'static,
    ) -> Thunk {
        let op = Value::host(name, 1, move |ev, _, pos| f(ev, pos));
        Thunk::apply(op, vec![Thunk::value(Value::Null)])
    }

    /// Makes a placeholder (`blank`) hold a value.
    pub fn fill(&self, value: Value) {
        self.set(ThunkState::Done(value));
    }

    /// Makes a placeholder (`blank`) stand for another thunk, forced when this one is.
    pub fn redirect(&self, target: Thunk) {
        let forward = Value::host("forward", 1, |ev, args, pos| ev.force(&args[0], pos));
        self.set(ThunkState::Apply(Box::new((forward, vec![target]))));
    }

    /// A placeholder filled in with `set` (for frames whose slots refer to the frame).
    pub fn blank() -> Thunk {
        Thunk(Rc::new(RefCell::new(ThunkState::Blackhole)))
    }

    /// Replaces the state. The old state is dropped after the borrow ends, since dropping
    /// it may drop other thunks.
    pub fn set(&self, state: ThunkState) {
        let old = match self.0.try_borrow_mut() {
            Ok(mut cell) => std::mem::replace(&mut *cell, state),
            Err(_) => return,
        };
        drop(old);
    }

    /// The value if already computed.
    pub fn peek(&self) -> Option<Value> {
        match &*self.0.borrow() {
            ThunkState::Done(v) => Some(v.clone()),
            ThunkState::Literal(literal) => {
                literal.1.note_read();
                Some(literal.0.clone())
            }
            _ => None,
        }
    }

    /// The state of a constant (computed) thunk, for another thunk to start in; taking it
    /// reads nothing.
    pub fn constant_state(&self) -> Option<ThunkState> {
        match &*self.0.borrow() {
            ThunkState::Done(v) => Some(ThunkState::Done(v.clone())),
            ThunkState::Literal(literal) => Some(ThunkState::Literal(literal.clone())),
            _ => None,
        }
    }

    /// When the thunk is a number literal's value: the number, copied out verbatim, and the
    /// literal's position, without noting a read. The caller keeps the literal with the copy
    /// (see [`super::NixString::copy_out`]).
    pub fn literal_number(&self) -> Option<(Value, Pos)> {
        match &*self.0.borrow() {
            ThunkState::Literal(literal) => Some((literal.0.clone(), literal.1.pos)),
            _ => None,
        }
    }
}

/// A frame's slots; most frames (a lambda's argument, a small `let`) fit inline, which
/// saves an allocation per function call.
pub type Slots = smallvec::SmallVec<[Thunk; 2]>;

#[derive(Debug)]
pub struct Env {
    pub slots: Slots,
    pub parent: Option<Rc<Env>>,
    /// A `with` frame: its one slot is the namespace.
    pub is_with: bool,
}

impl Env {
    pub fn root() -> Rc<Env> {
        Rc::new(Env {
            slots: Slots::new(),
            parent: None,
            is_with: false,
        })
    }

    pub fn child(parent: &Rc<Env>, slots: Slots, is_with: bool) -> Rc<Env> {
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

thread_local! {
    /// States of thunks being dropped, drained by the outermost drop (see `Drop for Thunk`).
    static DROPPING: RefCell<Vec<ThunkState>> = const { RefCell::new(Vec::new()) };
    static DRAINING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Dropping a long chain of values (a list built by a million `foldl'` steps) would recurse
/// once per link and overflow the stack. The last reference to a thunk instead hands its
/// state to a queue that the outermost drop empties in a loop.
impl Drop for Thunk {
    fn drop(&mut self) {
        if Rc::strong_count(&self.0) != 1 {
            return;
        }
        let Ok(mut cell) = self.0.try_borrow_mut() else {
            return;
        };
        let state = std::mem::replace(&mut *cell, ThunkState::Blackhole);
        drop(cell);
        if matches!(
            state,
            ThunkState::Done(
                Value::Null
                    | Value::Bool(_)
                    | Value::Int(_)
                    | Value::Float(_)
                    | Value::String(_)
                    | Value::Path(_)
                    | Value::Unknown(_)
            ) | ThunkState::Literal(..)
                | ThunkState::Blackhole
        ) {
            // Holds no thunk: dropped here, without recursion.
            return;
        }
        match DRAINING.try_with(|d| d.replace(true)) {
            // The outermost drop: the state goes now (the thunks it held queue theirs), then
            // the queue, in a loop.
            Ok(false) => {
                drop(state);
                loop {
                    let next = DROPPING
                        .try_with(|queue| queue.borrow_mut().pop())
                        .ok()
                        .flatten();
                    match next {
                        Some(state) => drop(state),
                        None => break,
                    }
                }
                let _ = DRAINING.try_with(|d| d.set(false));
            }
            // Inside a drop further up, which empties the queue.
            Ok(true) => {
                let _ = DROPPING.try_with(|queue| queue.borrow_mut().push(state));
            }
            // The thread is ending (its locals are gone): dropped here.
            Err(_) => {}
        }
    }
}
#[cfg(test)]
mod size {
    /// Every value an evaluation makes sits behind thunks: a thunk's cell is 40 bytes (with
    /// its counts, 56: one allocation class of mimalloc; 72, the next class up at 80, before
    /// the rare states were boxed).
    #[test]
    fn a_thunk_cell_stays_small() {
        assert_eq!(std::mem::size_of::<super::Value>(), 24);
        assert!(std::mem::size_of::<std::cell::RefCell<super::ThunkState>>() <= 40);
    }
}
