//! What an evaluation leaves behind: the graph of thunks, values and frames, freed when this
//! is dropped. Freeing a large evaluation's millions of small objects takes a tenth of a
//! check's time, so callers choose when: the language server publishes first and frees after it
//! has let go of its database snapshot (so the next edit does not wait for it); a process about
//! to exit leaks it.
//!
//! Rc cannot free reference cycles: dropping this first clears the slots of every frame that may
//! refer to itself (`let`, `rec`, formals with defaults) and `builtins.builtins`, as the
//! evaluator's own drop does.

use std::any::Any;
use std::cell::RefCell;
use std::rc::Rc;

use super::thunk::{Env, Thunk, ThunkState};

#[must_use = "dropping it frees the evaluation now; `leak` when the process is about to exit"]
#[derive(Default)]
pub struct Garbage {
    pub(super) builtins: Option<Thunk>,
    pub(super) cyclic_envs: Vec<Rc<Env>>,
    pub(super) cyclic_thunks: Vec<Thunk>,
    pub(super) roots: Vec<Box<dyn Any>>,
}

impl Garbage {
    /// Keeps `root` (anything holding evaluation values) alive until this is dropped.
    pub fn keep(&mut self, root: impl Any) {
        self.roots.push(Box::new(root));
    }

    /// Never frees the evaluation: for a process that exits next (the OS takes it all back).
    pub fn leak(self) {
        std::mem::forget(self);
    }

    /// Keeps this until [`Garbage::free_deferred`] on this thread (or the thread's end).
    pub fn defer(self) {
        // At the thread's end the slot may be gone already: then it is freed here.
        let _ = DEFERRED.try_with(|deferred| deferred.borrow_mut().push(self));
    }

    /// Frees what this thread deferred (evaluations unwound by cancellation).
    pub fn free_deferred() {
        let deferred = DEFERRED
            .try_with(|deferred| std::mem::take(&mut *deferred.borrow_mut()))
            .unwrap_or_default();
        drop(deferred);
    }
}

thread_local! {
    static DEFERRED: RefCell<Vec<Garbage>> = const { RefCell::new(Vec::new()) };
}

impl Drop for Garbage {
    fn drop(&mut self) {
        if let Some(builtins) = &self.builtins {
            builtins.set(ThunkState::Blackhole);
        }
        for thunk in self.cyclic_thunks.drain(..) {
            thunk.set(ThunkState::Blackhole);
        }
        for env in self.cyclic_envs.drain(..) {
            for slot in &env.slots {
                slot.set(ThunkState::Blackhole);
            }
        }
        // the roots go after this, now acyclic
    }
}
