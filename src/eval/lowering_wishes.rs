//! Files an evaluation is about to import, for the threads that lower files beside it
//! (`analysis::lowering_files_alongside`) to take before the rest of their list.
//!
//! The module system collects `imports` breadth first: once it has read a module's imports
//! it knows every file it will import next, long before it gets to them. Without a hint the
//! threads beside it lower files in the workspace's order, many of which the evaluation reads
//! late or never, while the evaluation lowers the files it needs itself. A wish only orders
//! work: lowering is a salsa query, computed once whoever asks first (a thread asking for a
//! file another is lowering waits for it).

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use crate::db::SourceFile;

/// The files wished for while threads lower beside an evaluation. Shared by every handle of
/// one database; empty and ignoring wishes while no such thread runs.
#[derive(Debug, Default)]
pub struct LoweringWishes {
    state: Mutex<Wishes>,
}

#[derive(Debug, Default)]
struct Wishes {
    /// How many lowering threads run (wishes are kept only while one does).
    takers: usize,
    /// Wished and not yet taken, in the order wished.
    pending: Vec<SourceFile>,
    /// Every file wished since the first taker came: a module imported by every machine is
    /// wished once.
    seen: HashSet<SourceFile>,
}

impl LoweringWishes {
    /// Asks the lowering threads, if any run, to lower `file` soon.
    pub fn wish(&self, file: SourceFile) {
        if let Ok(mut wishes) = self.state.lock()
            && wishes.takers > 0
            && wishes.seen.insert(file)
        {
            wishes.pending.push(file);
        }
    }

    /// The latest wish not yet taken. The evaluation imports its wishes in the order it made
    /// them, so the latest is the one it will get to last: taking from that end keeps the
    /// lowering threads out of the evaluation's way.
    pub fn take(&self) -> Option<SourceFile> {
        self.state.lock().ok()?.pending.pop()
    }

    /// Marks a lowering thread as running until the returned guard is dropped; when the last
    /// one ends, what was wished is forgotten.
    pub fn taker(self: &Arc<Self>) -> Taker {
        if let Ok(mut wishes) = self.state.lock() {
            wishes.takers += 1;
        }
        Taker {
            wishes: Arc::clone(self),
        }
    }
}

/// A running lowering thread (see [`LoweringWishes::taker`]).
pub struct Taker {
    wishes: Arc<LoweringWishes>,
}

impl Drop for Taker {
    fn drop(&mut self) {
        if let Ok(mut wishes) = self.wishes.state.lock() {
            wishes.takers = wishes.takers.saturating_sub(1);
            if wishes.takers == 0 {
                wishes.pending = Vec::new();
                wishes.seen = HashSet::new();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Database;

    fn files(db: &Database, names: &[&str]) -> Vec<SourceFile> {
        (names.iter())
            .map(|n| SourceFile::create(db, n.to_string(), Arc::from("{ }")))
            .collect()
    }

    #[test]
    fn wishes_are_kept_only_while_a_taker_runs_and_taken_latest_first() {
        let db = Database::default();
        let [a, b, c] = files(&db, &["a.nix", "b.nix", "c.nix"])[..] else {
            unreachable!()
        };
        let wishes = Arc::new(LoweringWishes::default());
        wishes.wish(a);
        assert_eq!(wishes.take(), None, "no taker: nothing kept");

        let taker = wishes.taker();
        for file in [a, b, a, c, b] {
            wishes.wish(file);
        }
        // Each file once, the latest first.
        assert_eq!(wishes.take(), Some(c));
        assert_eq!(wishes.take(), Some(b));
        assert_eq!(wishes.take(), Some(a));
        assert_eq!(wishes.take(), None);
        // Taken once is wished once, while the takers run.
        wishes.wish(a);
        assert_eq!(wishes.take(), None);

        // The last taker gone, what was wished is forgotten: a later run starts afresh.
        wishes.wish(b);
        let second = wishes.taker();
        drop(taker);
        wishes.wish(c);
        drop(second);
        assert_eq!(wishes.take(), None);
        let _third = wishes.taker();
        wishes.wish(a);
        assert_eq!(wishes.take(), Some(a));
    }
}
