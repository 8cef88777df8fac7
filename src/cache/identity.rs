//! Which clanc wrote an entry, and with which options: an entry answers only the same binary
//! (another build may check differently) asked the same question.

use serde::{Deserialize, Serialize};

/// The binary and the options that change what a check reports. Options that only change
/// how it is printed (`--format`, `--deny-warnings`, colour) are not part of it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// The crate's version.
    pub version: String,
    /// The running executable's path, size and modification time (nanoseconds since the
    /// epoch): a rebuild in place changes at least the time; a build installed with Nix has
    /// the store's fixed time (1 s after the epoch) but a path of its own.
    pub exe: String,
    pub exe_size: u64,
    pub exe_mtime_ns: u64,
    /// `--explain-unknown` (N000 notes).
    pub explain_unknown: bool,
}

impl Identity {
    /// The running binary's identity with these options; `None` when the executable cannot
    /// be found or stated (then nothing is cached: an entry could not be told apart).
    pub fn current(explain_unknown: bool) -> Option<Identity> {
        let exe = std::env::current_exe().ok()?;
        let meta = std::fs::metadata(&exe).ok()?;
        let mtime = meta.modified().ok()?;
        let since = mtime.duration_since(std::time::UNIX_EPOCH).ok()?;
        Some(Identity {
            version: env!("CARGO_PKG_VERSION").to_string(),
            exe: exe.to_string_lossy().into_owned(),
            exe_size: meta.len(),
            exe_mtime_ns: u64::try_from(since.as_nanos()).ok()?,
            explain_unknown,
        })
    }

    /// A made-up identity, for tests of what the cache keeps.
    #[cfg(test)]
    pub fn example() -> Identity {
        Identity {
            version: "1".into(),
            exe: "/bin/clanc".into(),
            exe_size: 10,
            exe_mtime_ns: 20,
            explain_unknown: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_running_binary_has_an_identity_and_options_are_part_of_it() {
        let plain = Identity::current(false).expect("the test binary can be stated");
        assert!(plain.exe_size > 0);
        assert_eq!(Identity::current(false).as_ref(), Some(&plain));
        assert_ne!(Identity::current(true).as_ref(), Some(&plain));
    }
}
