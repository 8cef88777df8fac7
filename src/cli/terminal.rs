//! The two terminal facilities `vars generate` needs from the C library: reading a prompt
//! answer without echo (termios) and turning the signals that end a process from outside
//! (Ctrl-C's SIGINT, `kill`'s SIGTERM, a closed terminal's SIGHUP) into a flag (sigaction), so
//! a running generator is killed and its temporary directory of plaintext removed instead of
//! the process dying with it. `libc` is already in the dependency tree; a crate such as
//! `rpassword` would cover only the single-line hidden read, not multi-line hidden input or the
//! signals.

use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

/// Set by the signal handler.
pub static INTERRUPTED: AtomicBool = AtomicBool::new(false);
/// The first signal caught (0: none).
static SIGNAL: AtomicI32 = AtomicI32::new(0);

/// The signals caught: each would otherwise end the process at once.
const CAUGHT: [libc::c_int; 3] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP];

extern "C" fn on_interrupt(signal: libc::c_int) {
    let _ = SIGNAL.compare_exchange(0, signal, Ordering::SeqCst, Ordering::SeqCst);
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// From now on SIGINT, SIGTERM and SIGHUP set `INTERRUPTED` instead of ending the process.
/// Installed without `SA_RESTART`: a blocking read or lock wait returns `EINTR`, so the code
/// waiting sees the flag.
pub fn catch_interrupts() {
    for signal in CAUGHT {
        // SAFETY: installs a handler that only stores to atomics (async-signal-safe); the
        // sigaction struct is zero-initialised and fully set before use.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_interrupt as extern "C" fn(libc::c_int) as libc::sighandler_t;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(signal, &action, std::ptr::null_mut());
        }
    }
}

/// The signal that set `INTERRUPTED`, if one did.
pub fn caught_signal() -> Option<libc::c_int> {
    match SIGNAL.load(Ordering::SeqCst) {
        0 => None,
        signal => Some(signal),
    }
}

/// The exit status after stopping for `signal`: 128 + its number, as shells report it.
pub fn exit_status(signal: libc::c_int) -> u8 {
    u8::try_from(128 + signal).unwrap_or(130)
}

/// `SIGINT`, `SIGTERM`, `SIGHUP` by name.
pub fn signal_name(signal: libc::c_int) -> &'static str {
    match signal {
        libc::SIGINT => "SIGINT",
        libc::SIGTERM => "SIGTERM",
        libc::SIGHUP => "SIGHUP",
        _ => "a signal",
    }
}

/// Echo off on stdin until dropped.
struct NoEcho {
    saved: libc::termios,
}

impl NoEcho {
    fn new() -> Option<NoEcho> {
        // SAFETY: tcgetattr/tcsetattr on fd 0 with a termios value owned here.
        unsafe {
            let mut saved: libc::termios = std::mem::zeroed();
            if libc::tcgetattr(libc::STDIN_FILENO, &mut saved) != 0 {
                return None;
            }
            let mut quiet = saved;
            quiet.c_lflag &= !libc::ECHO;
            quiet.c_lflag |= libc::ECHONL;
            if libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &quiet) != 0 {
                return None;
            }
            Some(NoEcho { saved })
        }
    }
}

impl Drop for NoEcho {
    fn drop(&mut self) {
        // SAFETY: restores the settings read in `new`.
        unsafe {
            libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &self.saved);
        }
    }
}

/// Asks on stderr and reads the answer from stdin: one line, or up to end of input (Ctrl-D)
/// when `multiline`; without echo when `hidden`. The trailing newline of a line is dropped.
pub fn ask(
    question: &str,
    hidden: bool,
    multiline: bool,
) -> std::io::Result<zeroize::Zeroizing<String>> {
    let mut err = std::io::stderr().lock();
    if multiline {
        writeln!(err, "{question} (end with Ctrl-D):")?;
    } else {
        write!(err, "{question}: ")?;
    }
    err.flush()?;
    drop(err);
    let _quiet = if hidden { NoEcho::new() } else { None };
    read_answer(multiline)
}

/// Reads stdin up to a newline (dropped, with a `\r` before it) or, when `multiline`, to end
/// of input. Byte by byte on the descriptor itself (no buffer keeps a copy of the answer),
/// and a caught signal ends the read.
fn read_answer(multiline: bool) -> std::io::Result<zeroize::Zeroizing<String>> {
    let mut bytes = zeroize::Zeroizing::new(Vec::with_capacity(4096));
    let mut byte = zeroize::Zeroizing::new([0u8; 1]);
    loop {
        if INTERRUPTED.load(Ordering::SeqCst) {
            return Err(std::io::Error::new(
                std::io::ErrorKind::Interrupted,
                "interrupted",
            ));
        }
        // SAFETY: reads at most one byte into a buffer of one byte.
        let n = unsafe { libc::read(libc::STDIN_FILENO, byte.as_mut_ptr().cast(), 1) };
        if n < 0 {
            let error = std::io::Error::last_os_error();
            if error.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return Err(error);
        }
        if n == 0 || (!multiline && byte[0] == b'\n') {
            break;
        }
        bytes.push(byte[0]);
    }
    if !multiline && bytes.last() == Some(&b'\r') {
        bytes.pop();
    }
    let text = String::from_utf8(std::mem::take(&mut *bytes)).map_err(|e| {
        let mut bad = e.into_bytes();
        zeroize::Zeroize::zeroize(&mut bad);
        std::io::Error::new(std::io::ErrorKind::InvalidData, "the answer is not UTF-8")
    })?;
    Ok(zeroize::Zeroizing::new(text))
}
