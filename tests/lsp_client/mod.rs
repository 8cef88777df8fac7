//! A client of `clanc lsp` over stdio (JSON-RPC with Content-Length framing), shared by
//! tests/lsp.rs and benches/lsp.rs.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

pub struct Client {
    pub child: Child,
    stdin: Option<ChildStdin>,
    pub messages: Receiver<Value>,
    next_id: i64,
}

impl Client {
    pub fn start(root: &std::path::Path) -> Client {
        Client::start_with(
            root,
            json!({ "general": { "positionEncodings": ["utf-16"] } }),
        )
    }

    pub fn start_with(root: &std::path::Path, capabilities: Value) -> Client {
        Client::start_in(root, capabilities, None)
    }

    /// [`Client::start`], the server's `XDG_CACHE_HOME` (where it finds what `clanc check`
    /// keeps) set to `cache_home`.
    pub fn start_with_cache_home(root: &std::path::Path, cache_home: &std::path::Path) -> Client {
        let capabilities = json!({ "general": { "positionEncodings": ["utf-16"] } });
        Client::start_in(root, capabilities, Some(cache_home))
    }

    fn start_in(
        root: &std::path::Path,
        capabilities: Value,
        cache_home: Option<&std::path::Path>,
    ) -> Client {
        let mut command = Command::new(env!("CARGO_BIN_EXE_clanc"));
        if let Some(cache_home) = cache_home {
            command.env("XDG_CACHE_HOME", cache_home);
        }
        let mut child = command
            .arg("lsp")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, messages) = channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            loop {
                let mut length = 0usize;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let line = line.trim_end();
                    if line.is_empty() {
                        break;
                    }
                    if let Some(n) = line.strip_prefix("Content-Length: ") {
                        length = n.parse().unwrap();
                    }
                }
                let mut body = vec![0; length];
                if reader.read_exact(&mut body).is_err() {
                    return;
                }
                if tx.send(serde_json::from_slice(&body).unwrap()).is_err() {
                    return;
                }
            }
        });
        let mut client = Client {
            child,
            stdin: Some(stdin),
            messages,
            next_id: 1,
        };
        let root_uri = format!("file://{}", root.display());
        let init = client.request(
            "initialize",
            json!({
                "processId": null,
                "rootUri": root_uri,
                "capabilities": capabilities,
            }),
        );
        assert_eq!(
            init["result"]["capabilities"]["textDocumentSync"], 2,
            "{init}"
        );
        assert_eq!(init["result"]["capabilities"]["positionEncoding"], "utf-16");
        client.notify("initialized", json!({}));
        client
    }

    pub fn send(&mut self, message: Value) {
        let body = message.to_string();
        self.send_raw(format!("Content-Length: {}\r\n\r\n{}", body.len(), body).as_bytes());
    }

    /// Writes bytes as they are: frames of the client's own making, malformed ones too.
    pub fn send_raw(&mut self, bytes: &[u8]) {
        let stdin = self.stdin.as_mut().expect("the input is open");
        stdin.write_all(bytes).unwrap();
        stdin.flush().unwrap();
    }

    /// Closes the server's input (the end of the stream, as when an editor dies).
    pub fn close_input(&mut self) {
        self.stdin = None;
    }

    pub fn notify(&mut self, method: &str, params: Value) {
        self.send(json!({ "jsonrpc": "2.0", "method": method, "params": params }));
    }

    pub fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        self.send(json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params }));
        self.wait_for(|m| m["id"] == id)
    }

    pub fn wait_for(&mut self, wanted: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.messages.recv_timeout(left) {
                Ok(message) if wanted(&message) => return message,
                Ok(_) => {}
                Err(RecvTimeoutError::Timeout) => panic!("no expected message within 20 s"),
                Err(RecvTimeoutError::Disconnected) => panic!("the server closed its output"),
            }
        }
    }

    /// The next diagnostics published for `uri`.
    pub fn diagnostics_for(&mut self, uri: &str) -> Vec<Value> {
        let message = self.wait_for(|m| {
            m["method"] == "textDocument/publishDiagnostics" && m["params"]["uri"] == uri
        });
        message["params"]["diagnostics"].as_array().unwrap().clone()
    }
}
