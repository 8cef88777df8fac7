//! The evaluator's budgets: steps and bytes of values built (N005, given anew a few times),
//! depth and stack of its recursion, and giving way to a newer revision of the database.

use super::Evaluator;
use crate::eval::error::{ErrorKind, EvalError, EvalResult};
use crate::eval::{Limits, Pos};

/// How many times one evaluation gets its step and value budgets anew after exhausting them.
const MAX_EXHAUSTIONS: u32 = 3;

impl Evaluator<'_> {
    #[inline]
    pub(super) fn tick(&mut self, pos: Option<Pos>) -> EvalResult<()> {
        self.steps += 1;
        self.unwind_if_cancelled();
        self.within_budget(pos)
    }

    /// N005 once the steps or the bytes of values built pass their budgets: those of the
    /// stretch of evaluation going on (the flake's, or one machine's: [`Self::begin_machine`])
    /// or those of the whole clan. The expression that crossed a budget fails with it, and what
    /// is evaluated after it (the rest of the clan) gets the budgets anew,
    /// [`MAX_EXHAUSTIONS`] times: a clan with one runaway value is still checked, and no clan
    /// takes more than that many budgets beyond its own.
    fn within_budget(&mut self, pos: Option<Pos>) -> EvalResult<()> {
        let over_steps = if self.steps > self.limits.max_steps {
            Some(self.limits.max_steps)
        } else {
            Some(self.budget.max_steps).filter(|&max| self.steps() > max)
        };
        let error = if let Some(max) = over_steps {
            EvalError::new(
                ErrorKind::Limit,
                format!("evaluation exceeded the step budget of {max}"),
                pos,
            )
        } else if !self.can_build(0) {
            self.value_budget_exceeded(pos)
        } else {
            return Ok(());
        };
        if self.exhausted < MAX_EXHAUSTIONS {
            self.exhausted += 1;
            let steps = self.steps();
            let budget = &mut self.budget;
            budget.max_steps = (budget.max_steps).max(steps + self.limits.max_steps);
            budget.max_value_bytes =
                (budget.max_value_bytes).max(budget.value_bytes() + self.limits.max_value_bytes);
            self.end_stretch();
        }
        Err(error)
    }

    /// Starts a new stretch's step and value counts (the clan's go on).
    fn end_stretch(&mut self) {
        self.budget.ended_steps += self.steps;
        self.steps = 0;
        self.built_base = crate::eval::value::bytes_built();
    }

    /// Widens the clan's step and value budgets for `machines` more machines to evaluate:
    /// each machine's configuration is evaluated on top of the flake's, so the work of a sound
    /// clan grows with its machines, and one budget for the whole clan ended a large one's
    /// evaluation with N005 (10,000 generated machines build about 2.3 times it). Each
    /// stretch of evaluation keeps the budget it had, so a runaway value takes no more memory
    /// than before; what a whole clan may cost stays bounded by what it declares.
    pub fn allow_for_machines(&mut self, machines: usize) {
        let machines = machines as u64;
        let budget = &mut self.budget;
        budget.max_steps =
            (budget.max_steps).saturating_add(machines.saturating_mul(Limits::STEPS_PER_MACHINE));
        budget.max_value_bytes = (budget.max_value_bytes)
            .saturating_add(machines.saturating_mul(Limits::VALUE_BYTES_PER_MACHINE));
    }

    /// Starts one machine's stretch of evaluation (reading its inventory entry, evaluating
    /// its configuration): the stretch gets the step and value budgets of [`Limits`] anew,
    /// within the clan's ([`Self::allow_for_machines`]). Once the budgets were exhausted
    /// [`MAX_EXHAUSTIONS`] times they are not given anew.
    pub fn begin_machine(&mut self) {
        self.stretch_start = self.cyclic_envs.len();
        if self.exhausted < MAX_EXHAUSTIONS {
            self.end_stretch();
        }
    }

    /// Steps taken so far.
    pub fn steps(&self) -> u64 {
        self.budget.ended_steps + self.steps
    }

    /// Bytes of values built so far in this stretch of evaluation.
    pub fn value_bytes(&self) -> u64 {
        crate::eval::value::bytes_built().saturating_sub(self.built_base)
    }

    /// N005 for a value that would take the values built past their budget.
    pub(in crate::eval) fn value_budget_exceeded(&self, pos: Option<Pos>) -> Box<EvalError> {
        let max = match self.value_bytes() > self.limits.max_value_bytes {
            true => self.limits.max_value_bytes,
            false => self.budget.max_value_bytes,
        };
        EvalError::new(
            ErrorKind::Limit,
            format!(
                "evaluation built more than {} MiB of values (strings, lists and sets), its budget",
                max >> 20
            ),
            pos,
        )
    }

    /// Whether `bytes` more of values stay within the budgets (checked before building a
    /// value whose size is known in advance).
    pub(in crate::eval) fn can_build(&self, bytes: u64) -> bool {
        self.value_bytes().saturating_add(bytes) <= self.limits.max_value_bytes
            && self.budget.value_bytes().saturating_add(bytes) <= self.budget.max_value_bytes
    }

    /// Every few thousand steps, gives way to a newer revision of the database (an edit in the
    /// language server): salsa unwinds the evaluation with `Cancelled`, as it does on any
    /// query. Evaluation calls few queries once the files are lowered, so without this an
    /// edit would wait for most of a check to finish.
    fn unwind_if_cancelled(&self) {
        if self.steps.is_multiple_of(4096) {
            self.db.unwind_if_revision_cancelled();
        }
    }

    /// Counts one level of recursion of code outside this file (the printer); pair with
    /// `leave`.
    pub(in crate::eval) fn enter_nested(&mut self, pos: Option<Pos>) -> EvalResult<()> {
        self.enter(pos)
    }

    pub(in crate::eval) fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    #[inline]
    pub(super) fn enter(&mut self, pos: Option<Pos>) -> EvalResult<()> {
        // The stack grows down on every platform clanc runs on: measure how much of it this
        // evaluation has used, so that no input can overflow it, whatever the frame sizes.
        let marker = 0u8;
        let here = std::ptr::addr_of!(marker) as usize;
        if self.depth == 0 {
            self.stack_base = here;
        }
        if self.stack_base.saturating_sub(here) > self.limits.max_stack {
            return Err(EvalError::new(
                ErrorKind::Limit,
                "stack overflow (possible infinite recursion)",
                pos,
            ));
        }
        self.steps += 1;
        self.unwind_if_cancelled();
        self.within_budget(pos)?;
        if self.depth >= self.limits.max_depth {
            return Err(EvalError::new(
                ErrorKind::Limit,
                format!(
                    "evaluation nested deeper than the limit of {} (stack overflow, possible infinite recursion)",
                    self.limits.max_depth
                ),
                pos,
            ));
        }
        self.depth += 1;
        Ok(())
    }

    /// Stack the evaluation has used so far.
    pub(super) fn stack_used(&self) -> usize {
        let marker = 0u8;
        let here = std::ptr::addr_of!(marker) as usize;
        if self.depth == 0 {
            0
        } else {
            self.stack_base.saturating_sub(here)
        }
    }
}

/// The budgets of a whole clan's evaluation: the steps of the stretches that ended (the
/// current one's are `Evaluator::steps`), the bytes of values built since the evaluator
/// started, and how far they may go.
#[derive(Debug)]
pub(super) struct ClanBudget {
    ended_steps: u64,
    built_base: u64,
    max_steps: u64,
    max_value_bytes: u64,
}

impl ClanBudget {
    pub(super) fn new(limits: &Limits) -> ClanBudget {
        ClanBudget {
            ended_steps: 0,
            built_base: crate::eval::value::bytes_built(),
            max_steps: limits.max_steps,
            max_value_bytes: limits.max_value_bytes,
        }
    }

    fn value_bytes(&self) -> u64 {
        crate::eval::value::bytes_built().saturating_sub(self.built_base)
    }
}
