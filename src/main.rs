use std::process::ExitCode;

use clap::Parser;

/// Evaluation allocates many small, short-lived values (thunks, frames, attribute sets);
/// mimalloc handles that churn at about half the cost of glibc's allocator (measured on
/// `clanc check` of a generated 500-machine clan: see docs/performance.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = clanc::cli::Cli::parse();
    // Deeply nested user code needs a deeper stack than the main thread's.
    let worker = std::thread::Builder::new()
        .name("clanc".to_string())
        .stack_size(clanc::STACK_SIZE)
        .spawn(move || clanc::cli::run(cli));
    match worker.map(|handle| handle.join()) {
        Ok(Ok(code)) => code,
        Ok(Err(_)) => ExitCode::from(101),
        Err(e) => {
            eprintln!("error: cannot start the worker thread: {e}");
            ExitCode::from(2)
        }
    }
}
