//! Ctrl-C during a run: the first SIGINT asks the runner to start nothing new and let the
//! running activations finish; the second aborts (running steps are killed). The steps'
//! processes run in their own process groups (see `process`), so a terminal's Ctrl-C reaches
//! clanc only and clanc decides what stops.

use tokio::sync::watch;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Interrupt {
    None,
    /// One Ctrl-C: finish what must finish, start nothing.
    Stop,
    /// Two: kill everything running.
    Abort,
}

/// Listens for SIGINT on the current runtime; the receiver sees `Stop`, then `Abort`.
/// Err: the signal handler could not be installed.
pub fn listen() -> std::io::Result<watch::Receiver<Interrupt>> {
    let mut signals = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?;
    let (tx, rx) = watch::channel(Interrupt::None);
    tokio::spawn(async move {
        for next in [Interrupt::Stop, Interrupt::Abort] {
            if signals.recv().await.is_none() {
                return;
            }
            if tx.send(next).is_err() {
                return;
            }
        }
        // Further Ctrl-Cs change nothing: the abort is under way.
        while signals.recv().await.is_some() {}
    });
    Ok(rx)
}
