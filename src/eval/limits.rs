//! Budgets that keep evaluation of any input finite, inside the stack and inside memory:
//! how deeply evaluation may nest (calls, forcing), how much stack it may use, how many steps
//! it may take and how many bytes of values it may build. Exceeding any of them is error
//! N005 at the expression that crossed it.

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
    /// Bytes of values built (strings' text, lists' and sets' entries), all counted as they
    /// are made, none given back: what bounds a value that doubles (`genList`, `s + s`).
    pub max_value_bytes: u64,
    /// Pure evaluation, as Nix evaluates a flake: nothing is read from the process's
    /// environment, so the result is a function of the files alone (what the model's reuse
    /// assumes). `builtins.getEnv` gives `""` as in Nix's pure mode, and a `~/...` path is
    /// unknown (Nix forbids reading it there). `clanc eval` evaluates impurely, as
    /// `nix-instantiate --eval` does.
    pub pure: bool,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_depth: 1_000_000,
            max_stack: crate::STACK_SIZE / 4 * 3,
            // Measured with a counter on the corpus of 31 public clans: the most steps one
            // analysis took was 305,038 (a generated clan of 1,000 machines: 259,435), the
            // most bytes of values 15.2 MB (17.1 MB). The budgets are 65 and 8 times that; a
            // release build spends about half a second on either.
            max_steps: 20_000_000,
            max_value_bytes: 128 << 20,
            pure: true,
        }
    }
}

impl Limits {
    /// How many more steps each machine of a clan allows ([`super::Evaluator::allow_for_machines`]).
    /// Measured (release build, a counter): a generated clan's machine takes about 600 steps
    /// and 31 KB of values, one of the user's fleet (vanixiets, clan-core's services
    /// evaluated) about 14,000 steps and 0.8 MB; the allowances are 18 and 2.6 times the
    /// larger. A machine that needs more than its allowance still has the clan's budget.
    pub const STEPS_PER_MACHINE: u64 = 250_000;
    /// How many more bytes of values each machine of a clan allows.
    pub const VALUE_BYTES_PER_MACHINE: u64 = 2 << 20;

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
