//! What the language server pays between a one-line edit and the diagnostics it publishes,
//! in-process on a generated 500-machine clan: the edited text is set in the salsa database
//! (as `didChange` does) and the clan is analysed again (syntax of every file, the model,
//! the checker) on a database that already analysed the previous text. Each iteration
//! alternates between two texts, so every run sees a real change.
//!
//! - `edit-machine-name/analyse`: an inventory machine is renamed (an attribute name: the
//!   shape of the code changes): the model is built again (`ModelReuse::Built`); the whole
//!   analysis, what the server runs after most structural edits. Freeing the evaluation is
//!   not timed: the server publishes before it frees it (`eval::Garbage`).
//! - `edit-tag/analyse`: an inventory machine's tag changes: a string the evaluation only
//!   passes on to the model, so the previous model is reused with its copy replaced and what
//!   tags and roles resolve to computed again (`ModelReuse::Patched`).
//! - `edit-target-host/analyse`: an inventory machine's target host changes: a string the
//!   evaluation only passes on to the model, so the previous model is reused with spans moved
//!   and its copy of the string replaced (`ModelReuse::Patched`).
//! - `edit-target-host/syntax-only`: the same edit, only the per-file syntax and lowering
//!   diagnostics (salsa-tracked: only the edited file is parsed again).
//! - `edit-comment/analyse`: only a comment changes: the previous model is reused with its
//!   spans in that file moved (`ModelReuse::Moved`); per-file diagnostics and the checker's
//!   rules run.
//! - `edit-unused-literal/analyse`: a literal the evaluation never used changes (a machine's
//!   redis port): the previous model is reused with its spans moved, as for a comment.
//! - `edit-unentered-code/analyse`: an attribute is added to an option definition of a
//!   machine that nothing reads (the shape of the code changes, but only inside code the
//!   evaluation never entered): the previous model is reused with its spans moved
//!   (`ModelReuse::Moved`).
//! - `edit-unread-file/analyse`: a file the clan's evaluation never imports changes (a
//!   terranix configuration beside the clan): the previous model is reused (its memo), only
//!   per-file diagnostics and the checker's rules run.
//! - `type-into-syntax-error/analyse`: a machine's module left not parsing (a line without
//!   its `;`): the model is built (the flake's modules are collected up to that module, and
//!   the clan is unknown). Only that edit is timed; the edit that makes the module parse
//!   again follows at once (not timed), so this row lacks the idle time between keystrokes
//!   that the server's row has (see docs/performance.md, session 19).
//!
//! Every analysis gets the previous one's memo, as the server does.
//! - `cancel-check-in-flight`: how long an edit's write waits for a check started 40 ms
//!   earlier to unwind (salsa cancellation; the write blocks until the check lets go of its
//!   snapshot). This is added to the latency of the next check.
//!
//! - `lsp-server/...`: the same kinds of edit through the real `clanc lsp` over stdio, from the
//!   `didChange` sent to the answer of a hover that waits for the check (see `server`);
//!   `type-into-syntax-error`: an edit that leaves a machine's module not parsing (the clan
//!   is unknown then: the flake's modules are collected, nothing is read);
//!   `finish-line-after-syntax-error`: the `;` that makes a half-typed line in code the
//!   evaluation never entered parse again (the model of the invalid text knows nothing of the
//!   file; the last valid one's is moved).
//! - `lsp-server/seed-fleet/...`: the user's own fleet (`fixtures/seed-fleet`, 10 machines)
//!   through the real server: a machine renamed, a tag added to a machine, an option added to
//!   a machine's module: edits of the shape of code the evaluation entered, so the model is
//!   built again (the edits that stay above 10 ms at 500 machines).
//!
//! Benchmarks, not tests: no assertions on time.

mod common;
#[path = "../tests/lsp_client/mod.rs"]
mod lsp_client;

use common::generated_clan;
use lsp_client::Client;
use serde_json::json;

use std::sync::Arc;

use clanc::analysis::{Analysis, ModelMemo, ModelReuse as Reuse};
use clanc::db::{Database, SourceFile, Workspace};
use criterion::{Criterion, criterion_group, criterion_main};

/// A one-line edit made and undone in turn, on the file's current text (edits of one file
/// compose).
struct Edit {
    file: SourceFile,
    from: String,
    to: String,
    made: bool,
}

impl Edit {
    /// Replaces the first occurrence of `from` by `to`, then back, and so on.
    fn new(db: &Database, file: SourceFile, from: &str, to: &str) -> Edit {
        assert!(
            file.text(db).contains(from),
            "`{from}` not in {}",
            file.path(db)
        );
        Edit {
            file,
            from: from.to_string(),
            to: to.to_string(),
            made: false,
        }
    }

    fn apply(&mut self, db: &mut Database) {
        let (from, to) = if self.made {
            (&self.to, &self.from)
        } else {
            (&self.from, &self.to)
        };
        let text: Arc<str> = Arc::from(self.file.text(db).replacen(from.as_str(), to, 1));
        self.file.replace_text(db, text);
        self.made = !self.made;
    }
}

/// Makes `edit` (or undoes it) and analyses as the server does: given the previous analysis's
/// memo, keeping the new one. `reuse` is where the model must come from.
fn analyse_after(
    edit: &mut Edit,
    db: &mut Database,
    memo: &mut ModelMemo,
    root: &str,
    workspace: Workspace,
    reuse: Reuse,
) -> Analysis {
    edit.apply(db);
    let analysis = clanc::analysis::analyse_reusing(db, root, workspace, false, Some(memo));
    assert_eq!(analysis.model_reused, reuse, "where the model came from");
    *memo = analysis.memo.clone();
    analysis
}

fn benches(c: &mut Criterion) {
    let dir = generated_clan(500);
    // a Nix file of the repository the clan's evaluation never imports (like a terranix
    // configuration next to the clan)
    std::fs::create_dir_all(dir.path().join("terraform")).expect("terraform dir");
    std::fs::write(
        dir.path().join("terraform/main.nix"),
        "{\n  # Hosts at the provider.\n  resource = { };\n}\n",
    )
    .expect("terraform/main.nix");
    let root = std::fs::canonicalize(dir.path()).expect("dir exists");
    let root_text = root.to_string_lossy().into_owned();
    let mut db = Database::default();
    let loaded = clanc::loader::load_clan(&mut db, &root).expect("clan loads");
    let workspace = loaded.workspace;
    let file = |db: &Database, path: &str| {
        *workspace
            .files(db)
            .iter()
            .find(|f| f.path(db) == path)
            .unwrap_or_else(|| panic!("{path} not generated"))
    };
    let machines = file(&db, "modules/clan/inventory/machines/asia.nix");
    let mut tag = Edit::new(&db, machines, "\"team-web\"", "\"team-webx\"");
    let mut rename = Edit::new(&db, machines, "\"stibnite-1\" = {", "\"stibnite-1x\" = {");
    let mut host = Edit::new(
        &db,
        machines,
        "\"stibnite-1.asia.example.org\"",
        "\"root@stibnite-1.asia.example.org\"",
    );
    let mut comment = Edit::new(
        &db,
        machines,
        "# Inventory machines in region asia.",
        "# Inventory machines in the region asia.",
    );
    // an option value no check reads (the model evaluates a machine's modules only as far
    // as the options it reads)
    let zircon = file(&db, "modules/machines/nixos/zircon-9/default.nix");
    let mut port = Edit::new(&db, zircon, "port = 6379;", "port = 6380;");
    // an option nothing reads given another attribute: code the evaluation never entered
    let mut option = Edit::new(
        &db,
        zircon,
        "fsType = \"ext4\";",
        "fsType = \"ext4\"; options = [ \"noatime\" ];",
    );
    let terraform = file(&db, "terraform/main.nix");
    let mut unread = Edit::new(
        &db,
        terraform,
        "# Hosts at the provider.",
        "# Hosts at the cloud provider.",
    );
    // warm: the first analysis parses and evaluates everything
    let before = clanc::analysis::analyse(&db, &root_text, workspace, false);
    assert_eq!(before.clan.machines.len(), 500);
    // what the server keeps between checks
    let mut memo = before.memo.clone();

    let mut group = c.benchmark_group("lsp");
    group.sample_size(10);
    let root = root_text.as_str();
    group.bench_function("gen-500/edit-machine-name/analyse", |b| {
        b.iter_with_large_drop(|| {
            analyse_after(
                &mut rename,
                &mut db,
                &mut memo,
                root,
                workspace,
                Reuse::Built,
            )
        })
    });
    group.bench_function("gen-500/edit-tag/analyse", |b| {
        b.iter_with_large_drop(|| {
            analyse_after(
                &mut tag,
                &mut db,
                &mut memo,
                root,
                workspace,
                Reuse::Patched,
            )
        })
    });
    group.bench_function("gen-500/edit-target-host/analyse", |b| {
        b.iter_with_large_drop(|| {
            analyse_after(
                &mut host,
                &mut db,
                &mut memo,
                root,
                workspace,
                Reuse::Patched,
            )
        })
    });
    group.bench_function("gen-500/edit-target-host/syntax-only", |b| {
        b.iter(|| {
            host.apply(&mut db);
            clanc::check::check_workspace(&db, workspace).len()
        })
    });
    // the memo again describes the text as the last iteration left it
    memo = clanc::analysis::analyse_reusing(&db, root, workspace, false, Some(&memo)).memo;
    for (name, edit, reuse) in [
        ("gen-500/edit-comment/analyse", &mut comment, Reuse::Moved),
        (
            "gen-500/edit-unused-literal/analyse",
            &mut port,
            Reuse::Moved,
        ),
        (
            "gen-500/edit-unentered-code/analyse",
            &mut option,
            Reuse::Moved,
        ),
        ("gen-500/edit-unread-file/analyse", &mut unread, Reuse::Same),
    ] {
        group.bench_function(name, |b| {
            b.iter_with_large_drop(|| {
                analyse_after(edit, &mut db, &mut memo, root, workspace, reuse)
            })
        });
    }
    // A machine's module left not parsing (its `;` not typed yet), timed, then the `;`, not
    // timed: the in-process part of the server's `type-into-syntax-error` row.
    if option.made {
        option.apply(&mut db);
    }
    let mut half = Edit::new(
        &db,
        zircon,
        "fsType = \"ext4\";",
        "fsType = \"ext4\"; options = [ \"noatime\" ]",
    );
    memo = clanc::analysis::analyse_reusing(&db, root, workspace, false, Some(&memo)).memo;
    group.bench_function("gen-500/type-into-syntax-error/analyse", |b| {
        b.iter_custom(|iterations| {
            let mut timed = std::time::Duration::ZERO;
            for _ in 0..iterations {
                let started = std::time::Instant::now();
                let broken =
                    analyse_after(&mut half, &mut db, &mut memo, root, workspace, Reuse::Built);
                timed += started.elapsed();
                drop(broken);
                half.apply(&mut db);
                let fixed =
                    clanc::analysis::analyse_reusing(&db, root, workspace, false, Some(&memo));
                memo = fixed.memo.clone();
            }
            timed
        })
    });
    // How long a new edit waits for the check in flight to unwind (salsa cancellation): the
    // write blocks until the worker's snapshot is dropped.
    group.bench_function("gen-500/cancel-check-in-flight", |b| {
        b.iter_custom(|iterations| {
            let mut waited = std::time::Duration::ZERO;
            for _ in 0..iterations {
                host.apply(&mut db);
                let snapshot = db.clone();
                let root = root_text.clone();
                let worker = std::thread::spawn(move || {
                    salsa::Cancelled::catch(|| {
                        clanc::analysis::analyse(&snapshot, &root, workspace, false)
                            .diagnostics
                            .len()
                    })
                    .is_err()
                });
                std::thread::sleep(std::time::Duration::from_millis(40));
                let started = std::time::Instant::now();
                host.apply(&mut db);
                waited += started.elapsed();
                let _ = worker.join();
            }
            waited
        })
    });
    group.finish();
    drop(db);
    server(&dir, c);
    seed_fleet_server(c);
}

/// The whole way through the real server (`clanc lsp`, release build) as an editor sees it:
/// from sending a one-line `didChange` (an incremental range edit) to the answer of a hover
/// request sent right after it. The server answers hover only from the model of the newest
/// text, after publishing that check's diagnostics (it sends only files whose diagnostics
/// changed), so the answer marks the end of the check and its publishing.
fn server(dir: &tempfile::TempDir, c: &mut Criterion) {
    let root = std::fs::canonicalize(dir.path()).expect("dir exists");
    let mut client = Client::start(&root);
    // the first check publishes every file with diagnostics
    let first = client.wait_for(|m| m["method"] == "textDocument/publishDiagnostics");
    assert!(first["params"]["diagnostics"].as_array().is_some());
    let mut group = c.benchmark_group("lsp-server");
    group.sample_size(10);
    for (name, path, from, to) in [
        (
            "gen-500/edit-machine-name",
            "modules/clan/inventory/machines/asia.nix",
            "\"stibnite-1\" = {",
            "\"stibnite-1x\" = {",
        ),
        (
            "gen-500/edit-tag",
            "modules/clan/inventory/machines/asia.nix",
            "\"team-web\"",
            "\"team-webx\"",
        ),
        (
            "gen-500/edit-target-host",
            "modules/clan/inventory/machines/asia.nix",
            "\"stibnite-1.asia.example.org\"",
            "\"root@stibnite-1.asia.example.org\"",
        ),
        (
            "gen-500/edit-comment",
            "modules/clan/inventory/machines/asia.nix",
            "# Inventory machines in region asia.",
            "# Inventory machines in the region asia.",
        ),
        (
            "gen-500/edit-unused-literal",
            "modules/machines/nixos/zircon-9/default.nix",
            "port = 6379;",
            "port = 6380;",
        ),
        (
            "gen-500/edit-unentered-code",
            "modules/machines/nixos/zircon-9/default.nix",
            "fsType = \"ext4\";",
            "fsType = \"ext4\"; options = [ \"noatime\" ];",
        ),
    ] {
        edit_rows(&mut group, &mut client, &root, name, path, from, to);
    }
    // A line typed through a syntax error: the line without its `;` (the file does not
    // parse: the flake's modules are collected, the clan is not read, as it is unknown),
    // then, 50 ms after that check's answer (a fast typist's pace; the server frees the
    // evaluation of the invalid text meanwhile), the `;`: compared with the last text that
    // parsed, the edit is in code the evaluation never entered. One row times the first
    // step, one the second.
    let zircon = "modules/machines/nixos/zircon-9/default.nix";
    let mut file = Opened::open(&mut client, &root, zircon);
    let line = "fsType = \"ext4\";";
    let half = "fsType = \"ext4\"; options = [ \"noatime\" ]";
    let done = "fsType = \"ext4\"; options = [ \"noatime\" ];";
    for (name, timed) in [
        ("gen-500/type-into-syntax-error", 0),
        ("gen-500/finish-line-after-syntax-error", 1),
    ] {
        group.bench_function(name, |b| {
            b.iter_custom(|iterations| {
                let mut waited = std::time::Duration::ZERO;
                for _ in 0..iterations {
                    for (step, (a, b)) in [(line, half), (half, done), (done, line)]
                        .into_iter()
                        .enumerate()
                    {
                        let started = std::time::Instant::now();
                        let at = file.change(&mut client, a, b);
                        file.hover(&mut client, at);
                        if step == timed {
                            waited += started.elapsed();
                        }
                        std::thread::sleep(std::time::Duration::from_millis(50));
                    }
                }
                waited
            })
        });
    }
    group.finish();
    stop(client);
}

/// The seed fleet (`fixtures/seed-fleet`, the user's own 10 machines) through the real
/// server: edits of the clan's shape in code the evaluation entered, which build the model
/// again (what stays above 10 ms at 500 machines).
fn seed_fleet_server(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let status = std::process::Command::new("cp")
        .arg("-r")
        .arg(common::repo().join("fixtures/seed-fleet"))
        .arg(dir.path())
        .status()
        .expect("cp runs");
    assert!(status.success(), "seed fleet copied");
    let root = std::fs::canonicalize(dir.path().join("seed-fleet")).expect("copied");
    // (the fleet has no diagnostics to publish: the first edit's hover waits for the check)
    let mut client = Client::start(&root);
    let mut group = c.benchmark_group("lsp-server");
    group.sample_size(10);
    for (name, path, from, to) in [
        (
            "seed-fleet/edit-machine-name",
            "modules/clan/inventory/machines.nix",
            "    galena = {",
            "    galenax = {",
        ),
        (
            "seed-fleet/add-tag",
            "modules/clan/inventory/machines.nix",
            "\"hetzner\"",
            "\"hetzner\" \"eu\"",
        ),
        (
            "seed-fleet/add-machine-option",
            "modules/machines/nixos/galena/default.nix",
            "networking.hostName = \"galena\";",
            "networking.hostName = \"galena\"; programs.mosh.enable = true;",
        ),
    ] {
        edit_rows(&mut group, &mut client, &root, name, path, from, to);
    }
    group.finish();
    stop(client);
}

/// One row: `from` (on one line; it may occur more than once, `to` must not) replaced by `to`
/// in `path`, and back, in turn; each timed until the hover after it is answered.
fn edit_rows(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    client: &mut Client,
    root: &std::path::Path,
    name: &str,
    path: &str,
    from: &str,
    to: &str,
) {
    let mut file = Opened::open(client, root, path);
    let mut made = false;
    let mut edit = |client: &mut Client| {
        let (a, b) = if made { (to, from) } else { (from, to) };
        made = !made;
        let at = file.change(client, a, b);
        file.hover(client, at);
    };
    // the model the next edits start from
    edit(client);
    group.bench_function(name, |b| {
        b.iter_custom(|iterations| {
            let started = std::time::Instant::now();
            for _ in 0..iterations {
                edit(client);
            }
            started.elapsed()
        })
    });
}

fn stop(mut client: Client) {
    let _ = client.request("shutdown", json!(null));
    client.notify("exit", json!(null));
    let _ = client.child.wait();
}

/// A file the bench opened in the server and edits.
struct Opened {
    uri: String,
    text: String,
    version: i64,
}

impl Opened {
    fn open(client: &mut Client, root: &std::path::Path, path: &str) -> Opened {
        let uri = format!("file://{}/{path}", root.display());
        let text = std::fs::read_to_string(root.join(path)).expect("generated file");
        client.notify(
            "textDocument/didOpen",
            json!({ "textDocument": { "uri": uri, "languageId": "nix", "version": 1, "text": text } }),
        );
        Opened {
            uri,
            text,
            version: 1,
        }
    }

    /// Replaces the first `a` (on one line) by `b` with an incremental `didChange`; gives the
    /// line and character where.
    fn change(&mut self, client: &mut Client, a: &str, b: &str) -> (usize, usize) {
        let text = &self.text;
        let at = text.find(a).expect("edited text");
        let line = text[..at].matches('\n').count();
        let character = at - text[..at].rfind('\n').map_or(0, |n| n + 1);
        let end = character + a.len();
        self.version += 1;
        client.notify(
            "textDocument/didChange",
            json!({
                "textDocument": { "uri": self.uri, "version": self.version },
                "contentChanges": [{
                    "range": {
                        "start": { "line": line, "character": character },
                        "end": { "line": line, "character": end }
                    },
                    "text": b
                }]
            }),
        );
        self.text = self.text.replacen(a, b, 1);
        (line, character)
    }

    /// Asks for hover at `(line, character)`: answered after the check of the newest text.
    fn hover(&self, client: &mut Client, (line, character): (usize, usize)) {
        let hover = client.request(
            "textDocument/hover",
            json!({
                "textDocument": { "uri": self.uri },
                "position": { "line": line, "character": character }
            }),
        );
        assert!(hover.get("error").is_none(), "{hover}");
    }
}

criterion_group!(lsp, benches);
criterion_main!(lsp);
