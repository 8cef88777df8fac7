//! Hostile inputs (issue 25) through the language server: the rows of the table as an
//! editor meets them, in a file being typed or on disk. Each ends in a diagnostic at its place
//! (or, for a clan the loader refuses, a message naming the file), the server keeps answering,
//! and its memory stays bounded. The bounds are generous (a debug build on a loaded machine):
//! they catch runaway, they are no benchmark.

mod common;
mod lsp_client;

use std::path::Path;
use std::time::{Duration, Instant};

use lsp_client::Client;
use serde_json::{Value, json};

/// Peak resident memory the server may reach over a whole test.
const MEMORY_BOUND_KB: u64 = 512 * 1024;
/// Wall time one hostile edit may take to be checked and published.
const TIME_BOUND: Duration = Duration::from_secs(20);

/// The hostile tests' base clan, with `imports = [ ./x.nix ]` and `x.nix` an empty module.
fn clan() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let flake = std::fs::read_to_string(common::repo().join("tests/hostile/clan/flake.nix"))
        .expect("the base clan");
    std::fs::write(
        dir.path().join("flake.nix"),
        flake.replace(
            "meta.name = \"hostile\";",
            "meta.name = \"hostile\"; imports = [ ./x.nix ];",
        ),
    )
    .expect("write");
    std::fs::write(dir.path().join("x.nix"), "{ }\n").expect("write");
    dir
}

fn uri(root: &Path, rel: &str) -> String {
    format!("file://{}/{rel}", root.display())
}

/// The server's peak resident memory so far (`VmHWM`).
fn peak_kb(client: &Client) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{}/status", client.child.id()))
        .expect("the server is running");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .expect("VmHWM in /proc/PID/status")
}

/// The server answers a request at once (it is neither dead nor stuck).
fn answers(client: &mut Client, root: &Path) {
    let started = Instant::now();
    let hover = client.request(
        "textDocument/hover",
        json!({
            "textDocument": { "uri": uri(root, "flake.nix") },
            "position": { "line": 0, "character": 0 }
        }),
    );
    assert!(hover.get("error").is_none(), "{hover}");
    assert!(started.elapsed() < TIME_BOUND, "{:?}", started.elapsed());
}

fn shut_down(mut client: Client) {
    let shutdown = client.request("shutdown", Value::Null);
    assert!(shutdown.get("error").is_none(), "{shutdown}");
    client.notify("exit", Value::Null);
    assert_eq!(
        client.child.wait().expect("the server ends").code(),
        Some(0)
    );
}

/// Rows 1, 2, 3, 4, 7, 8, 9, 11 and 12 typed into open documents, one after the other in one server:
/// each edit is published as its diagnostic at its place within the time bound, the server
/// answers after each, and its peak memory over all of them stays under the bound.
#[test]
fn hostile_text_typed_in_the_editor_ends_in_a_diagnostic_at_its_place() {
    let dir = clan();
    let root = dir.path();
    let mut client = Client::start(root);
    let x = uri(root, "x.nix");
    client.notify(
        "textDocument/didOpen",
        json!({ "textDocument": { "uri": x, "languageId": "nix", "version": 1, "text": "{ }\n" } }),
    );
    let runaway_string =
        "let f = n: s: if n == 0 then s else f (n - 1) (s + s); in f 40 \"x\"".to_string();
    let doubling_work =
        "let f = n: if n == 0 then 0 else f (n - 1) + f (n - 1); in toString (f 60)".to_string();
    let tags = |expr: &str| format!("{{ inventory.machines.beta.tags = [ ({expr}) ]; }}\n");
    // (row, text of x.nix, code, line and character of the diagnostic: 0-based, UTF-16)
    let cases: Vec<(&str, String, &str, u64, u64)> = vec![
        (
            "1: a mistake past column 65,535",
            format!(
                "{{ inventory.machines.beta.tags = {}5; }}\n",
                " ".repeat(70_000)
            ),
            "C011",
            0,
            70_033,
        ),
        ("2: 128 KB of `!`", "!".repeat(128 * 1024), "N001", 0, 0),
        ("3: a string doubling", tags(&runaway_string), "N005", 0, 0),
        (
            "3: a list of 100,000,000",
            "{ inventory.machines.beta.tags = builtins.genList (x: \"t\") 100000000; }\n"
                .to_string(),
            "N005",
            0,
            0,
        ),
        (
            "7: work doubling per level",
            tags(&doubling_work),
            "N005",
            0,
            0,
        ),
        (
            "4: readFile of /dev/zero",
            tags("builtins.readFile /dev/zero"),
            "N002",
            0,
            0,
        ),
        (
            "9: a machine named ../evil",
            "{ inventory.machines.\"../evil\".tags = [ ]; }\n".to_string(),
            "M005",
            0,
            21,
        ),
        (
            "11: a deploy target ssh would read as an option",
            "{ inventory.machines.beta.deploy.targetHost = \"-Fcfg@host\"; }\n".to_string(),
            "M004",
            0,
            46,
        ),
        (
            "12: a machine named -x",
            "{ inventory.machines.\"-x\".tags = [ ]; }\n".to_string(),
            "M005",
            0,
            21,
        ),
    ];
    for (version, (row, text, code, line, character)) in cases.into_iter().enumerate() {
        let started = Instant::now();
        client.notify(
            "textDocument/didChange",
            json!({
                "textDocument": { "uri": x, "version": version + 2 },
                "contentChanges": [ { "text": text } ]
            }),
        );
        let diagnostics = loop {
            let published = client.diagnostics_for(&x);
            if published.iter().any(|d| d["code"] == code) {
                break published;
            }
        };
        let elapsed = started.elapsed();
        assert!(elapsed < TIME_BOUND, "row {row}: {elapsed:?}");
        let hit = diagnostics
            .iter()
            .find(|d| d["code"] == code)
            .expect("found above");
        if line != 0 || character != 0 {
            assert_eq!(
                (
                    &hit["range"]["start"]["line"],
                    &hit["range"]["start"]["character"]
                ),
                (&json!(line), &json!(character)),
                "row {row}: {hit}"
            );
        }
        answers(&mut client, root);
    }
    // row 8: malformed inventory.json, typed
    let inventory = uri(root, "inventory.json");
    client.notify(
        "textDocument/didOpen",
        json!({ "textDocument": {
            "uri": inventory, "languageId": "json", "version": 1, "text": "garbage{{{"
        } }),
    );
    let published = client.diagnostics_for(&inventory);
    assert!(
        published.iter().any(|d| d["code"] == "N007"),
        "{published:?}"
    );
    answers(&mut client, root);
    let peak = peak_kb(&client);
    assert!(peak < MEMORY_BOUND_KB, "peak {peak} KB");
    shut_down(client);
}

fn mkfifo(path: &Path) {
    let c = std::ffi::CString::new(path.to_str().expect("UTF-8 path")).expect("no NUL");
    // SAFETY: a valid C string; creates a FIFO.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0, "mkfifo");
}

fn show_message(client: &mut Client) -> Value {
    client.wait_for(|m| m["method"] == "window/showMessage")["params"].clone()
}

/// Rows 5 and 6: a clan the loader refuses (a FIFO where a module belongs, a file past the size
/// limit) is said to the user, naming the file, and waited out: the server answers meanwhile,
/// and checks the clan once its files are regular again (the editor reports the change).
#[test]
fn a_clan_the_loader_refuses_is_said_and_checked_once_readable() {
    for (what, expected) in [("FIFO", "FIFO"), ("9 MiB file", "8 MiB")] {
        let dir = clan();
        let root = dir.path();
        std::fs::remove_file(root.join("x.nix")).expect("rm");
        if what == "FIFO" {
            mkfifo(&root.join("x.nix"));
        } else {
            std::fs::write(root.join("x.nix"), " ".repeat(9 << 20)).expect("write");
        }
        let mut client = Client::start_with(
            root,
            json!({
                "general": { "positionEncodings": ["utf-16"] },
                "workspace": { "didChangeWatchedFiles": { "dynamicRegistration": true } }
            }),
        );
        let refusal = show_message(&mut client);
        assert_eq!(refusal["type"], 1, "{what}: an error: {refusal}");
        let message = refusal["message"].as_str().unwrap_or_default();
        assert!(
            message.contains("x.nix") && message.contains(expected),
            "{what}: {message}"
        );
        answers(&mut client, root);

        // the file becomes a regular one (with a mistake, so that the check is seen)
        std::fs::remove_file(root.join("x.nix")).expect("rm");
        std::fs::write(
            root.join("x.nix"),
            "{ inventory.machines.beta.tags = 5; }\n",
        )
        .expect("write");
        client.notify(
            "workspace/didChangeWatchedFiles",
            json!({ "changes": [ { "uri": uri(root, "x.nix"), "type": 2 } ] }),
        );
        let again = show_message(&mut client);
        assert_eq!(again["type"], 3, "{what}: {again}");
        let published = client.diagnostics_for(&uri(root, "x.nix"));
        assert!(
            published.iter().any(|d| d["code"] == "C011"),
            "{what}: {published:?}"
        );
        let peak = peak_kb(&client);
        assert!(peak < MEMORY_BOUND_KB, "{what}: peak {peak} KB");
        shut_down(client);
    }
}
