//! `clanc lsp` spoken to over JSON-RPC like an editor does: diagnostics for unsaved text,
//! published for the right files, cleared when fixed, newest text only; unknown requests get an
//! error, and shutdown/exit end the process cleanly; hover, definition and completion answer
//! from the model of the current text; files are taken as the last `clanc check` lowered
//! them, edited ones lowered from their text.

mod lsp_client;

use std::time::Duration;

use lsp_client::Client;
use serde_json::{Value, json};

#[test]
fn diagnostics_follow_unsaved_edits_and_clear_when_fixed() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::write(root.join("flake.nix"), "{ outputs = _: { }; }\n").unwrap();
    std::fs::create_dir(root.join("modules")).unwrap();
    std::fs::write(root.join("modules/broken.nix"), "{ a = 1; } }\n").unwrap();
    std::fs::write(root.join("modules/fine.nix"), "{ }\n").unwrap();
    let mut client = Client::start(root);

    // the broken file on disk is reported right after start, without opening it
    let broken = format!("file://{}/modules/broken.nix", root.display());
    let diagnostics = client.diagnostics_for(&broken);
    assert_eq!(diagnostics.len(), 1);
    assert_eq!(diagnostics[0]["code"], "N001");
    assert_eq!(
        diagnostics[0]["range"]["start"],
        json!({"line": 0, "character": 11})
    );

    // an unsaved edit in another file with a non-ASCII string: UTF-16 columns
    let fine = format!("file://{}/modules/fine.nix", root.display());
    client.notify(
        "textDocument/didOpen",
        json!({
            "textDocument": { "uri": fine, "languageId": "nix", "version": 1, "text": "{ }\n" }
        }),
    );
    client.notify("textDocument/didChange", json!({
        "textDocument": { "uri": fine, "version": 2 },
        "contentChanges": [{ "range": { "start": {"line": 0, "character": 2}, "end": {"line": 0, "character": 2} },
                             "text": "x = \"𝄞\" = 1; " }]
    }));
    let diagnostics = client.diagnostics_for(&fine);
    assert_eq!(diagnostics.len(), 1, "{diagnostics:?}");
    // `{ x = "𝄞" = 1; }`: the second `=` is at UTF-16 column 11 (𝄞 takes two units)
    assert_eq!(
        diagnostics[0]["range"]["start"]["character"], 11,
        "{diagnostics:?}"
    );
    // information (3), not an error: the flake never reads modules/ (its outputs are `{ }`),
    // so Nix would never see the mistake
    assert_eq!(diagnostics[0]["severity"], 3);
    assert_eq!(diagnostics[0]["source"], "clanc");

    // fixing the broken file (unsaved) clears its diagnostics
    client.notify("textDocument/didOpen", json!({
        "textDocument": { "uri": broken, "languageId": "nix", "version": 1, "text": "{ a = 1; } }\n" }
    }));
    client.notify(
        "textDocument/didChange",
        json!({
            "textDocument": { "uri": broken, "version": 2 },
            "contentChanges": [{ "text": "{ a = 1; }\n" }]
        }),
    );
    client.wait_for(|m| {
        m["method"] == "textDocument/publishDiagnostics"
            && m["params"]["uri"] == broken
            && m["params"]["diagnostics"] == json!([])
    });

    // closing the document falls back to the file on disk, which is still broken
    client.notify(
        "textDocument/didClose",
        json!({ "textDocument": { "uri": broken } }),
    );
    assert_eq!(client.diagnostics_for(&broken).len(), 1);

    // hover where the model has nothing: an empty answer
    let hover = client.request(
        "textDocument/hover",
        json!({
            "textDocument": { "uri": fine }, "position": { "line": 0, "character": 0 }
        }),
    );
    assert_eq!(hover["result"], Value::Null, "{hover}");
    // requests it does not handle get an error, not silence
    let references = client.request(
        "textDocument/references",
        json!({
            "textDocument": { "uri": fine }, "position": { "line": 0, "character": 0 },
            "context": { "includeDeclaration": true }
        }),
    );
    assert!(references["error"]["code"].is_i64(), "{references}");

    let shutdown = client.request("shutdown", Value::Null);
    assert!(shutdown.get("error").is_none());
    client.notify("exit", Value::Null);
    let status = client.child.wait().unwrap();
    assert!(status.success());
}

/// Swaps, in the pack of lowered files under `cache` (`clanc check`'s), the IR of the texts `a`
/// and `b`: then a file with the text `a` lowers to what `b` lowered to. The layout is
/// `eval::lowered_pack`'s behind `cache::store`'s frame: a header line with the body's
/// SHA-256, the writer's line, a count, and per file the text's SHA-256, the stack budget and
/// the length of the IR's bytes (LEB128), then the bytes.
fn swap_lowered(cache: &std::path::Path, a: &str, b: &str) {
    use sha2::{Digest as _, Sha256};
    fn uint(bytes: &[u8], at: &mut usize) -> u64 {
        let mut n = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = bytes[*at];
            *at += 1;
            n |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                break;
            }
        }
        n
    }
    fn push(out: &mut Vec<u8>, mut n: u64) {
        loop {
            let low = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                out.push(low);
                return;
            }
            out.push(low | 0x80);
        }
    }
    let path = std::fs::read_dir(cache)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "lowered"))
        .expect("clanc check kept the lowered files");
    let file = std::fs::read(&path).unwrap();
    let header = file.iter().position(|b| *b == b'\n').unwrap() + 1;
    let body = &file[header..];
    let writer = body.iter().position(|b| *b == b'\n').unwrap() + 1;
    let mut at = writer;
    let count = uint(body, &mut at);
    let mut records = Vec::new();
    for _ in 0..count {
        let digest = body[at..at + 32].to_vec();
        at += 32;
        let budget = uint(body, &mut at);
        let len = uint(body, &mut at) as usize;
        records.push((digest, budget, body[at..at + len].to_vec()));
        at += len;
    }
    let find = |text: &str| {
        let digest = Sha256::digest(text.as_bytes()).to_vec();
        records
            .iter()
            .position(|r| r.0 == digest)
            .expect("the text is in the pack")
    };
    let (i, j) = (find(a), find(b));
    let ir_of_a = std::mem::take(&mut records[i].2);
    records[i].2 = std::mem::replace(&mut records[j].2, ir_of_a);
    let mut new_body = body[..writer].to_vec();
    push(&mut new_body, count);
    for (digest, budget, ir) in records {
        new_body.extend_from_slice(&digest);
        push(&mut new_body, budget);
        push(&mut new_body, ir.len() as u64);
        new_body.extend_from_slice(&ir);
    }
    let old_header = String::from_utf8(file[..header].to_vec()).unwrap();
    let kind_and_format: Vec<&str> = old_header.split(' ').take(2).collect();
    let digest = format!("{:x}", Sha256::digest(&new_body));
    let mut out = format!("{} {}\n", kind_and_format.join(" "), digest).into_bytes();
    out.extend_from_slice(&new_body);
    std::fs::write(&path, out).unwrap();
}

#[test]
fn the_server_takes_files_as_a_check_lowered_them_and_lowers_edited_ones_from_their_text() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let (clean, twice) = ("{ a = 1; }\n", "{ b = 1; b = 2; }\n");
    std::fs::write(root.join("flake.nix"), "{ outputs = _: { }; }\n").unwrap();
    std::fs::create_dir(root.join("modules")).unwrap();
    std::fs::write(root.join("modules/a.nix"), clean).unwrap();
    std::fs::write(root.join("modules/b.nix"), twice).unwrap();
    let cache_home = tempfile::tempdir().unwrap();
    let cache = cache_home.path().join("clanc");
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_clanc"))
        .args(["check", "--format", "json", "--cache-dir"])
        .arg(&cache)
        .arg(root)
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.code().is_some());
    // a.nix's text now stands for b.nix's IR: if the server takes the pack, a.nix shows
    // b.nix's duplicate attribute (what no lowering of a.nix's text gives)
    swap_lowered(&cache, clean, twice);
    let mut client = Client::start_with_cache_home(root, cache_home.path());
    let a = format!("file://{}/modules/a.nix", root.display());
    let diagnostics = client.diagnostics_for(&a);
    assert_eq!(diagnostics.len(), 1, "{diagnostics:?}");
    let message = diagnostics[0]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("attribute 'b' already defined"),
        "{diagnostics:?}"
    );
    // an edit of a.nix is lowered from its text: clean again
    client.notify(
        "textDocument/didOpen",
        json!({ "textDocument": { "uri": a, "languageId": "nix", "version": 1, "text": clean } }),
    );
    client.notify(
        "textDocument/didChange",
        json!({
            "textDocument": { "uri": a, "version": 2 },
            "contentChanges": [{ "text": "{ a = 2; }\n" }]
        }),
    );
    client.wait_for(|m| {
        m["method"] == "textDocument/publishDiagnostics"
            && m["params"]["uri"] == a
            && m["params"]["diagnostics"] == json!([])
    });
    let _ = client.request("shutdown", Value::Null);
    client.notify("exit", Value::Null);
    assert!(client.child.wait().unwrap().success());
}

/// The files published between now and the answer to a hover request on `uri` (the server
/// answers hover once the check of the newest text is done and published).
fn published_until_checked(client: &mut Client, uri: &str) -> Vec<String> {
    diagnostics_until_checked(client, uri)
        .into_iter()
        .map(|(uri, _)| uri)
        .collect()
}

/// [`published_until_checked`], with the diagnostics published for each file.
fn diagnostics_until_checked(client: &mut Client, uri: &str) -> Vec<(String, Vec<Value>)> {
    let id = 9000;
    client.send(json!({
        "jsonrpc": "2.0", "id": id, "method": "textDocument/hover",
        "params": { "textDocument": { "uri": uri }, "position": { "line": 0, "character": 0 } }
    }));
    let mut published = Vec::new();
    loop {
        let message = client
            .messages
            .recv_timeout(Duration::from_secs(20))
            .expect("an answer within 20 s");
        if message["id"] == id {
            return published;
        }
        if message["method"] == "textDocument/publishDiagnostics" {
            let params = &message["params"];
            published.push((
                params["uri"].as_str().unwrap().to_string(),
                params["diagnostics"].as_array().unwrap().clone(),
            ));
        }
    }
}

#[test]
fn only_files_whose_diagnostics_changed_are_published_again() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::write(root.join("flake.nix"), "{ outputs = _: { }; }\n").unwrap();
    std::fs::create_dir(root.join("modules")).unwrap();
    std::fs::write(root.join("modules/a.nix"), "{ a = 1; } }\n").unwrap();
    std::fs::write(root.join("modules/b.nix"), "{ b = 2; } }\n").unwrap();
    let mut client = Client::start(root);
    let a = format!("file://{}/modules/a.nix", root.display());
    let b = format!("file://{}/modules/b.nix", root.display());
    let mut first = published_until_checked(&mut client, &a);
    first.sort();
    assert_eq!(first, vec![a.clone(), b.clone()]);
    client.notify(
        "textDocument/didOpen",
        json!({ "textDocument": { "uri": a, "languageId": "nix", "version": 1, "text": "{ a = 1; } }\n" } }),
    );
    // a line above the error: only a.nix's diagnostics moved
    client.notify(
        "textDocument/didChange",
        json!({
            "textDocument": { "uri": a, "version": 2 },
            "contentChanges": [{ "text": "# a\n{ a = 1; } }\n" }]
        }),
    );
    assert_eq!(published_until_checked(&mut client, &a), vec![a.clone()]);
    // a comment after the error: nothing the editor shows changed, nothing is sent
    client.notify(
        "textDocument/didChange",
        json!({
            "textDocument": { "uri": a, "version": 3 },
            "contentChanges": [{ "text": "# a\n{ a = 1; } } # end\n" }]
        }),
    );
    assert_eq!(
        published_until_checked(&mut client, &a),
        Vec::<String>::new()
    );
    // fixing b.nix on disk (a watched-file event) clears b.nix alone
    std::fs::write(root.join("modules/b.nix"), "{ b = 2; }\n").unwrap();
    client.notify(
        "workspace/didChangeWatchedFiles",
        json!({ "changes": [{ "uri": b, "type": 2 }] }),
    );
    assert_eq!(published_until_checked(&mut client, &a), vec![b.clone()]);
    let _ = client.request("shutdown", Value::Null);
    client.notify("exit", Value::Null);
    assert!(client.child.wait().unwrap().success());
}

#[test]
fn rapid_edits_publish_only_the_newest_state() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    // broken on disk, so the start publishes an error that the final edit must clear
    std::fs::write(root.join("flake.nix"), "{ a = }\n").unwrap();
    let mut client = Client::start(root);
    let uri = format!("file://{}/flake.nix", root.display());
    assert!(!client.diagnostics_for(&uri).is_empty());
    client.notify(
        "textDocument/didOpen",
        json!({
            "textDocument": { "uri": uri, "languageId": "nix", "version": 1, "text": "{ a = }\n" }
        }),
    );
    // many edits, alternating broken and fixed, ending fixed
    for version in 2..=60 {
        let text = if version % 2 == 1 {
            "{ a = }\n"
        } else {
            "{ a = 1; }\n"
        };
        client.notify(
            "textDocument/didChange",
            json!({
                "textDocument": { "uri": uri, "version": version },
                "contentChanges": [{ "text": text }]
            }),
        );
    }
    // the last thing published for the file, once the server has gone quiet, is "nothing"
    let mut last = None;
    while let Ok(message) = client.messages.recv_timeout(Duration::from_millis(1000)) {
        if message["method"] == "textDocument/publishDiagnostics" && message["params"]["uri"] == uri
        {
            last = Some(message["params"]["diagnostics"].as_array().unwrap().len());
        }
    }
    assert_eq!(last, Some(0), "the final, fixed text must clear the error");
    let _ = client.request("shutdown", Value::Null);
    client.notify("exit", Value::Null);
    assert!(client.child.wait().unwrap().success());
}

#[test]
fn files_changed_on_disk_are_checked_unless_open_in_the_editor() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::write(root.join("flake.nix"), "{ outputs = _: { }; }\n").unwrap();
    std::fs::write(root.join("broken.nix"), "{ a = }\n").unwrap();
    std::fs::write(root.join("open.nix"), "{ b = 1; }\n").unwrap();
    let mut client = Client::start_with(
        root,
        json!({
            "general": { "positionEncodings": ["utf-16"] },
            "workspace": { "didChangeWatchedFiles": { "dynamicRegistration": true } }
        }),
    );
    // the server asks to watch the clan's files
    let register = client.wait_for(|m| m["method"] == "client/registerCapability");
    let registration = &register["params"]["registrations"][0];
    assert_eq!(registration["method"], "workspace/didChangeWatchedFiles");
    let globs: Vec<&str> = registration["registerOptions"]["watchers"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|w| w["globPattern"].as_str())
        .collect();
    assert!(
        globs.contains(&"**/*.nix") && globs.contains(&"**/vars/**"),
        "{globs:?}"
    );
    client.send(json!({ "jsonrpc": "2.0", "id": register["id"], "result": null }));

    let uri = |name: &str| format!("file://{}/{name}", root.display());
    assert!(!client.diagnostics_for(&uri("broken.nix")).is_empty());
    client.notify(
        "textDocument/didOpen",
        json!({
            "textDocument": { "uri": uri("open.nix"), "languageId": "nix", "version": 1, "text": "{ b = 1; }\n" }
        }),
    );

    // On disk: broken.nix fixed, new.nix created broken, open.nix broken (but open: the
    // editor's text stays what is checked).
    std::fs::write(root.join("broken.nix"), "{ a = 1; }\n").unwrap();
    std::fs::write(root.join("new.nix"), "{ c = ; }\n").unwrap();
    std::fs::write(root.join("open.nix"), "{ b = ; }\n").unwrap();
    let change = |name: &str, kind: u8| json!({ "uri": uri(name), "type": kind });
    client.notify(
        "workspace/didChangeWatchedFiles",
        json!({ "changes": [change("broken.nix", 2), change("new.nix", 1), change("open.nix", 2)] }),
    );
    assert!(
        client.diagnostics_for(&uri("broken.nix")).is_empty(),
        "fixed on disk: cleared"
    );
    let mut published = std::collections::BTreeMap::new();
    while let Ok(message) = client.messages.recv_timeout(Duration::from_millis(1000)) {
        if message["method"] == "textDocument/publishDiagnostics" {
            let file = message["params"]["uri"].as_str().unwrap().to_string();
            published.insert(
                file,
                message["params"]["diagnostics"].as_array().unwrap().len(),
            );
        }
    }
    assert!(
        published.get(&uri("new.nix")).is_some_and(|n| *n > 0),
        "{published:?}"
    );
    assert_eq!(published.get(&uri("open.nix")), None, "{published:?}");

    // deleted from disk: its diagnostics go
    std::fs::remove_file(root.join("new.nix")).unwrap();
    client.notify(
        "workspace/didChangeWatchedFiles",
        json!({ "changes": [change("new.nix", 3)] }),
    );
    assert!(client.diagnostics_for(&uri("new.nix")).is_empty());
    // closing the open document goes back to the disk's (broken) text
    client.notify(
        "textDocument/didClose",
        json!({ "textDocument": { "uri": uri("open.nix") } }),
    );
    assert!(!client.diagnostics_for(&uri("open.nix")).is_empty());

    let _ = client.request("shutdown", Value::Null);
    client.notify("exit", Value::Null);
    assert!(client.child.wait().unwrap().success());
}

/// The 0-based line and UTF-16 column of the `nth` occurrence of `needle` in `text`, plus
/// `shift` characters.
fn position_of(text: &str, needle: &str, nth: usize, shift: usize) -> Value {
    let offset = text.match_indices(needle).nth(nth).unwrap().0 + shift;
    let line = text[..offset].matches('\n').count();
    let column = offset - text[..offset].rfind('\n').map_or(0, |i| i + 1);
    json!({ "line": line, "character": column })
}

fn line_of(text: &str, needle: &str) -> usize {
    let offset = text.find(needle).unwrap();
    text[..offset].matches('\n').count()
}

fn hover_text(response: &Value) -> String {
    assert_eq!(
        response["result"]["contents"]["kind"], "markdown",
        "{response}"
    );
    response["result"]["contents"]["value"]
        .as_str()
        .unwrap()
        .to_string()
}

fn labels(response: &Value) -> Vec<String> {
    let items = response["result"].as_array().unwrap_or_else(|| {
        response["result"]["items"]
            .as_array()
            .unwrap_or_else(|| panic!("{response}"))
    });
    let mut labels: Vec<String> = items
        .iter()
        .map(|i| i["label"].as_str().unwrap().to_string())
        .collect();
    labels.sort();
    labels
}

/// The self-service fixture (pressroom): machines press, proof (tag web) and galley (darwin);
/// `instances.site` uses the flake's own `static-site` service.
#[test]
fn hover_definition_completion_and_model_diagnostics_on_a_clan() {
    let root =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/shapes/self-service");
    let root = root.canonicalize().unwrap();
    let mut client = Client::start(&root);
    let site_path = root.join("modules/clan/site.nix");
    let site_text = std::fs::read_to_string(&site_path).unwrap();
    let machines_text = std::fs::read_to_string(root.join("modules/clan/machines.nix")).unwrap();
    let service_text =
        std::fs::read_to_string(root.join("modules/services/static-site.nix")).unwrap();
    let site = format!("file://{}", site_path.display());
    let machines = format!("file://{}/modules/clan/machines.nix", root.display());
    let service = format!("file://{}/modules/services/static-site.nix", root.display());
    client.notify(
        "textDocument/didOpen",
        json!({ "textDocument": { "uri": site, "languageId": "nix", "version": 1, "text": site_text } }),
    );
    let at = |needle: &str, nth: usize, shift: usize| json!({ "textDocument": { "uri": site }, "position": position_of(&site_text, needle, nth, shift) });

    // hover on a machine named in a role: class, tags, target host, roles
    let hover = client.request("textDocument/hover", at("machines.press", 0, 10));
    let text = hover_text(&hover);
    for expected in [
        "machine `press`** (nixos)",
        "tags: `web`",
        "target host: `root@press.example.org`",
        "`site/server` (self/static-site)",
        "`sshd/server` (sshd)",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
    assert!(!text.contains("site/client"), "{text}");
    assert_eq!(
        hover["result"]["range"]["start"],
        position_of(&site_text, "press", 0, 0)
    );
    // and why it has each role, with file:line (1-based) of the definitions that put it there:
    // named in `site`'s server role; in sshd's server role by the tag `web`, its own tag
    let line = |text: &str, needle: &str| line_of(text, needle) + 1;
    let named = format!(
        "- `site/server` (self/static-site)\n  - named: instances.site.roles.server.machines.press at modules/clan/site.nix:{}",
        line(&site_text, "roles.server.machines.press")
    );
    let tagged = format!(
        "- `sshd/server` (sshd)\n  - tag web: instances.sshd.roles.server.tags at modules/clan/site.nix:{}\n    - inventory.machines.press.tags at modules/clan/machines.nix:{}",
        line(&site_text, "roles.server.tags.web"),
        line(&machines_text, "      tags = [ \"web\" ];")
    );
    for expected in [&named, &tagged] {
        assert!(
            text.contains(expected.as_str()),
            "missing {expected:?} in:\n{text}"
        );
    }

    // hover on a role key: description, options with types and defaults, machines
    let text = hover_text(&client.request("textDocument/hover", at("roles.server", 0, 7)));
    for expected in [
        "role `server`** of `self/static-site`",
        "Runs nginx for the site",
        "`port`: 16 bit unsigned integer",
        "default `8080`",
        "`domain`: string, **required**",
        "machines: `press`, `proof`",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }

    // hover on a setting key: its option's type and default
    let text = hover_text(&client.request("textDocument/hover", at("port = 8443", 0, 1)));
    assert!(text.contains("setting `port`"), "{text}");
    assert!(text.contains("default: `8080`"), "{text}");

    // hover on a tag: its machines
    let text = hover_text(&client.request("textDocument/hover", at("tags.web", 0, 6)));
    assert!(
        text.contains("tag `web`**\n\nmachines: `press`, `proof`"),
        "{text}"
    );

    // definition: a machine in a role -> its inventory definition
    let definition = client.request("textDocument/definition", at("machines.proof", 0, 10));
    assert_eq!(definition["result"]["uri"], machines, "{definition}");
    assert_eq!(
        definition["result"]["range"]["start"]["line"],
        line_of(&machines_text, "    proof = {"),
        "{definition}"
    );
    // module.name of a local service -> its clan.modules definition
    let definition = client.request("textDocument/definition", at("\"static-site\"", 0, 3));
    assert_eq!(definition["result"]["uri"], service, "{definition}");
    assert_eq!(
        definition["result"]["range"]["start"]["line"],
        line_of(&service_text, "clan.modules.static-site"),
        "{definition}"
    );

    // an unsaved edit naming a machine that does not exist: C001 from the model's checker
    let broken = site_text.replace(
        "    roles.client.machines.proof",
        "    roles.client.machines.ghost = { };\n    roles.client.machines.proof",
    );
    client.notify(
        "textDocument/didChange",
        json!({ "textDocument": { "uri": site, "version": 2 }, "contentChanges": [{ "text": broken }] }),
    );
    let diagnostics = client.diagnostics_for(&site);
    assert_eq!(diagnostics.len(), 1, "{diagnostics:?}");
    assert_eq!(diagnostics[0]["code"], "C001");
    assert_eq!(
        diagnostics[0]["range"]["start"],
        position_of(&broken, "ghost", 0, 0)
    );
    // and hover on the new name says it is not defined (the model of the edited text)
    let hover = client.request(
        "textDocument/hover",
        json!({ "textDocument": { "uri": site }, "position": position_of(&broken, "ghost", 0, 1) }),
    );
    assert!(hover_text(&hover).contains("not defined"), "{hover}");

    // completion while typing a binding that does not parse yet
    let typing = site_text.replace(
        "    roles.client.machines.proof",
        "    roles.server.machines.\n    roles.client.machines.proof",
    );
    client.notify(
        "textDocument/didChange",
        json!({ "textDocument": { "uri": site, "version": 3 }, "contentChanges": [{ "text": typing }] }),
    );
    let complete = |client: &mut Client, text: &str, needle: &str, shift: usize| {
        // after the check of the text (a hover waits for it): the text does not parse, so
        // the clan is unknown and the names come from the last model that knew them
        client.request(
            "textDocument/hover",
            json!({ "textDocument": { "uri": site }, "position": position_of(text, needle, 0, shift) }),
        );
        client.request(
            "textDocument/completion",
            json!({ "textDocument": { "uri": site }, "position": position_of(text, needle, 0, shift) }),
        )
    };
    let offered = complete(&mut client, &typing, "roles.server.machines.\n", 22);
    assert_eq!(labels(&offered), ["galley", "press", "proof"], "{offered}");
    // the same as the last line of the instance: now the file does not parse
    let typing = site_text.replace(
        "    roles.client.machines.proof.settings.interval = \"*:0/15\";\n",
        "    roles.client.machines.proof.settings.interval = \"*:0/15\";\n    roles.server.machines.\n",
    );
    client.notify(
        "textDocument/didChange",
        json!({ "textDocument": { "uri": site, "version": 4 }, "contentChanges": [{ "text": typing }] }),
    );
    let offered = complete(&mut client, &typing, "roles.server.machines.\n", 22);
    assert_eq!(labels(&offered), ["galley", "press", "proof"], "{offered}");
    let typing = site_text.replace(
        "    roles.client.machines.proof",
        "    roles.server.settings.\n    roles.client.machines.proof",
    );
    client.notify(
        "textDocument/didChange",
        json!({ "textDocument": { "uri": site, "version": 5 }, "contentChanges": [{ "text": typing }] }),
    );
    let offered = complete(&mut client, &typing, "roles.server.settings.\n", 22);
    assert_eq!(labels(&offered), ["domain", "port", "root"], "{offered}");
    let typing = site_text.replace("roles.server.tags.web", "roles.server.tags.w");
    client.notify(
        "textDocument/didChange",
        json!({ "textDocument": { "uri": site, "version": 6 }, "contentChanges": [{ "text": typing }] }),
    );
    // the sshd instance: tags after `tags.`, roles of the built-in service after `roles.`
    let offered = complete(&mut client, &typing, "roles.server.tags.w", 19);
    let tags = labels(&offered);
    assert!(
        tags.contains(&"web".to_string()) && tags.contains(&"darwin".to_string()),
        "{offered}"
    );
    assert!(!tags.contains(&"press".to_string()), "{offered}");
    let offered = complete(&mut client, &typing, "roles.server.tags.w", 6);
    assert_eq!(labels(&offered), ["client", "server"], "{offered}");

    // the fix clears the diagnostic
    client.notify(
        "textDocument/didChange",
        json!({ "textDocument": { "uri": site, "version": 7 }, "contentChanges": [{ "text": site_text }] }),
    );
    client.wait_for(|m| {
        m["method"] == "textDocument/publishDiagnostics"
            && m["params"]["uri"] == site
            && m["params"]["diagnostics"] == json!([])
    });

    let shutdown = client.request("shutdown", Value::Null);
    assert!(shutdown.get("error").is_none());
    client.notify("exit", Value::Null);
    assert!(client.child.wait().unwrap().success());
}

/// While a file of the clan does not parse, the clan's evaluation misses what that file
/// defines: the server reports the syntax error and no diagnostics the missing definitions
/// would invent (a role's machines "not defined", a tag matching nothing), hides the clan's
/// real ones until the file parses, then shows them again. Hover answers in files unchanged
/// since the clan was last known, from that model.
#[test]
fn a_file_that_does_not_parse_invents_no_diagnostics_elsewhere() {
    let dir = tempfile::tempdir().unwrap();
    let status = std::process::Command::new("cp")
        .arg("-r")
        .arg(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/shapes/self-service"))
        .arg(dir.path())
        .status()
        .unwrap();
    assert!(status.success());
    let root = dir.path().join("self-service").canonicalize().unwrap();
    let mut client = Client::start(&root);
    let site = format!("file://{}/modules/clan/site.nix", root.display());
    let machines = format!("file://{}/modules/clan/machines.nix", root.display());
    let site_text = std::fs::read_to_string(root.join("modules/clan/site.nix")).unwrap();
    let machines_text = std::fs::read_to_string(root.join("modules/clan/machines.nix")).unwrap();
    for (uri, text) in [(&site, &site_text), (&machines, &machines_text)] {
        client.notify(
            "textDocument/didOpen",
            json!({ "textDocument": { "uri": uri, "languageId": "nix", "version": 1, "text": text } }),
        );
    }
    // a real mistake in site.nix: a role naming a machine that does not exist
    let ghost = site_text.replace(
        "    roles.client.machines.proof",
        "    roles.client.machines.ghost = { };\n    roles.client.machines.proof",
    );
    client.notify(
        "textDocument/didChange",
        json!({ "textDocument": { "uri": site, "version": 2 }, "contentChanges": [{ "text": ghost }] }),
    );
    let codes = |diagnostics: &[Value]| -> Vec<String> {
        diagnostics
            .iter()
            .map(|d| d["code"].as_str().unwrap_or_default().to_string())
            .collect()
    };
    assert_eq!(codes(&client.diagnostics_for(&site)), ["C001"]);

    // machines.nix half-typed: the `;` after press's target host is missing
    let typing = machines_text.replacen(
        "deploy.targetHost = \"root@press.example.org\";",
        "deploy.targetHost = \"root@press.example.org\"",
        1,
    );
    assert_ne!(typing, machines_text);
    client.notify(
        "textDocument/didChange",
        json!({ "textDocument": { "uri": machines, "version": 2 }, "contentChanges": [{ "text": typing }] }),
    );
    // the syntax error in machines.nix; site.nix cleared (its C001 cannot be checked now),
    // and nothing else: press, proof and the tag `web` were not "not defined"
    let published = diagnostics_until_checked(&mut client, &machines);
    let mut shown: Vec<(&str, Vec<String>)> = published
        .iter()
        .map(|(uri, diagnostics)| (uri.as_str(), codes(diagnostics)))
        .collect();
    shown.sort();
    assert_eq!(
        shown,
        [
            // rnix recovers after the first error and stumbles at the end too
            (
                machines.as_str(),
                vec!["N001".to_string(), "N001".to_string()]
            ),
            (site.as_str(), vec![])
        ],
        "{published:?}"
    );
    // hover in site.nix, unchanged since the last model that knew the clan, answers from it
    let at_press = json!({ "textDocument": { "uri": site }, "position": position_of(&ghost, "machines.press", 0, 10) });
    let hover = client.request("textDocument/hover", at_press.clone());
    let text = hover_text(&hover);
    assert!(text.contains("machine `press`** (nixos)"), "{text}");
    // why press has its roles: site.nix's lines are of its text then (unchanged since), the
    // tag in machines.nix (changed since) is named by file only
    let tagged = format!(
        "  - tag web: instances.sshd.roles.server.tags at modules/clan/site.nix:{}\n    - inventory.machines.press.tags at modules/clan/machines.nix",
        line_of(&ghost, "roles.server.tags.web") + 1
    );
    assert!(
        text.ends_with(&tagged),
        "missing {tagged:?} at the end of:\n{text}"
    );
    // press is defined in machines.nix, whose text changed since: no position of then
    let definition = client.request("textDocument/definition", at_press);
    assert_eq!(definition["result"], Value::Null, "{definition}");
    // in machines.nix itself nothing is answered (the model's positions are of its old text)
    let hover = client.request(
        "textDocument/hover",
        json!({ "textDocument": { "uri": machines }, "position": position_of(&typing, "proof", 0, 1) }),
    );
    assert_eq!(hover["result"], Value::Null, "{hover}");

    // the `;` typed: the clan is checked again, the C001 is back
    client.notify(
        "textDocument/didChange",
        json!({ "textDocument": { "uri": machines, "version": 4 }, "contentChanges": [{ "text": machines_text }] }),
    );
    assert_eq!(codes(&client.diagnostics_for(&site)), ["C001"]);
    let _ = client.request("shutdown", Value::Null);
    client.notify("exit", Value::Null);
    assert!(client.child.wait().unwrap().success());
}

/// A machine tag clanc cannot know (it comes from an input it does not fetch): hover says so
/// rather than "no machine has this tag", and the machine's own hover lists it as unknown.
#[test]
fn hover_on_tags_says_when_a_machine_tag_is_unknown() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden/tag-element-unknown/input")
        .canonicalize()
        .unwrap();
    let mut client = Client::start(&root);
    let path = root.join("modules/inventory/wireguard.nix");
    let text = std::fs::read_to_string(&path).unwrap();
    let uri = format!("file://{}", path.display());
    client.notify(
        "textDocument/didOpen",
        json!({ "textDocument": { "uri": uri, "languageId": "nix", "version": 1, "text": text } }),
    );
    let at = |needle: &str, shift: usize| json!({ "textDocument": { "uri": uri }, "position": position_of(&text, needle, 0, shift) });
    let vpn = hover_text(&client.request("textDocument/hover", at("tags.vpn", 5)));
    assert!(
        vpn.contains("no machine is known to have this tag; some tags of `mbp` are unknown"),
        "{vpn}"
    );
    let beacon = hover_text(&client.request("textDocument/hover", at("machines.beacon", 9)));
    assert!(beacon.contains("tags: `server`\n"), "{beacon}");
    // admin's role tags are partly unknown, but the known `server` is beacon's: certain
    assert!(
        beacon.contains(
            "- `admin/default` (admin)\n  - tag server: instances.admin.roles.default.tags at modules/inventory/admin.nix:5\n    - inventory.machines.beacon.tags at modules/clan/inventory.nix:"
        ),
        "{beacon}"
    );

    let inventory = root.join("modules/clan/inventory.nix");
    let inventory_text = std::fs::read_to_string(&inventory).unwrap();
    let inventory_uri = format!("file://{}", inventory.display());
    client.notify(
        "textDocument/didOpen",
        json!({ "textDocument": { "uri": inventory_uri, "languageId": "nix", "version": 1, "text": inventory_text } }),
    );
    let mbp = hover_text(&client.request(
        "textDocument/hover",
        json!({ "textDocument": { "uri": inventory_uri }, "position": position_of(&inventory_text, "mbp", 0, 1) }),
    ));
    assert!(
        mbp.contains("tags: `laptop` and unknown ones (`vpnTag` of nixpkgs `lib` is not modelled)"),
        "{mbp}"
    );
    // its roles by tag cannot be known either way: listed with the reason, not left out
    for expected in [
        "- `admin/default` (admin): unknown (the role's `tags` are unknown: `adminTag` of nixpkgs `lib` is not modelled)",
        "- `wireguard/peer` (wireguard): unknown (some tags of machine `mbp` are unknown: `vpnTag` of nixpkgs `lib` is not modelled)",
    ] {
        assert!(mbp.contains(expected), "missing {expected:?} in:\n{mbp}");
    }
    let _ = client.request("shutdown", Value::Null);
    client.notify("exit", Value::Null);
    assert!(client.child.wait().unwrap().success());
}

/// A clan of one flake, for the tests of the protocol itself.
fn small_clan() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("flake.nix"), "{ outputs = _: { }; }\n").unwrap();
    dir
}

fn is_parse_error(message: &Value) -> bool {
    message["error"]["code"] == -32700 && message["id"] == Value::Null
}

#[test]
fn malformed_frames_are_answered_with_an_error_and_the_server_goes_on() {
    let dir = small_clan();
    let mut client = Client::start(dir.path());
    let uri = format!("file://{}/flake.nix", dir.path().display());
    // a header line without a colon and no Content-Length
    client.send_raw(b"this is no header\r\n\r\n");
    client.wait_for(is_parse_error);
    // a body that is not JSON
    client.send_raw(b"Content-Length: 9\r\n\r\n{ \"id\": 1");
    client.wait_for(is_parse_error);
    // JSON that is no message, with an id: the error answers that id
    client.send_raw(b"Content-Length: 36\r\n\r\n{\"jsonrpc\":\"2.0\",\"id\":41,\"method\":7}");
    let invalid = client.wait_for(|m| m["id"] == 41);
    assert_eq!(invalid["error"]["code"], -32600, "{invalid}");
    // the server still answers
    let hover = client.request(
        "textDocument/hover",
        json!({ "textDocument": { "uri": uri }, "position": { "line": 0, "character": 0 } }),
    );
    assert!(hover.get("error").is_none(), "{hover}");
    let shutdown = client.request("shutdown", Value::Null);
    assert!(shutdown.get("error").is_none(), "{shutdown}");
    client.notify("exit", Value::Null);
    assert_eq!(client.child.wait().unwrap().code(), Some(0));
}

/// A frame claiming 100 TB is refused at once without allocating it (the server's memory
/// stays small) and its body skipped: the server waits for it, alive, until the input ends.
#[test]
fn an_oversized_frame_is_refused_without_allocating_it() {
    let dir = small_clan();
    let mut client = Client::start(dir.path());
    client.send_raw(b"Content-Length: 99999999999999\r\n\r\n{\"jsonrpc\":\"2.0\"");
    let refusal = client.wait_for(is_parse_error);
    assert!(
        refusal["error"]["message"]
            .as_str()
            .unwrap()
            .contains("64 MiB"),
        "{refusal}"
    );
    std::thread::sleep(Duration::from_millis(200));
    assert!(client.child.try_wait().unwrap().is_none(), "still running");
    let status = std::fs::read_to_string(format!("/proc/{}/status", client.child.id())).unwrap();
    let rss_kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap();
    assert!(rss_kb < 512 * 1024, "{rss_kb} KB");
    // the end of input inside the skipped body, without shutdown: status 1
    client.close_input();
    assert_eq!(client.child.wait().unwrap().code(), Some(1));
}

#[test]
fn shutdown_refuses_later_requests_and_exit_reports_whether_it_came_first() {
    let dir = small_clan();
    let uri = format!("file://{}/flake.nix", dir.path().display());
    let mut client = Client::start(dir.path());
    let shutdown = client.request("shutdown", Value::Null);
    assert_eq!(shutdown["result"], Value::Null, "{shutdown}");
    let after = client.request(
        "textDocument/hover",
        json!({ "textDocument": { "uri": uri }, "position": { "line": 0, "character": 0 } }),
    );
    assert_eq!(after["error"]["code"], -32600, "{after}");
    client.notify("exit", Value::Null);
    assert_eq!(client.child.wait().unwrap().code(), Some(0));

    // `exit` without `shutdown`: 1
    let mut client = Client::start(dir.path());
    client.notify("exit", Value::Null);
    assert_eq!(client.child.wait().unwrap().code(), Some(1));
}

/// While a slow check of an edit runs, a hover in a file the edit did not touch is answered
/// at once from the last finished check; one in the edited file waits for the new check (its
/// positions are in the new text).
#[test]
fn hover_is_answered_from_the_last_check_while_a_slow_one_runs() {
    let root =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/shapes/self-service");
    let root = root.canonicalize().unwrap();
    let mut client = Client::start(&root);
    let site_path = root.join("modules/clan/site.nix");
    let site_text = std::fs::read_to_string(&site_path).unwrap();
    let site = format!("file://{}", site_path.display());
    let machines_path = root.join("modules/clan/machines.nix");
    let machines_text = std::fs::read_to_string(&machines_path).unwrap();
    let machines = format!("file://{}", machines_path.display());
    let on_press = json!({ "textDocument": { "uri": site }, "position": position_of(&site_text, "machines.press", 0, 10) });
    // the first check: answered once it is done
    assert!(
        hover_text(&client.request("textDocument/hover", on_press.clone()))
            .contains("machine `press`")
    );

    // an edit that makes the check slow: a target host computed by work doubling 2^SLOW times
    let slow = machines_text.replace(
        "deploy.targetHost = \"ines@galley.local\";",
        &format!(
            "deploy.targetHost = let f = n: if n == 0 then \"ines@galley.local\" else \
             (let a = f (n - 1); b = f (n - 1); in if a == b then a else \"\"); in f {SLOW};"
        ),
    );
    assert_ne!(slow, machines_text);
    client.notify(
        "textDocument/didOpen",
        json!({ "textDocument": { "uri": machines, "languageId": "nix", "version": 1, "text": machines_text } }),
    );
    client.notify(
        "textDocument/didChange",
        json!({ "textDocument": { "uri": machines, "version": 2 }, "contentChanges": [{ "text": slow }] }),
    );
    let edited_at = std::time::Instant::now();
    client.send(
        json!({ "jsonrpc": "2.0", "id": 501, "method": "textDocument/hover", "params": on_press }),
    );
    client.send(json!({
        "jsonrpc": "2.0", "id": 502, "method": "textDocument/hover",
        "params": { "textDocument": { "uri": machines }, "position": position_of(&slow, "galley", 0, 1) }
    }));
    let mut answered = Vec::new();
    while answered.len() < 2 {
        let message = client
            .messages
            .recv_timeout(Duration::from_secs(120))
            .expect("both hovers answered");
        if message["id"] == 501 || message["id"] == 502 {
            answered.push((message["id"].clone(), edited_at.elapsed(), message));
        }
    }
    let (first, unchanged_after, unchanged) = &answered[0];
    let (_, edited_after, _) = &answered[1];
    assert_eq!(*first, 501, "{answered:?}");
    assert!(
        hover_text(unchanged).contains("machine `press`"),
        "{unchanged}"
    );
    // generous bounds: the unchanged file's answer does not wait for the slow check
    assert!(*unchanged_after < Duration::from_secs(5), "{answered:?}");
    assert!(
        *edited_after > *unchanged_after + Duration::from_secs(1),
        "the slow check took long enough to show the difference: {answered:?}"
    );
    let _ = client.request("shutdown", Value::Null);
    client.notify("exit", Value::Null);
    assert!(client.child.wait().unwrap().success());
}

/// The doubling of the slow edit above: long enough that its check takes seconds in a debug
/// build, far below the evaluation's step budget.
const SLOW: u32 = 20;

/// A file that is not UTF-8 gets N006 from the language server as from `clanc check`, at its
/// first invalid byte, and loses it once saved as UTF-8.
#[test]
fn a_file_that_is_not_utf8_is_reported_as_check_reports_it() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::write(root.join("flake.nix"), "{ outputs = _: { }; }\n").unwrap();
    std::fs::write(root.join("latin1.nix"), b"{ name = \"caf\xe9\"; }\n").unwrap();
    let mut client = Client::start_with(
        root,
        json!({
            "general": { "positionEncodings": ["utf-16"] },
            "workspace": { "didChangeWatchedFiles": { "dynamicRegistration": true } }
        }),
    );
    let uri = format!("file://{}/latin1.nix", root.display());
    let published = client.diagnostics_for(&uri);
    let n006: Vec<&Value> = published.iter().filter(|d| d["code"] == "N006").collect();
    assert_eq!(n006.len(), 1, "{published:?}");
    assert_eq!(
        n006[0]["range"]["start"],
        json!({ "line": 0, "character": 13 }),
        "{published:?}"
    );
    std::fs::write(root.join("latin1.nix"), "{ name = \"café\"; }\n").unwrap();
    client.notify(
        "workspace/didChangeWatchedFiles",
        json!({ "changes": [ { "uri": uri, "type": 2 } ] }),
    );
    assert_eq!(client.diagnostics_for(&uri), Vec::<Value>::new());
    client.request("shutdown", Value::Null);
    client.notify("exit", Value::Null);
}
