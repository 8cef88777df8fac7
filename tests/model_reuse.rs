//! An analysis given the previous one's memo reuses its model exactly when nothing the model
//! was built from changed (what the language server does after each edit), moves its spans
//! when only comments, whitespace, literals the evaluation never used or code it never
//! entered changed, and the
//! result is the same as a fresh analysis either way.

mod common;

use std::path::Path;
use std::sync::Arc;

use clanc::analysis::{Analysis, ModelMemo, ModelReuse, analyse, analyse_reusing};
use clanc::db::{Database, SourceFile, Workspace};
use clanc::model::Known;
use common::{copy_dir, placed};

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
                d.span.file.to_string(),
                u32::from(d.span.range.start()),
            )
        })
        .collect();
    codes.sort();
    codes
}

/// Replaces the first `from` in the file at `path` below `root` by `to`.
fn rewrite(root: &Path, path: &str, from: &str, to: &str) {
    let path = root.join(path);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(from), "`{from}` in {}", path.display());
    std::fs::write(path, text.replacen(from, to, 1)).unwrap();
}

/// The seed fleet copied to a temporary directory, with `change` applied to it, loaded.
fn seed_fleet(change: impl FnOnce(&Path)) -> (tempfile::TempDir, String, Database, Workspace) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("clan");
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/seed-fleet"),
        &root,
    );
    change(&root);
    let root = std::fs::canonicalize(&root).unwrap();
    let root_text = root.to_string_lossy().into_owned();
    let mut db = Database::default();
    let workspace = clanc::loader::load_clan(&mut db, &root).unwrap().workspace;
    (dir, root_text, db, workspace)
}

const ZEROTIER: &str = "modules/clan/inventory/services/zerotier.nix";

/// Makes an edit and analyses as the language server does (given the previous memo, which
/// then moves on): the model must come from `reuse` (when given) and equal a fresh analysis,
/// spans and diagnostics included.
#[allow(clippy::too_many_arguments)]
fn edit_and_compare(
    db: &mut Database,
    root: &str,
    workspace: Workspace,
    memo: &mut ModelMemo,
    file: SourceFile,
    from: &str,
    to: &str,
    reuse: impl Into<Option<ModelReuse>>,
) -> Analysis {
    edit(db, file, from, to);
    let after = analyse_reusing(db, root, workspace, false, Some(memo));
    if let Some(reuse) = reuse.into() {
        assert_eq!(after.model_reused, reuse, "after {to:?}");
    }
    let fresh = analyse(db, root, workspace, false);
    assert_eq!(after.clan, fresh.clan, "after {to:?}");
    assert_eq!(placed(&after), placed(&fresh), "after {to:?}");
    *memo = after.memo.clone();
    after
}

#[test]
fn comments_and_whitespace_move_the_model_instead_of_building_it() {
    // a role naming a machine nothing defines: a diagnostic in the file that is edited
    let (_dir, root, mut db, workspace) = seed_fleet(|root| {
        rewrite(
            root,
            ZEROTIER,
            "roles.peer.tags.\"peer\" = { };",
            "roles.peer.tags.\"peer\" = { };\n    roles.peer.machines.\"nosuchbox\" = { };",
        )
    });
    let first = analyse(&db, &root, workspace, false);
    assert!(
        placed(&first).iter().any(|d| d.contains(ZEROTIER)),
        "the fixture has a diagnostic in {ZEROTIER}: {:#?}",
        placed(&first)
    );
    let zerotier = file(&db, workspace, ZEROTIER);
    let mut memo = first.memo.clone();
    let mut before = first;
    // a comment line above everything, a longer comment, reindented code, a trailing comment
    for (from, to) in [
        ("{\n", "# zerotier: one controller, the peers\n{\n"),
        (
            "# NixOS machines tagged \"peer\" join the network",
            "# NixOS machines tagged \"peer\" join the network (all of them)",
        ),
        ("    module = {", "  module   =\n      {"),
        (
            "input = \"clan-core\";",
            "input = \"clan-core\"; # pinned by flake.lock",
        ),
    ] {
        edit(&mut db, zerotier, from, to);
        let moved = analyse_reusing(&db, &root, workspace, false, Some(&memo));
        assert_eq!(moved.model_reused, ModelReuse::Moved, "after {to:?}");
        let fresh = analyse(&db, &root, workspace, false);
        assert_eq!(moved.clan, fresh.clan, "after {to:?}");
        assert_eq!(placed(&moved), placed(&fresh), "after {to:?}");
        assert_ne!(
            placed(&moved),
            placed(&before),
            "the spans moved after {to:?}"
        );
        memo = moved.memo.clone();
        before = moved;
    }
    // a change that is not trivia: built again
    edit(&mut db, zerotier, "\"nosuchbox\"", "\"nosuchbox2\"");
    let built = analyse_reusing(&db, &root, workspace, false, Some(&memo));
    assert_eq!(built.model_reused, ModelReuse::Built);
    assert_eq!(
        placed(&built),
        placed(&analyse(&db, &root, workspace, false))
    );
}

/// The seed fleet with cinnabar's description written as `description` (a Nix expression),
/// and `change` applied too.
fn seed_with_description(
    description: &str,
    change: impl FnOnce(&Path),
) -> (tempfile::TempDir, String, Database, Workspace) {
    seed_fleet(|root| {
        rewrite(
            root,
            "modules/clan/inventory/machines.nix",
            "description = \"Hetzner VPS, zerotier controller, public ingress\";",
            &format!("description = {description};"),
        );
        change(root);
    })
}

fn cinnabar_description(analysis: &Analysis) -> Option<Known<String>> {
    analysis.clan.machines["cinnabar"]
        .description
        .as_ref()
        .map(|d| d.value.clone())
}

fn known(text: &str) -> Option<Known<String>> {
    Some(Known::Known(text.to_string()))
}

#[test]
fn positions_that_became_values_stop_the_model_from_moving() {
    // `__curPos` makes a line number part of a machine's description
    let (_dir, root, mut db, workspace) =
        seed_with_description("\"written on line ${toString __curPos.line}\"", |_| {});
    let first = analyse(&db, &root, workspace, false);
    assert_eq!(cinnabar_description(&first), known("written on line 4"));
    let machines = file(&db, workspace, "modules/clan/inventory/machines.nix");
    edit(
        &mut db,
        machines,
        "{\n",
        "# two comment lines\n# above\n{\n",
    );
    let second = analyse_reusing(&db, &root, workspace, false, Some(&first.memo));
    assert_eq!(second.model_reused, ModelReuse::Built);
    assert_eq!(cinnabar_description(&second), known("written on line 6"));
}

#[test]
fn files_read_as_text_are_never_trivia() {
    // a file the clan reads with `builtins.readFile`: its comments are part of a value
    let (_dir, root, mut db, workspace) =
        seed_with_description("builtins.readFile ../../../motd.nix", |root| {
            std::fs::write(root.join("motd.nix"), "# hello\n{ }\n").unwrap();
        });
    let first = analyse(&db, &root, workspace, false);
    assert_eq!(cinnabar_description(&first), known("# hello\n{ }\n"));
    let motd = file(&db, workspace, "motd.nix");
    edit(&mut db, motd, "# hello", "# hello, world");
    let second = analyse_reusing(&db, &root, workspace, false, Some(&first.memo));
    assert_eq!(second.model_reused, ModelReuse::Built);
    assert_eq!(
        cinnabar_description(&second),
        known("# hello, world\n{ }\n")
    );
}

#[test]
fn the_model_is_reused_only_while_what_it_read_is_unchanged() {
    let (_dir, root_text, mut db, workspace) = seed_fleet(|root| {
        // a Nix file of the repository the clan's evaluation never imports
        std::fs::create_dir_all(root.join("terraform")).unwrap();
        std::fs::write(root.join("terraform/main.nix"), "{ resource = { }; }\n").unwrap();
    });
    let root = Path::new(&root_text);

    let first = analyse(&db, &root_text, workspace, false);
    assert_eq!(first.model_reused, ModelReuse::Built);
    assert_eq!(first.clan.machines.len(), 10);

    // an edit in the unread file (here: a syntax error): the model is reused, the file's own
    // diagnostics are new, and everything equals a fresh analysis
    let terraform = file(&db, workspace, "terraform/main.nix");
    edit(&mut db, terraform, "resource = { };", "resource = ;");
    let second = analyse_reusing(&db, &root_text, workspace, false, Some(&first.memo));
    assert_eq!(second.model_reused, ModelReuse::Same);
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
        "\"root@cinnabar.example.org\";",
        "\"root@cinnabar.example.org\" + \"\";",
    );
    let third = analyse_reusing(&db, &root_text, workspace, false, Some(&second.memo));
    assert_eq!(third.model_reused, ModelReuse::Built);
    assert_eq!(third.clan, analyse(&db, &root_text, workspace, false).clan);
    assert_ne!(
        third.clan.machines["cinnabar"],
        second.clan.machines["cinnabar"]
    );

    // a new machine folder (a directory listing the evaluation read): built again
    std::fs::create_dir_all(root.join("machines/newbox")).unwrap();
    std::fs::write(root.join("machines/newbox/configuration.nix"), "{ }\n").unwrap();
    assert!(clanc::loader::refresh(&mut db, root, workspace, &|_| false).unwrap());
    let fourth = analyse_reusing(&db, &root_text, workspace, false, Some(&third.memo));
    assert_eq!(fourth.model_reused, ModelReuse::Built);
    assert!(fourth.clan.machines.contains_key("newbox"));
    assert_eq!(fourth.clan, analyse(&db, &root_text, workspace, false).clan);
}

const CINNABAR: &str = "modules/machines/nixos/cinnabar/default.nix";

#[test]
fn literals_the_evaluation_never_used_move_the_model() {
    let (_dir, root, mut db, workspace) = seed_fleet(|_| {});
    let first = analyse(&db, &root, workspace, false);
    let cinnabar = file(&db, workspace, CINNABAR);
    let mut memo = first.memo.clone();
    // option values clanc's model never reads: a kernel module, a port, an e-mail address;
    // first a long comment, so that what the evaluation used moved too
    let note = format!("# {}\n", "cinnabar ".repeat(60));
    for (from, to) in [
        ("# cinnabar:", &*format!("{note}# cinnabar:")),
        ("\"virtio_pci\"", "\"virtio_net\""),
        ("443\n", "8443\n"),
        ("\"acme@example.org\"", "\"letsencrypt@example.org\""),
    ] {
        edit(&mut db, cinnabar, from, to);
        let moved = analyse_reusing(&db, &root, workspace, false, Some(&memo));
        assert_eq!(moved.model_reused, ModelReuse::Moved, "after {to:?}");
        let fresh = analyse(&db, &root, workspace, false);
        assert_eq!(moved.clan, fresh.clan, "after {to:?}");
        assert_eq!(placed(&moved), placed(&fresh), "after {to:?}");
        memo = moved.memo.clone();
    }
    // names written as strings: built again, and right
    for (from, to) in [
        (
            "generators.cloudflare-dns",
            "generators.\"cloudflare-dns2\"",
        ),
        ("files.\"caddy.env\"", "files.\"caddy2.env\""),
    ] {
        edit(&mut db, cinnabar, from, to);
        let built = analyse_reusing(&db, &root, workspace, false, Some(&memo));
        assert_eq!(built.model_reused, ModelReuse::Built, "after {to:?}");
        let fresh = analyse(&db, &root, workspace, false);
        assert_eq!(built.clan, fresh.clan, "after {to:?}");
        memo = built.memo.clone();
    }
    let generators = &memo_generators(&analyse(&db, &root, workspace, false));
    assert!(
        generators.contains(&"cloudflare-dns2".to_string()),
        "{generators:?}"
    );
}

fn memo_generators(analysis: &Analysis) -> Vec<String> {
    analysis.clan.machines["cinnabar"]
        .generators
        .keys()
        .cloned()
        .collect()
}

fn target_host(analysis: &Analysis, machine: &str) -> Option<Known<String>> {
    analysis.clan.machines[machine]
        .target_host
        .as_ref()
        .map(|d| d.value.clone())
}

#[test]
fn string_literals_only_passed_on_are_patched_in_the_model() {
    // a description bound by `let` away from where the model reads it
    let (_dir, root, mut db, workspace) =
        seed_with_description("let text = \"Hetzner box\"; in text", |_| {});
    let first = analyse(&db, &root, workspace, false);
    assert_eq!(cinnabar_description(&first), known("Hetzner box"));
    let machines = file(&db, workspace, "modules/clan/inventory/machines.nix");
    let borg = file(
        &db,
        workspace,
        "modules/clan/inventory/services/borgbackup.nix",
    );
    let mut memo = first.memo.clone();
    // strings the evaluation only passes on to the model: a target host, the description
    // through its `let`, a setting (alone and inside `mkDefault`); one edit makes a target
    // host the checker rejects, and the next one fixes it
    for (file, from, to) in [
        (
            machines,
            "root@cinnabar.example.org",
            "root@cinnabar.example.net",
        ),
        (
            machines,
            "\"Hetzner box\"",
            "\"Hetzner VPS, the controller\"",
        ),
        (machines, "root@electrum.example.org", "root@[electrum"),
        (machines, "root@[electrum", "root@electrum.example.org"),
        (borg, "\"/srv/borgbackup\"", "\"/srv/backups\""),
        (borg, "\"*-*-* 03:15:00\"", "\"*-*-* 04:00:00\""),
        (borg, "\"*.pyc\"", "\"*.pyo\""),
    ] {
        let patched = ModelReuse::Patched;
        edit_and_compare(
            &mut db, &root, workspace, &mut memo, file, from, to, patched,
        );
    }
    // the service an instance uses: a module clan-core does not have (the checker says so),
    // then back
    let patched = ModelReuse::Patched;
    let (from, to) = ("name = \"borgbackup\"", "name = \"borgbackups\"");
    let after = edit_and_compare(
        &mut db, &root, workspace, &mut memo, borg, from, to, patched,
    );
    let about_module = |a: &Analysis| {
        a.diagnostics
            .iter()
            .any(|d| d.message.contains("borgbackups"))
    };
    assert!(about_module(&after), "{:#?}", after.diagnostics);
    let after = edit_and_compare(
        &mut db, &root, workspace, &mut memo, borg, to, from, patched,
    );
    assert!(!about_module(&after));
    let (from, to) = ("input = \"clan-core\"", "input = \"clan-core-fork\"");
    edit_and_compare(
        &mut db, &root, workspace, &mut memo, borg, from, to, patched,
    );
    assert_eq!(
        target_host(&analyse(&db, &root, workspace, false), "cinnabar"),
        known("root@cinnabar.example.net")
    );
    assert_eq!(
        cinnabar_description(&analyse(&db, &root, workspace, false)),
        known("Hetzner VPS, the controller")
    );
    // a string the evaluation reads: a machine class (an enum, and the computed tags
    // `nixos` and `darwin` follow it); built again, and right
    edit_and_compare(
        &mut db,
        &root,
        workspace,
        &mut memo,
        machines,
        "machineClass = \"nixos\";",
        "machineClass = \"darwin\";",
        ModelReuse::Built,
    );
}

fn resolved(analysis: &Analysis, instance: &str, role: &str) -> Known<Vec<String>> {
    analysis.clan.instances[instance].roles[role]
        .resolved
        .clone()
}

fn machine_tags(analysis: &Analysis, machine: &str) -> Vec<String> {
    (analysis.clan.machines[machine].tags.iter())
        .map(|t| t.value.clone())
        .collect()
}

#[test]
fn tags_are_patched_and_resolved_again() {
    // scheelite's tags: one compared by Nix code (read), one only passed on
    let (_dir, root, mut db, workspace) = seed_fleet(|root| {
        rewrite(
            root,
            "modules/clan/inventory/machines.nix",
            "\"gpu\"\n",
            "] ++ (let gpu = \"gpu\"; in [ gpu ] ++ (if gpu == \"gpu\" then [ \"cuda\" ] else [ ])) ++ [\n",
        )
    });
    let first = analyse(&db, &root, workspace, false);
    assert_eq!(machine_tags(&first, "scheelite")[3..5], ["gpu", "cuda"]);
    let owned = |names: &[&str]| Known::Known(names.iter().map(|n| n.to_string()).collect());
    assert_eq!(
        resolved(&first, "borgbackup", "client"),
        owned(&["cinnabar", "magnetite", "pyrite"])
    );
    let machines = file(&db, workspace, "modules/clan/inventory/machines.nix");
    let borg = file(
        &db,
        workspace,
        "modules/clan/inventory/services/borgbackup.nix",
    );
    let zerotier = file(&db, workspace, ZEROTIER);
    let mut memo = first.memo.clone();
    let mut edit = |file, from, to, reuse| {
        edit_and_compare(&mut db, &root, workspace, &mut memo, file, from, to, reuse)
    };
    // cinnabar's "backup" (the first in the file) renamed: the role `client` of borgbackup
    // (tag "backup") loses it
    let after = edit(machines, "\"backup\"", "\"backups\"", ModelReuse::Patched);
    assert_eq!(
        resolved(&after, "borgbackup", "client"),
        owned(&["magnetite", "pyrite"])
    );
    // the role's tag renamed to match it again, alone
    let after = edit(
        borg,
        "tags = [ \"backup\" ]",
        "tags = [ \"backups\" ]",
        ModelReuse::Patched,
    );
    assert_eq!(
        resolved(&after, "borgbackup", "client"),
        owned(&["cinnabar", "pyrite"])
    );
    // cinnabar's "hetzner" renamed to its own "cloud": one `cloud` stays (`always-on` is
    // from `inventory.tags`); built again, as the model would hold one copy and a later edit
    // of the other literal could not reach it
    let after = edit(machines, "\"hetzner\"", "\"cloud\"", ModelReuse::Built);
    assert_eq!(
        machine_tags(&after, "cinnabar"),
        ["cloud", "server", "backups", "always-on"]
    );
    // the second `cloud`, which the model does not hold: finding it equal read it
    edit(
        machines,
        "\"cloud\"\n        \"cloud\"",
        "\"cloud\"\n        \"hetzner\"",
        ModelReuse::Built,
    );
    // and a tag renamed again after a build is patched again; all its text removed, then a
    // new name typed into the empty string
    edit(machines, "\"server\"", "\"servers\"", ModelReuse::Patched);
    edit(machines, "\"servers\"", "\"\"", ModelReuse::Patched);
    let after = edit(machines, "\"\"", "\"w\"", ModelReuse::Patched);
    assert_eq!(
        machine_tags(&after, "cinnabar"),
        ["cloud", "hetzner", "w", "backups", "always-on"]
    );
    // a tag Nix code compares: built again, and `cuda` goes
    let after = edit(machines, "\"gpu\"; in", "\"gpus\"; in", ModelReuse::Built);
    assert_eq!(
        machine_tags(&after, "scheelite")[3..],
        ["gpus", "peer", "always-on"]
    );
    // a tag written as an attribute name is a name, not a value
    edit(
        zerotier,
        "roles.peer.tags.\"peer\"",
        "roles.peer.tags.\"peers\"",
        ModelReuse::Built,
    );
}

#[test]
fn a_string_literal_the_evaluation_also_read_builds_the_model_again() {
    // the evaluation compares the literal; the description is a copy of another one
    let (_dir, root, mut db, workspace) = seed_with_description(
        "let text = \"Hetzner box\"; in if text == \"Hetzner box\" then \"matched\" else text",
        |_| {},
    );
    let first = analyse(&db, &root, workspace, false);
    assert_eq!(cinnabar_description(&first), known("matched"));
    let machines = file(&db, workspace, "modules/clan/inventory/machines.nix");
    edit(&mut db, machines, "\"Hetzner box\";", "\"Hetzner VPS\";");
    let second = analyse_reusing(&db, &root, workspace, false, Some(&first.memo));
    assert_eq!(second.model_reused, ModelReuse::Built);
    assert_eq!(cinnabar_description(&second), known("Hetzner VPS"));
}

#[test]
fn numbers_only_passed_on_are_patched_in_the_model() {
    // a role machine's number setting, and one bound by `let` that Nix code also compares
    let (_dir, root, mut db, workspace) = seed_fleet(|root| {
        std::fs::write(
            root.join("modules/clan/inventory/services/localbackup.nix"),
            r#"let
  keep = 30;
in
{
  clan.inventory.instances.localbackup = {
    module = {
      name = "localbackup";
      input = "clan-core";
    };
    roles.default.machines.electrum.settings = {
      snapshots = 20;
    };
    roles.default.machines.galena.settings = {
      snapshots = if keep > 10 then keep else 10;
    };
  };
}
"#,
        )
        .unwrap();
    });
    let first = analyse(&db, &root, workspace, false);
    assert_eq!(snapshots(&first, "electrum"), Some(20));
    assert_eq!(snapshots(&first, "galena"), Some(30));
    let backup = file(
        &db,
        workspace,
        "modules/clan/inventory/services/localbackup.nix",
    );
    let mut memo = first.memo.clone();
    for (from, to, reuse) in [
        ("snapshots = 20;", "snapshots = 25;", ModelReuse::Patched),
        ("snapshots = 25;", "snapshots = 1234;", ModelReuse::Patched),
        // read by `>`: built again
        ("keep = 30;", "keep = 5;", ModelReuse::Built),
        // another kind of literal: built again, and the checker sees a float
        ("snapshots = 1234;", "snapshots = 2.5;", ModelReuse::Built),
    ] {
        edit_and_compare(
            &mut db, &root, workspace, &mut memo, backup, from, to, reuse,
        );
    }
    let last = analyse(&db, &root, workspace, false);
    assert_eq!(snapshots(&last, "galena"), Some(10));
    assert!(
        codes(&last).iter().any(|(code, ..)| code == "C006"),
        "a float where an integer belongs: {:?}",
        codes(&last)
    );
}

/// The `snapshots` setting of `machine` in the localbackup instance, when an integer.
fn snapshots(analysis: &Analysis, machine: &str) -> Option<i64> {
    let role = &analysis.clan.instances["localbackup"].roles["default"];
    let settings = role.machines[machine].settings.as_ref()?;
    match &settings.value {
        clanc::model::Data::Attrs(attrs) => match attrs.get("snapshots")?.value {
            clanc::model::Data::Int(i) => Some(i),
            _ => None,
        },
        _ => None,
    }
}

#[test]
fn booleans_only_passed_on_are_patched_and_bound_names_are_not() {
    // a boolean setting, and `true` bound by a `let` (a variable, not the constant): edited
    // into `false`, which is the constant there
    let (_dir, root, mut db, workspace) = seed_fleet(|root| {
        std::fs::write(
            root.join("modules/clan/inventory/services/localbackup.nix"),
            r#"let
  true = 7;
in
{
  clan.inventory.instances.localbackup = {
    module = {
      name = "localbackup";
      input = "clan-core";
    };
    roles.default.machines.electrum.settings = {
      snapshots = true;
    };
  };
}
"#,
        )
        .unwrap();
        // a setting named by `inherit`: its name is the constant's name
        let users = root.join("modules/clan/inventory/services/users/cameron.nix");
        let text = std::fs::read_to_string(&users).unwrap();
        let text = text.replacen("prompt = false;", "prompt = false;\n      inherit true;", 1);
        std::fs::write(users, text).unwrap();
    });
    let first = analyse(&db, &root, workspace, false);
    assert_eq!(snapshots(&first, "electrum"), Some(7));
    let users = file(
        &db,
        workspace,
        "modules/clan/inventory/services/users/cameron.nix",
    );
    let backup = file(
        &db,
        workspace,
        "modules/clan/inventory/services/localbackup.nix",
    );
    let mut memo = first.memo.clone();
    for (file, from, to, reuse) in [
        (
            users,
            "prompt = false;",
            "prompt = true;",
            ModelReuse::Patched,
        ),
        (
            users,
            "prompt = true;",
            "prompt = false;",
            ModelReuse::Patched,
        ),
        (
            backup,
            "snapshots = true;",
            "snapshots = false;",
            ModelReuse::Built,
        ),
        (users, "inherit true;", "inherit false;", ModelReuse::Built),
    ] {
        edit_and_compare(&mut db, &root, workspace, &mut memo, file, from, to, reuse);
    }
    assert_eq!(
        snapshots(&analyse(&db, &root, workspace, false), "electrum"),
        None
    );
}

#[test]
fn generator_fields_and_sops_keys_kept_as_written_are_patched() {
    // a shared module's vars generator (imported by every darwin machine): a file's mode and
    // group, a prompt's type, copied into each machine's model
    let (_dir, root, mut db, workspace) = seed_fleet(|_| {});
    let first = analyse(&db, &root, workspace, false);
    let darwin = file(&db, workspace, "modules/system/darwin-base.nix");
    let mut memo = first.memo.clone();
    for (from, to) in [
        ("mode = \"0440\";", "mode = \"0400\";"),
        ("type = \"hidden\";", "type = \"line\";"),
        ("group = \"admin\";", "group = \"wheel\";"),
    ] {
        let patched = ModelReuse::Patched;
        edit_and_compare(
            &mut db, &root, workspace, &mut memo, darwin, from, to, patched,
        );
    }
    // one machine's generator: a prompt's description, a file's owner, the script (an
    // indented string)
    let cinnabar = file(
        &db,
        workspace,
        "modules/machines/nixos/cinnabar/default.nix",
    );
    for (from, to) in [
        (
            "\"Cloudflare API token with Zone:DNS:Edit on example.org\"",
            "\"Cloudflare API token\"",
        ),
        ("owner = \"caddy\";", "owner = \"root\";"),
        ("printf 'CLOUDFLARE_API_TOKEN", "printf 'CF_API_TOKEN"),
    ] {
        let patched = ModelReuse::Patched;
        edit_and_compare(
            &mut db, &root, workspace, &mut memo, cinnabar, from, to, patched,
        );
    }
    let generator = |a: &Analysis| a.clan.machines["cinnabar"].generators["cloudflare-dns"].clone();
    let after = generator(&analyse(&db, &root, workspace, false));
    assert!(
        matches!(&after.script.value, Known::Known(s) if s.starts_with("printf 'CF_API_TOKEN"))
    );
    assert_eq!(
        after.files["caddy.env"].owner.value,
        Known::Known("root".into())
    );

    // a legacy sops secret whose key is not in its file (S002): fixing the key's spelling
    // patches the model, and the checker, run again, finds the key
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("clan");
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/mistakes/S002-key-not-in-file"),
        &root,
    );
    let root = std::fs::canonicalize(&root).unwrap();
    let root = root.to_string_lossy().into_owned();
    let mut db = Database::default();
    let workspace = clanc::loader::load_clan(&mut db, Path::new(&root))
        .unwrap()
        .workspace;
    let first = analyse(&db, &root, workspace, false);
    assert!(codes(&first).iter().any(|(code, ..)| code == "S002"));
    let web = file(&db, workspace, "modules/machines/web.nix");
    let (from, to) = ("\"smtp/pasword\"", "\"smtp/password\"");
    let mut memo = first.memo.clone();
    let patched = ModelReuse::Patched;
    let after = edit_and_compare(&mut db, &root, workspace, &mut memo, web, from, to, patched);
    assert!(
        !codes(&after).iter().any(|(code, ..)| code == "S002"),
        "{:?}",
        codes(&after)
    );
}

#[test]
fn code_the_evaluation_never_entered_moves_the_model() {
    use ModelReuse::{Built, Moved, Same};
    let (_dir, root, mut db, workspace) = seed_fleet(|_| {});
    let first = analyse(&db, &root, workspace, false);
    let mut memo = first.memo.clone();
    let cinnabar = file(
        &db,
        workspace,
        "modules/machines/nixos/cinnabar/default.nix",
    );
    let mut step = |db: &mut Database, from: &str, to: &str, reuse| {
        edit_and_compare(db, &root, workspace, &mut memo, cinnabar, from, to, reuse)
    };
    // options nothing reads: a list grows, an attribute set gains an attribute, a value
    // becomes an expression
    step(
        &mut db,
        "\"sd_mod\"\n",
        "\"sd_mod\"\n        \"nvme\"\n",
        Moved,
    );
    step(
        &mut db,
        "networkConfig.DHCP = \"yes\";",
        "networkConfig.DHCP = \"yes\";\n        linkConfig.MTUBytes = \"1400\";",
        Moved,
    );
    step(
        &mut db,
        "networking.useNetworkd = true;",
        "networking.useNetworkd = !false && true;",
        Moved,
    );
    // half-typed: a syntax error stops the file's import, whatever the evaluation entered;
    // once the text is valid again, it is compared with the last valid one
    step(&mut db, "80\n", "80 +\n", Built);
    step(&mut db, "80 +\n", "80\n", Same);
    step(
        &mut db,
        "DHCP = \"yes\";",
        "DHCP = \"yes\"; bond = [ ]",
        Built,
    );
    step(&mut db, "bond = [ ]", "bond = [ \"eth0\" ]", Built);
    step(
        &mut db,
        "bond = [ \"eth0\" ]",
        "bond = [ \"eth0\" ];",
        Moved,
    );
    // a new line of an attribute set already defined further down (`services.caddy`): the
    // set is now named at the new line, a position the model does not hold
    let caddy_end = "      };\n\n      users.users.root";
    let firewall = "      networking.firewall.allowedTCPPorts";
    let nginx = "      services.nginx.enable = true;\n";
    step(&mut db, firewall, &format!("{nginx}{firewall}"), Moved);
    step(&mut db, nginx, "", Moved);
    step(
        &mut db,
        caddy_end,
        "      };\n      services.nginx.enable = true;\n\n      users.users.root",
        Moved,
    );
    // a generator's files are read, their restartUnits are not
    step(
        &mut db,
        "restartUnits = [ \"caddy.service\" ];",
        "restartUnits = [ \"caddy.service\" \"x.service\" ];",
        Moved,
    );
    step(
        &mut db,
        "group = \"caddy\";",
        "group = \"caddy\";\n          mode = \"0400\";",
        Built,
    );
    // code the model reads: the imports, a generator's runtime inputs
    step(
        &mut db,
        "nixosModules.server\n",
        "nixosModules.server\n        { }\n",
        Built,
    );
    step(
        &mut db,
        "pkgs.coreutils ]",
        "pkgs.coreutils pkgs.jq ]",
        Built,
    );
    // and after all that, nothing read changed
    step(&mut db, "\"nvme\"\n", "", Moved);
}

/// While a file the inventory imports does not parse, the clan is unknown; edits elsewhere
/// keep it unknown (reused or built, always what a fresh analysis gives), and fixing the file
/// brings the clan back.
#[test]
fn a_file_that_does_not_parse_keeps_the_clan_unknown_until_fixed() {
    let galena_entry = "    galena = {
      description = \"GCP CPU compute VM\";
      machineClass = \"nixos\";
      tags = [
        \"cloud\"
        \"gcp\"
        \"compute\"
        \"peer\"
      ];
      deploy.targetHost = \"cameron@galena.gcp.example.org\";
      deploy.buildHost = \"root@magnetite.example.org\";
    };";
    let (_dir, root, mut db, workspace) = seed_fleet(|root| {
        let machines = "modules/clan/inventory/machines.nix";
        rewrite(
            root,
            machines,
            galena_entry,
            "    galena = import ./_machines/galena.nix;",
        );
        // import-tree leaves paths with `/_` alone: only the inventory imports it
        let dir = root.join("modules/clan/inventory/_machines");
        std::fs::create_dir(&dir).unwrap();
        let entry = galena_entry
            .trim_start_matches("    galena = ")
            .trim_end_matches(';')
            // half typed: the `;` after the description is missing
            .replacen("compute VM\";", "compute VM\"", 1);
        std::fs::write(dir.join("galena.nix"), format!("{entry}\n")).unwrap();
    });
    let first = analyse(&db, &root, workspace, false);
    assert!(first.clan.is_unknown(), "{:?}", first.clan.unknowns);
    assert!(
        codes(&first).iter().all(|(code, ..)| code == "N001"),
        "{:?}",
        codes(&first)
    );
    let mut memo = first.memo.clone();
    let machines = file(&db, workspace, "modules/clan/inventory/machines.nix");
    let galena = file(
        &db,
        workspace,
        "modules/clan/inventory/_machines/galena.nix",
    );
    let cinnabar = file(
        &db,
        workspace,
        "modules/machines/nixos/cinnabar/default.nix",
    );
    let mut step = |db: &mut Database, file, from: &str, to: &str| {
        edit_and_compare(db, &root, workspace, &mut memo, file, from, to, None).clan
    };
    // another machine's host, a comment, an option of a machine module: still unknown
    let host = ("root@electrum.example.org", "root@electrum2.example.org");
    assert!(step(&mut db, machines, host.0, host.1).is_unknown());
    assert!(step(&mut db, machines, "{\n", "# inventory\n{\n").is_unknown());
    let nvme = ("\"sd_mod\"\n", "\"sd_mod\"\n        \"nvme\"\n");
    assert!(step(&mut db, cinnabar, nvme.0, nvme.1).is_unknown());
    // the `;` typed: the clan is back, with galena's tags
    let clan = step(&mut db, galena, "compute VM\"", "compute VM\";");
    assert!(!clan.is_unknown());
    let tags: Vec<&str> = clan.machines["galena"]
        .tags
        .iter()
        .map(|t| t.value.as_str())
        .collect();
    // (and `always-on`, which the fleet's `inventory.tags` gives it)
    assert_eq!(tags[..4], ["cloud", "gcp", "compute", "peer"]);
    // and gone again with the next half-typed line
    assert!(step(&mut db, galena, "compute VM\";", "compute VM\"").is_unknown());
}
