//! Budgets that keep evaluation of any input finite and inside the stack: how deeply
//! evaluation may nest (calls, forcing, printing) and how many steps it may take.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Nesting depth of the evaluator's own recursion. Each level costs a few KiB of stack
    /// in a debug build; the default stays well inside `crate::STACK_SIZE`.
    pub max_depth: usize,
    /// Expressions evaluated plus functions applied.
    pub max_steps: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_depth: 10_000,
            max_steps: 2_000_000_000,
        }
    }
}
