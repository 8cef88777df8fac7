//! The thread that checks the clan for the language server. One thread serves every check of
//! the server's life: a thread per check started each time with cold allocator pages and
//! thread-local state, which cost a few milliseconds per edit at 500 machines.

use std::sync::Arc;

use crossbeam_channel::{Receiver, Sender};

use crate::analysis::{ModelMemo, Snapshot};
use crate::diagnostics::Diagnostic;
use crate::model::Clan;

/// A check to run: a snapshot of the clan at one generation of the texts (with the newest
/// model the server has, reused when the edit did not change what it was built from).
pub struct CheckJob {
    pub generation: u64,
    pub snapshot: Snapshot,
}

pub struct CheckDone {
    pub generation: u64,
    /// `None` when the check was cancelled, skipped for a newer one, or failed.
    pub analysis: Option<(Vec<Diagnostic>, Arc<Clan>)>,
    /// The model and what it was built from, for the next check.
    pub memo: Option<ModelMemo>,
}

/// Starts the thread; it ends when the returned sender is dropped.
pub fn start(results: Sender<CheckDone>) -> std::io::Result<Sender<CheckJob>> {
    let (jobs, queue) = crossbeam_channel::unbounded::<CheckJob>();
    // Evaluation's limits assume clanc's deep stack (deeply nested user code must end in
    // N005, not overflow a thread's default 2 MiB).
    std::thread::Builder::new()
        .name("clanc-check".into())
        .stack_size(crate::STACK_SIZE)
        .spawn(move || serve(&queue, &results))?;
    Ok(jobs)
}

fn serve(queue: &Receiver<CheckJob>, results: &Sender<CheckDone>) {
    while let Ok(mut job) = queue.recv() {
        // Only the newest text is worth checking; an older job's snapshot is let go of at
        // once (the server's next write waits for every snapshot).
        while let Ok(newer) = queue.try_recv() {
            let skipped = std::mem::replace(&mut job, newer);
            let _ = results.send(CheckDone {
                generation: skipped.generation,
                analysis: None,
                memo: None,
            });
        }
        run(job, results);
    }
}

fn run(job: CheckJob, results: &Sender<CheckDone>) {
    let CheckJob {
        generation,
        snapshot,
    } = job;
    // A newer edit unwinds the check with `Cancelled`; any other panic is a bug, which must
    // not leave requests waiting forever: both end as "no result".
    let analysis = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        salsa::Cancelled::catch(|| snapshot.check(false)).ok()
    }))
    .ok()
    .flatten();
    let (analysis, memo, garbage) = match analysis {
        Some(a) => (Some((a.diagnostics, a.clan)), Some(a.memo), Some(a.garbage)),
        None => (None, None, None),
    };
    let _ = results.send(CheckDone {
        generation,
        analysis,
        memo,
    });
    // Published first; the evaluation (or, when cancelled, what it left) is freed after the
    // snapshot is let go of, so that neither delays the next edit.
    drop(snapshot);
    drop(garbage);
    crate::eval::Garbage::free_deferred();
}
