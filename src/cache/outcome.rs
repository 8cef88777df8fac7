//! What became of a check's entry: whether it answered (and how many files were checked
//! again) or why not, and whether it was written (`clanc check --cache-stats` prints it).

use std::fmt;

/// Whether the entry answered, and what became of it (`clanc check --cache-stats`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The entry's model held; `rechecked` of `files` files were checked again. `stated`:
    /// answered without loading the clan, by the state of its paths.
    Hit {
        rechecked: usize,
        files: usize,
        stated: Option<ByState>,
        stored: Stored,
        /// How many files the evaluation imported as code were edited in ways that left the
        /// model as it was (comments, whitespace, code it never entered).
        edited: usize,
    },
    /// The whole analysis ran, for the reason given. `lowered`: with the files as the last
    /// check lowered them, how many Nix files were taken from there and how many lowered.
    Miss {
        why: String,
        stored: Stored,
        lowered: Option<(usize, usize)>,
    },
}

/// A hit answered by the state of the clan's paths: how many were stated, how many files of
/// them were read again (they stated otherwise).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ByState {
    pub paths: usize,
    pub read: usize,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stored {
    Unchanged,
    Written,
    /// Not written, for the reason given.
    NotWritten(String),
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let stored = match self {
            Outcome::Hit {
                rechecked,
                files,
                stored,
                edited,
                ..
            } => {
                write!(f, "hit, {rechecked} of {files} files checked again")?;
                if *edited > 0 {
                    write!(
                        f,
                        " ({edited} read by the evaluation, edited where it leaves the model as it was)"
                    )?;
                }
                stored
            }
            Outcome::Miss { why, stored, .. } => {
                write!(f, "miss ({why})")?;
                stored
            }
        };
        match stored {
            Stored::Unchanged => write!(f, ", entry unchanged")?,
            Stored::Written => write!(f, ", entry written")?,
            Stored::NotWritten(why) => write!(f, ", entry not written ({why})")?,
        }
        match self {
            Outcome::Hit {
                stated: Some(ByState { paths, read }),
                ..
            } => write!(
                f,
                "; answered by state: {paths} paths stated, {read} read again"
            ),
            Outcome::Miss {
                lowered: Some((taken, lowered)),
                ..
            } => write!(
                f,
                "; {taken} Nix files taken lowered from the cache, {lowered} lowered"
            ),
            Outcome::Miss { lowered: None, .. } => write!(f, "; no lowered files in the cache"),
            Outcome::Hit { .. } => Ok(()),
        }
    }
}
