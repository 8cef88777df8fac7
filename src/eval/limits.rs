//! Budgets that keep evaluation of any input finite and inside the stack: how deeply
//! evaluation may nest (calls, forcing), how much stack it may use, and how many steps it
//! may take. Exceeding any of them is error N005.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Nesting depth of the evaluator's own recursion (about three levels per nested Nix
    /// function call).
    pub max_depth: usize,
    /// Bytes of stack evaluation may use, measured from where it started. Must stay below
    /// the size of the thread's stack; the default fits `crate::STACK_SIZE` with room to
    /// spare. (A debug build uses several KiB per level, a release build far less.)
    pub max_stack: usize,
    /// Expressions evaluated plus functions applied.
    pub max_steps: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_depth: 1_000_000,
            max_stack: crate::STACK_SIZE / 4 * 3,
            max_steps: 2_000_000_000,
        }
    }
}

impl Limits {
    /// The stack budget for lowering one file under the default limits (an import gets half
    /// of the evaluation's stack). The syntax check lowers with the same budget, so each
    /// file's lowering is memoised once.
    pub const DEFAULT_LOWER_BUDGET: usize = crate::STACK_SIZE / 4 * 3 / 2;

    /// How much stack lowering an imported file may use.
    pub fn lower_budget(&self) -> usize {
        self.max_stack / 2
    }

    /// Limits for a thread with a stack of `bytes` (three quarters of it for evaluation).
    pub fn for_stack(bytes: usize) -> Limits {
        Limits {
            max_stack: bytes / 4 * 3,
            ..Limits::default()
        }
    }
}
