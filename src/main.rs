use std::process::ExitCode;

use clap::Parser;

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
