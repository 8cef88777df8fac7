//! Edits swept over every file of the fixture clans: after each edit, an analysis reusing the
//! previous model (what the language server does) must equal a fresh analysis of the edited
//! text, whatever the model does (moved, patched, built again), and undoing the edit from
//! there must give the first analysis again. What holds the evaluator's tracking (literals
//! used and read, expressions entered) to account: anything it missed lets a stale model
//! through.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use clanc::analysis::{ModelReuse, analyse, analyse_reusing};
use clanc::db::{Database, SourceFile};

use super::{copy_dir, placed};

/// How many edits reused the model in each way.
pub type Tally = BTreeMap<String, usize>;

/// The fixture clans: the seed fleet, the mistakes, the shapes.
pub fn fixture_clans() -> Vec<PathBuf> {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let mut clans = vec![fixtures.join("seed-fleet")];
    for group in ["mistakes", "shapes"] {
        let mut dirs: Vec<_> = std::fs::read_dir(fixtures.join(group))
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.join("flake.nix").is_file())
            .collect();
        dirs.sort();
        clans.extend(dirs);
    }
    assert!(clans.len() > 30, "fixture clans: {clans:?}");
    clans
}

/// A copy of a fixture clan, loaded: its Nix files are edited in the database only.
pub struct Loaded {
    /// The copy, deleted when dropped: bind it for as long as the clan is used.
    pub dir: tempfile::TempDir,
    pub root: String,
    pub db: Database,
    pub workspace: clanc::db::Workspace,
    pub nix_files: Vec<SourceFile>,
}

impl Loaded {
    pub fn copy_of(fixture: &Path) -> Loaded {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("clan");
        copy_dir(fixture, &root);
        let root = std::fs::canonicalize(&root).unwrap();
        let mut db = Database::default();
        let workspace = clanc::loader::load_clan(&mut db, &root).unwrap().workspace;
        let nix_files = (workspace.files(&db).iter())
            .filter(|f| f.path(&db).ends_with(".nix"))
            .copied()
            .collect();
        Loaded {
            dir,
            root: root.to_string_lossy().into_owned(),
            db,
            workspace,
            nix_files,
        }
    }
}

/// Makes each edit `edits` gives for a Nix file's text (a range of it and the text to put
/// there) alone, on a copy of the clan at `fixture`, and compares.
pub fn every_edit_of(
    fixture: &Path,
    edits: impl Fn(&str) -> Vec<(rnix::TextRange, String)>,
    tally: &mut Tally,
) {
    let Loaded {
        root: root_text,
        mut db,
        workspace,
        nix_files,
        dir: _copy,
    } = Loaded::copy_of(fixture);
    let first = analyse(&db, &root_text, workspace, false);
    for file in nix_files {
        let original: Arc<str> = file.text(&db).clone();
        for (range, new) in edits(&original) {
            let text = &original[std::ops::Range::<usize>::from(range)];
            let mut changed = original.to_string();
            changed.replace_range(std::ops::Range::<usize>::from(range), &new);
            file.replace_text(&mut db, Arc::from(changed));
            let reused = analyse_reusing(&db, &root_text, workspace, false, Some(&first.memo));
            *tally
                .entry(format!("{:?}", reused.model_reused))
                .or_default() += 1;
            if reused.model_reused != ModelReuse::Built {
                let fresh = analyse(&db, &root_text, workspace, false);
                let at = format!(
                    "{}: {} {range:?} {text:?} -> {new:?}",
                    fixture.display(),
                    file.path(&db)
                );
                assert!(reused.clan == fresh.clan, "model differs after {at}");
                assert_eq!(placed(&reused), placed(&fresh), "after {at}");
                // undone, from the memo the edit left: the first analysis again
                file.replace_text(&mut db, original.clone());
                let undone = analyse_reusing(&db, &root_text, workspace, false, Some(&reused.memo));
                assert!(
                    undone.clan == first.clan,
                    "model differs after undoing {at}"
                );
                assert_eq!(placed(&undone), placed(&first), "after undoing {at}");
            }
            file.replace_text(&mut db, original.clone());
        }
    }
}
