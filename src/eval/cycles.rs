//! Frees the frames that reference cycles keep once a stretch of evaluation has ended (a
//! machine's configuration, read and released by the model): Rc cannot free a `let`, `rec`
//! or defaulted-formals frame whose slots refer back to it, so without this every machine's
//! frames stayed until the whole evaluation ended ([`super::Garbage`]).
//!
//! Which frames are garbage is proved, never guessed, by trial deletion (as in Bacon and
//! Rajan's cycle collector): from the frames the stretch made, the values they reach are
//! walked, and each reference seen is counted. A value whose `Rc` count is higher than the
//! references the walk saw is held from elsewhere (the flake's values, the module system's
//! nodes, a Rust closure the walk cannot look into), so it and everything it reaches are live.
//! A frame the walk reached only from values that are not live is garbage: its slots are
//! emptied, and `Rc` frees the rest. A frame made in the stretch but kept by something outside
//! it (a value the flake shares, first computed during this machine) is seen held and kept.
//! Whatever the walk does not look into counts as a holder from elsewhere, so stopping early
//! (the walk is bounded) only keeps more.

use std::rc::Rc;

use rustc_hash::FxHashMap;

use super::thunk::{Env, Thunk, ThunkState};
use super::value::{Attrs, Closure, PrimOpApp, Value};

/// The most values one collection walks, per frame it starts from (it stops there, keeping
/// what it has not proved garbage).
const WALK_PER_FRAME: usize = 256;

/// A value the walk reached, held by the walk (one count of its `Rc`).
enum Node {
    Env(Rc<Env>),
    Thunk(Thunk),
    Attrs(Rc<Attrs>),
    List(Rc<[Thunk]>),
    Closure(Rc<Closure>),
    PrimOp(Rc<PrimOpApp>),
}

impl Node {
    /// Which value it is: its kind and address.
    fn key(&self) -> (u8, usize) {
        match self {
            Node::Env(e) => (0, Rc::as_ptr(e) as usize),
            Node::Thunk(t) => (1, Rc::as_ptr(&t.0) as *const () as usize),
            Node::Attrs(a) => (2, Rc::as_ptr(a) as usize),
            Node::List(l) => (3, Rc::as_ptr(l) as *const Thunk as usize),
            Node::Closure(c) => (4, Rc::as_ptr(c) as usize),
            Node::PrimOp(p) => (5, Rc::as_ptr(p) as usize),
        }
    }

    fn strong_count(&self) -> usize {
        match self {
            Node::Env(e) => Rc::strong_count(e),
            Node::Thunk(t) => Rc::strong_count(&t.0),
            Node::Attrs(a) => Rc::strong_count(a),
            Node::List(l) => Rc::strong_count(l),
            Node::Closure(c) => Rc::strong_count(c),
            Node::PrimOp(p) => Rc::strong_count(p),
        }
    }
}

struct Walk {
    nodes: Vec<Node>,
    /// Every node by its key (addresses: a hash that mixes them suffices). The frames in it
    /// are exactly those the collection may empty (made in the stretch): no other frame is
    /// ever added.
    index: FxHashMap<(u8, usize), u32>,
    /// References to each node from nodes the walk looked into.
    seen: Vec<u32>,
    /// The nodes each node looked into refers to (once per reference): those of node `i` are
    /// `targets[first[i]..first[i + 1]]` (nodes are looked into in order, one at a time).
    targets: Vec<u32>,
    first: Vec<u32>,
    budget: usize,
}

impl Walk {
    /// The index of `node`, added if the walk has not reached it before.
    fn node(&mut self, node: Node) -> u32 {
        let key = node.key();
        if let Some(&i) = self.index.get(&key) {
            return i;
        }
        // Nodes (and references) are values the evaluation built, which its value budget
        // keeps far below `u32::MAX`.
        let i = self.nodes.len() as u32;
        self.nodes.push(node);
        self.index.insert(key, i);
        self.seen.push(0);
        i
    }

    /// A reference from the node being looked into to `node`, counted.
    fn reach(&mut self, node: Node) {
        let to = self.node(node);
        self.seen[to as usize] += 1;
        self.targets.push(to);
    }

    /// The nodes node `i` (looked into) refers to.
    fn edges(&self, i: usize) -> &[u32] {
        match (self.first.get(i), self.first.get(i + 1)) {
            (Some(&a), Some(&b)) => &self.targets[a as usize..b as usize],
            _ => &[],
        }
    }

    fn reach_thunk(&mut self, thunk: &Thunk) {
        self.reach(Node::Thunk(thunk.clone()));
    }

    fn reach_env(&mut self, env: &Rc<Env>) {
        // Frames made before the stretch are not looked into: the references they hold
        // count as from elsewhere.
        if self.index.contains_key(&(0, Rc::as_ptr(env) as usize)) {
            self.reach(Node::Env(env.clone()));
        }
    }

    fn reach_value(&mut self, value: &Value) {
        let node = match value {
            Value::List(l) => Node::List(l.clone()),
            Value::Attrs(a) => Node::Attrs(a.clone()),
            Value::Lambda(c) => Node::Closure(c.clone()),
            Value::PrimOp(p) => Node::PrimOp(p.clone()),
            // No values inside (a host function's captures are not looked into).
            Value::Null
            | Value::Bool(_)
            | Value::Int(_)
            | Value::Float(_)
            | Value::String(_)
            | Value::Path(_)
            | Value::Unknown(_) => return,
        };
        self.reach(node);
    }

    /// Counts the references node `i` holds (the next node to look into).
    fn look_into(&mut self, i: usize) {
        self.first.push(self.targets.len() as u32);
        match &self.nodes[i] {
            Node::Env(env) => {
                let env = env.clone();
                for slot in &env.slots {
                    self.reach_thunk(slot);
                }
                if let Some(parent) = &env.parent {
                    self.reach_env(parent);
                }
            }
            Node::Thunk(thunk) => {
                let thunk = thunk.clone();
                // A thunk being forced (not at the end of a stretch) is not looked into.
                let Ok(state) = thunk.0.try_borrow() else {
                    return;
                };
                match &*state {
                    ThunkState::Code(_, _, env) => self.reach_env(env),
                    ThunkState::Apply(apply) => {
                        self.reach_value(&apply.0);
                        for arg in &apply.1 {
                            self.reach_thunk(arg);
                        }
                    }
                    ThunkState::Done(value) => self.reach_value(value),
                    ThunkState::Literal(_) | ThunkState::Blackhole => {}
                }
            }
            Node::Attrs(attrs) => {
                let attrs = attrs.clone();
                for attr in &attrs.entries {
                    self.reach_thunk(&attr.value);
                }
            }
            Node::List(items) => {
                let items = items.clone();
                for item in items.iter() {
                    self.reach_thunk(item);
                }
            }
            Node::Closure(closure) => {
                let env = closure.env.clone();
                self.reach_env(&env);
            }
            Node::PrimOp(app) => {
                let app = app.clone();
                for arg in &app.args {
                    self.reach_thunk(arg);
                }
            }
        }
    }
}

/// Empties the slots of those of `frames` (made in a stretch of evaluation that has ended)
/// that nothing outside them keeps; returns how many.
pub(super) fn collect(frames: Vec<Rc<Env>>) -> usize {
    let mut walk = Walk {
        nodes: Vec::with_capacity(frames.len() * 4),
        index: FxHashMap::with_capacity_and_hasher(frames.len() * 4, Default::default()),
        seen: Vec::new(),
        targets: Vec::new(),
        first: Vec::new(),
        budget: frames.len().saturating_mul(WALK_PER_FRAME),
    };
    for frame in frames {
        walk.node(Node::Env(frame));
    }
    // Look into nodes in the order they were reached, up to the budget; those not looked
    // into keep what they refer to (their references are not counted).
    let mut next = 0;
    while next < walk.nodes.len() && next < walk.budget {
        walk.look_into(next);
        next += 1;
    }
    let looked = next;
    walk.first.push(walk.targets.len() as u32);
    // Live: held from elsewhere (more counts than the walk's own node and the references it
    // saw), or not looked into, and everything a live node refers to.
    let mut live = vec![false; walk.nodes.len()];
    let mut stack: Vec<usize> = (0..walk.nodes.len())
        .filter(|&i| i >= looked || walk.nodes[i].strong_count() > 1 + walk.seen[i] as usize)
        .collect();
    while let Some(i) = stack.pop() {
        if std::mem::replace(&mut live[i], true) {
            continue;
        }
        stack.extend(
            (walk.edges(i).iter())
                .map(|&j| j as usize)
                .filter(|&j| !live[j]),
        );
    }
    // A garbage frame's slots that are not live themselves are emptied (a slot shared with a
    // live value, a `rec` set's attribute, keeps its value: it no longer refers to the frame
    // once computed, or the frame would be live through it).
    let mut emptied = 0;
    for (i, node) in walk.nodes.iter().enumerate() {
        let Node::Env(env) = node else { continue };
        if live[i] {
            continue;
        }
        for slot in &env.slots {
            let key = Node::Thunk(slot.clone()).key();
            if walk.index.get(&key).is_some_and(|&j| !live[j as usize]) {
                slot.set(ThunkState::Blackhole);
            }
        }
        emptied += 1;
    }
    emptied
}
