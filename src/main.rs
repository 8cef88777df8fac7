use std::process::ExitCode;

use clap::Parser;

/// Evaluation allocates many small, short-lived values (thunks, frames, attribute sets);
/// mimalloc handles that churn at about half the cost of glibc's allocator (measured on
/// `clanc check` of a generated 500-machine clan: see docs/performance.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `mi_option_arena_eager_commit` (index 4 of `mi_option_t` in mimalloc 2 and 3).
#[cfg(target_os = "linux")]
const ARENA_EAGER_COMMIT: libmimalloc_sys::mi_option_t = 4;

/// Commits the allocator's arena as it is used, not all at once: committed at once, the
/// kernel backs it with transparent huge pages and zeroes 2 MiB at each first touch. On
/// demand the peak is a quarter lower (vanixiets 44 -> 32 MB) and no check is slower (see
/// docs/performance.md, session 19). It must run before the first arena is reserved, which
/// happens before `main` (set in `main`, it left the peak as it was): so it runs as an ELF
/// initializer, as mimalloc's own setup does.
#[cfg(target_os = "linux")]
extern "C" fn commit_arena_on_demand() {
    // SAFETY: sets one of mimalloc's option values; no memory is touched.
    unsafe { libmimalloc_sys::mi_option_set(ARENA_EAGER_COMMIT, 0) };
}

#[cfg(target_os = "linux")]
#[used]
#[unsafe(link_section = ".init_array")]
static COMMIT_ARENA_ON_DEMAND: extern "C" fn() = commit_arena_on_demand;

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
