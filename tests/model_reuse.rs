//! An analysis given the previous one's memo reuses its model exactly when nothing the model
//! was built from changed (what the language server does after each edit), and the result is
//! the same as a fresh analysis either way.

use std::path::Path;
use std::sync::Arc;

use clanc::analysis::{Analysis, analyse, analyse_reusing};
use clanc::db::{Database, SourceFile, Workspace};

/// `cp -a` (the fixture holds symlinks: vars recipients).
fn copy_dir(from: &Path, to: &Path) {
    let status = std::process::Command::new("cp")
        .arg("-a")
        .arg(from)
        .arg(to)
        .status()
        .unwrap();
    assert!(status.success());
}

fn file(db: &Database, workspace: Workspace, path: &str) -> SourceFile {
    *workspace
        .files(db)
        .iter()
        .find(|f| f.path(db) == path)
        .unwrap_or_else(|| panic!("{path} loaded"))
}

fn edit(db: &mut Database, file: SourceFile, from: &str, to: &str) {
    let text = file.text(db).to_string();
    assert!(text.contains(from), "`{from}` in {}", file.path(db));
    file.replace_text(db, Arc::from(text.replacen(from, to, 1)));
}

fn codes(analysis: &Analysis) -> Vec<(String, String, u32)> {
    let mut codes: Vec<_> = analysis
        .diagnostics
        .iter()
        .map(|d| {
            (
                d.code.to_string(),
                d.span.file.clone(),
                u32::from(d.span.range.start()),
            )
        })
        .collect();
    codes.sort();
    codes
}

#[test]
fn the_model_is_reused_only_while_what_it_read_is_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("clan");
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/seed-fleet"),
        &root,
    );
    // a Nix file of the repository the clan's evaluation never imports
    std::fs::create_dir_all(root.join("terraform")).unwrap();
    std::fs::write(root.join("terraform/main.nix"), "{ resource = { }; }\n").unwrap();
    let root = std::fs::canonicalize(&root).unwrap();
    let root_text = root.to_string_lossy().into_owned();
    let mut db = Database::default();
    let workspace = clanc::loader::load_clan(&mut db, &root).unwrap().workspace;

    let first = analyse(&db, &root_text, workspace, false);
    assert!(!first.model_reused);
    assert_eq!(first.clan.machines.len(), 10);

    // an edit in the unread file (here: a syntax error): the model is reused, the file's own
    // diagnostics are new, and everything equals a fresh analysis
    let terraform = file(&db, workspace, "terraform/main.nix");
    edit(&mut db, terraform, "resource = { };", "resource = ;");
    let second = analyse_reusing(&db, &root_text, workspace, false, Some(&first.memo));
    assert!(second.model_reused);
    let fresh = analyse(&db, &root_text, workspace, false);
    assert_eq!(second.clan, fresh.clan);
    assert_eq!(codes(&second), codes(&fresh));
    assert!(
        codes(&second)
            .iter()
            .any(|(code, file, _)| code == "N001" && file == "terraform/main.nix"),
        "{:?}",
        codes(&second)
    );

    // an edit in a file the model read: built again, and the change is in it
    let machines = file(&db, workspace, "modules/clan/inventory/machines.nix");
    edit(
        &mut db,
        machines,
        "root@cinnabar.example.org",
        "root@cinnabar2.example.org",
    );
    let third = analyse_reusing(&db, &root_text, workspace, false, Some(&second.memo));
    assert!(!third.model_reused);
    assert_eq!(third.clan, analyse(&db, &root_text, workspace, false).clan);
    assert_ne!(third.clan, second.clan);

    // a new machine folder (a directory listing the evaluation read): built again
    std::fs::create_dir_all(root.join("machines/newbox")).unwrap();
    std::fs::write(root.join("machines/newbox/configuration.nix"), "{ }\n").unwrap();
    assert!(clanc::loader::refresh(&mut db, &root, workspace, &|_| false).unwrap());
    let fourth = analyse_reusing(&db, &root_text, workspace, false, Some(&third.memo));
    assert!(!fourth.model_reused);
    assert!(fourth.clan.machines.contains_key("newbox"));
    assert_eq!(fourth.clan, analyse(&db, &root_text, workspace, false).clan);
}
