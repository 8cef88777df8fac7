//! `unknown`: a value clanc cannot know statically (the current system, fetched sources,
//! derivation outputs, search paths, ...). It remembers why and where it came from, and
//! every operation on it yields it again, so checks downstream can stay silent honestly.

use super::Pos;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unknown {
    pub reason: String,
    pub origin: Option<Pos>,
}

impl Unknown {
    pub fn new(reason: impl Into<String>, origin: Option<Pos>) -> Unknown {
        Unknown {
            reason: reason.into(),
            origin,
        }
    }
}
