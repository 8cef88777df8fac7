//! What the evaluation behind a model asked of the files (`files::Observations`: file texts,
//! directory listings, file types, by absolute path, inside the clan or outside it), kept as
//! digests of the answers, and whether a newer state of the clan answers every question the
//! same: the evaluation is a function of those answers (it is pure: no environment, no
//! clock), so when they all hold, so does the model.
//!
//! Paths inside a Nix store path are the one exception: a store path's contents never
//! change while it exists (Nix makes it read-only and names it by its inputs or content),
//! so a question answered there is trusted as long as the store path still exists, without
//! reading it again. (A symlink inside a store path that leads out of the store would
//! defeat this; store paths clans read, flake inputs, hold none.)

use std::collections::HashMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::digest::{self, Fields};
use crate::db::{Db, DirEntry, Workspace};
use crate::eval::{FileError, Files as _};
use crate::files::{ClanFiles, Observations};

/// One question and its answer's digest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Observed {
    pub kind: Kind,
    pub path: String,
    pub answer: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A file's text (imported as code or read as text).
    File,
    Listing,
    Type,
}

/// The answer kept for a question about a path inside a store path that existed.
pub const IN_STORE: &str = "in-store";

/// Digests of texts already hashed (the workspace's files), found by the text's address: the
/// evaluation is given the very texts the workspace holds, so each is hashed once. Each text
/// is kept alive with its digest, so no address is reused while this lives.
#[derive(Default)]
pub struct TextDigests(HashMap<usize, (Arc<str>, String)>);

impl TextDigests {
    /// The digest of `text`, hashed the first time it is asked for.
    pub fn of(&mut self, text: &Arc<str>) -> String {
        let key = Arc::as_ptr(text) as *const u8 as usize;
        let (_, digest) = self
            .0
            .entry(key)
            .or_insert_with(|| (Arc::clone(text), digest::of_bytes(text.as_bytes())));
        digest.clone()
    }
}

/// Every question of `observations` with its answer's digest, sorted.
pub fn record(observations: &Observations, digests: &mut TextDigests) -> Vec<Observed> {
    let mut out = Vec::new();
    for (path, answer) in observations.files() {
        let answer = match answer {
            Ok(_) if in_store(path) => IN_STORE.to_string(),
            Ok(text) => digests.of(text),
            Err(e) => error_answer(e),
        };
        out.push(observed(Kind::File, path, answer));
    }
    for (path, answer) in observations.listings() {
        let answer = match answer {
            Ok(_) if in_store(path) => IN_STORE.to_string(),
            answer => listing_answer(answer),
        };
        out.push(observed(Kind::Listing, path, answer));
    }
    for (path, answer) in observations.types() {
        let answer = match answer {
            Some(_) if in_store(path) => IN_STORE.to_string(),
            answer => format!("{answer:?}"),
        };
        out.push(observed(Kind::Type, path, answer));
    }
    out.sort_by(|a, b| (a.kind, &a.path).cmp(&(b.kind, &b.path)));
    out
}

/// Every question of `observed` that the clan loaded in `workspace` (at `root`) answers
/// differently now.
pub fn all_changed<'o>(
    observed: &'o [Observed],
    db: &dyn Db,
    root: &str,
    workspace: Workspace,
    digests: &mut TextDigests,
) -> Vec<&'o Observed> {
    let files = ClanFiles::new(db, root, workspace);
    (observed.iter())
        .filter(|o| answered_otherwise(o, db, &files, digests))
        .collect()
}

/// The first question `observed` yields that the clan loaded in `workspace` (at `root`)
/// answers differently now; `None` when every one is answered the same.
pub fn first_changed_of<'o>(
    mut observed: impl Iterator<Item = &'o Observed>,
    db: &dyn Db,
    root: &str,
    workspace: Workspace,
    digests: &mut TextDigests,
) -> Option<&'o Observed> {
    let files = ClanFiles::new(db, root, workspace);
    observed.find(|o| answered_otherwise(o, db, &files, digests))
}

/// Whether `files` answers the question `o` otherwise now.
fn answered_otherwise(
    o: &Observed,
    db: &dyn Db,
    files: &ClanFiles,
    digests: &mut TextDigests,
) -> bool {
    let now = if o.answer == IN_STORE {
        let exists = store_path(&o.path).is_some_and(|p| std::fs::symlink_metadata(p).is_ok());
        if exists { IN_STORE } else { "gone" }.to_string()
    } else {
        match o.kind {
            Kind::File => match files.source(db, &o.path) {
                Ok(file) => digests.of(file.text(db)),
                Err(e) => error_answer(&e),
            },
            Kind::Listing => listing_answer(&files.read_dir(&o.path)),
            Kind::Type => format!("{:?}", files.file_type(&o.path)),
        }
    };
    now != o.answer
}

fn observed(kind: Kind, path: &str, answer: String) -> Observed {
    Observed {
        kind,
        path: path.to_string(),
        answer,
    }
}

fn error_answer(e: &FileError) -> String {
    Fields::new("file error")
        .add(format!("{e:?}").as_bytes())
        .finish()
}

fn listing_answer(answer: &Result<Vec<DirEntry>, FileError>) -> String {
    match answer {
        Ok(entries) => {
            let mut fields = Fields::new("listing");
            for entry in entries {
                fields =
                    (fields.add(entry.name.as_bytes())).add(format!("{:?}", entry.kind).as_bytes());
            }
            fields.finish()
        }
        Err(e) => Fields::new("listing error")
            .add(format!("{e:?}").as_bytes())
            .finish(),
    }
}

/// The store path (`/nix/store/<hash>-<name>`) a path lies in, when it is written plainly
/// (no `.`, `..` or empty components).
fn store_path(path: &str) -> Option<String> {
    let rest = path.strip_prefix("/nix/store/")?;
    if !super::snapshot::is_inside(rest) {
        return None;
    }
    let name = rest.split('/').next()?;
    Some(format!("/nix/store/{name}"))
}

pub(super) fn in_store(path: &str) -> bool {
    store_path(path).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_paths_inside_a_store_path_are_trusted() {
        assert_eq!(
            store_path("/nix/store/abc-source/lib/default.nix").as_deref(),
            Some("/nix/store/abc-source")
        );
        assert_eq!(
            store_path("/nix/store/abc-source").as_deref(),
            Some("/nix/store/abc-source")
        );
        for path in [
            "/nix/store/abc-source/../../../etc/passwd",
            "/nix/store/./x",
            "/nix/store//x",
            "/nix/store/",
            "/nix/storage/x",
            "/home/ada/clan/flake.nix",
        ] {
            assert_eq!(store_path(path), None, "{path}");
        }
    }

    #[test]
    fn a_text_is_hashed_once_and_equal_texts_digest_equal() {
        let mut digests = TextDigests::default();
        let a: Arc<str> = Arc::from("{ a = 1; }");
        let b: Arc<str> = Arc::from("{ a = 1; }");
        let c: Arc<str> = Arc::from("{ a = 2; }");
        assert_eq!(digests.of(&a), digests.of(&b));
        assert_ne!(digests.of(&a), digests.of(&c));
        assert_eq!(digests.0.len(), 3);
        digests.of(&a);
        assert_eq!(digests.0.len(), 3);
    }
}
