//! The two terminal facilities `vars generate` needs from the C library: reading a prompt
//! answer without echo (termios) and turning Ctrl-C into a flag (sigaction), so a running
//! generator is killed and its temporary directory removed instead of the process dying with
//! it. `libc` is already in the dependency tree; a crate such as `rpassword` would cover only
//! the single-line hidden read, not multi-line hidden input or the signal.

use std::io::{BufRead, Write};
use std::sync::atomic::{AtomicBool, Ordering};

/// Set by the SIGINT handler.
pub static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_interrupt(_: libc::c_int) {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// From now on Ctrl-C sets `INTERRUPTED` instead of ending the process.
pub fn catch_interrupts() {
    // SAFETY: installs a handler that only stores to an atomic (async-signal-safe); the
    // sigaction struct is zero-initialised and fully set before use.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = on_interrupt as extern "C" fn(libc::c_int) as libc::sighandler_t;
        libc::sigemptyset(&mut action.sa_mask);
        libc::sigaction(libc::SIGINT, &action, std::ptr::null_mut());
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
    let stdin = std::io::stdin();
    let mut answer = zeroize::Zeroizing::new(String::new());
    if multiline {
        let mut lock = stdin.lock();
        loop {
            let mut line = zeroize::Zeroizing::new(String::new());
            if lock.read_line(&mut line)? == 0 {
                break;
            }
            answer.push_str(&line);
        }
    } else {
        stdin.lock().read_line(&mut answer)?;
        if answer.ends_with('\n') {
            answer.pop();
            if answer.ends_with('\r') {
                answer.pop();
            }
        }
    }
    Ok(answer)
}
