//! Fuzz target: parse, lower and evaluate arbitrary text under tight limits, then print the
//! result strictly. Any panic or stack overflow is a bug; errors and unknowns are fine.
#![no_main]

use clanc::db::Database;
use clanc::eval::{Evaluator, Limits, MemoryFiles, print_json};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let db = Database::default();
    let files = MemoryFiles::new().with("/fuzz/a.nix", "{ x = 1; }");
    let limits = Limits {
        max_steps: 200_000,
        // libFuzzer runs on the main thread (8 MiB by default).
        ..Limits::for_stack(4 * 1024 * 1024)
    };
    let mut ev = Evaluator::new(&db, &files, limits);
    if let Ok(value) = ev.eval_text(text, "/fuzz") {
        let _ = print_json(&mut ev, &value);
    }
});
