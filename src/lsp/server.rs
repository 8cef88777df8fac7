//! The server loop: messages from the client on one channel, finished checks on another.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crossbeam_channel::{Receiver, Sender, select};
use lsp_server::{Connection, Message, Notification, Request, Response};
use lsp_types::notification::{
    DidChangeTextDocument, DidCloseTextDocument, DidOpenTextDocument, Notification as _,
    PublishDiagnostics,
};
use lsp_types::{
    DiagnosticRelatedInformation, DiagnosticSeverity, InitializeParams, Location, NumberOrString,
    PositionEncodingKind, PublishDiagnosticsParams, ServerCapabilities, TextDocumentSyncCapability,
    TextDocumentSyncKind,
};
use salsa::Setter;

use super::position::{Encoding, from_lsp, to_lsp};
use super::uri;
use crate::db::{Database, SourceFile, Workspace};
use crate::diagnostics::{Diagnostic, Severity};
use crate::syntax::LineIndex;

/// Runs the server on stdin/stdout until the client says `exit`. Returns the exit status.
pub fn run_stdio() -> u8 {
    let (connection, io_threads) = Connection::stdio();
    let status = match serve(&connection) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("clanc lsp: {e}");
            1
        }
    };
    drop(connection);
    if io_threads.join().is_err() {
        return 1;
    }
    status
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn serve(connection: &Connection) -> Result<(), BoxError> {
    let capabilities_for = |encoding: &PositionEncodingKind| ServerCapabilities {
        position_encoding: Some(encoding.clone()),
        text_document_sync: Some(TextDocumentSyncCapability::Kind(
            TextDocumentSyncKind::INCREMENTAL,
        )),
        ..ServerCapabilities::default()
    };
    let (id, params) = connection.initialize_start()?;
    let params: InitializeParams = serde_json::from_value(params)?;
    let (encoding, kind) = negotiate_encoding(&params);
    let result = serde_json::json!({
        "capabilities": capabilities_for(&kind),
        "serverInfo": { "name": "clanc", "version": env!("CARGO_PKG_VERSION") },
    });
    connection.initialize_finish(id, result)?;

    let root = clan_root(&params);
    let mut server = Server::new(root, encoding, connection.sender.clone())?;
    server.schedule_check();
    loop {
        select! {
            recv(connection.receiver) -> message => {
                let Ok(message) = message else { return Ok(()) };
                match message {
                    Message::Request(request) => {
                        if connection.handle_shutdown(&request)? {
                            return Ok(());
                        }
                        server.on_request(request);
                    }
                    Message::Notification(notification) => server.on_notification(notification),
                    Message::Response(_) => {}
                }
            }
            recv(server.results_rx) -> result => {
                if let Ok(result) = result {
                    server.on_check_done(result);
                }
            }
        }
    }
}

fn negotiate_encoding(params: &InitializeParams) -> (Encoding, PositionEncodingKind) {
    let offered = params
        .capabilities
        .general
        .as_ref()
        .and_then(|g| g.position_encodings.clone())
        .unwrap_or_default();
    if offered.contains(&PositionEncodingKind::UTF8) {
        (Encoding::Utf8, PositionEncodingKind::UTF8)
    } else if offered.contains(&PositionEncodingKind::UTF32) {
        (Encoding::Utf32, PositionEncodingKind::UTF32)
    } else {
        (Encoding::Utf16, PositionEncodingKind::UTF16)
    }
}

/// The workspace folder (or root URI, or the current directory), moved up to the nearest
/// ancestor holding `flake.nix` when it has none itself.
fn clan_root(params: &InitializeParams) -> PathBuf {
    #[allow(deprecated)] // root_uri: older clients send only this
    let folder = params
        .workspace_folders
        .as_ref()
        .and_then(|f| f.first())
        .and_then(|f| uri::to_path(&f.uri))
        .or_else(|| params.root_uri.as_ref().and_then(uri::to_path))
        .or_else(|| std::env::current_dir().ok())
        .unwrap_or_else(|| PathBuf::from("."));
    folder
        .ancestors()
        .find(|dir| dir.join("flake.nix").is_file())
        .map_or(folder.clone(), Path::to_path_buf)
}

struct CheckDone {
    generation: u64,
    diagnostics: Option<Vec<Diagnostic>>,
}

struct Server {
    root: PathBuf,
    encoding: Encoding,
    db: Database,
    workspace: Workspace,
    files: BTreeMap<String, SourceFile>,
    sender: Sender<Message>,
    results_tx: Sender<CheckDone>,
    results_rx: Receiver<CheckDone>,
    generation: u64,
    published: BTreeSet<String>,
}

impl Server {
    fn new(root: PathBuf, encoding: Encoding, sender: Sender<Message>) -> Result<Server, BoxError> {
        let mut db = Database::default();
        let loaded = crate::loader::load_clan(&mut db, &root)?;
        let files = loaded
            .workspace
            .files(&db)
            .iter()
            .map(|f| (f.path(&db).clone(), *f))
            .collect();
        let (results_tx, results_rx) = crossbeam_channel::unbounded();
        Ok(Server {
            root,
            encoding,
            db,
            workspace: loaded.workspace,
            files,
            sender,
            results_tx,
            results_rx,
            generation: 0,
            published: BTreeSet::new(),
        })
    }

    fn on_request(&mut self, request: Request) {
        let response = Response::new_err(
            request.id,
            lsp_server::ErrorCode::MethodNotFound as i32,
            format!("clanc does not handle `{}` yet", request.method),
        );
        let _ = self.sender.send(response.into());
    }

    fn on_notification(&mut self, notification: Notification) {
        match notification.method.as_str() {
            DidOpenTextDocument::METHOD => {
                if let Ok(p) = notification
                    .extract::<lsp_types::DidOpenTextDocumentParams>(DidOpenTextDocument::METHOD)
                {
                    self.set_text(&p.text_document.uri, Some(p.text_document.text));
                }
            }
            DidChangeTextDocument::METHOD => {
                if let Ok(p) = notification.extract::<lsp_types::DidChangeTextDocumentParams>(
                    DidChangeTextDocument::METHOD,
                ) {
                    self.apply_changes(&p.text_document.uri, p.content_changes);
                }
            }
            DidCloseTextDocument::METHOD => {
                if let Ok(p) = notification
                    .extract::<lsp_types::DidCloseTextDocumentParams>(DidCloseTextDocument::METHOD)
                {
                    // Back to what is on disk (or gone, if the file was never saved).
                    let on_disk = uri::to_path(&p.text_document.uri)
                        .and_then(|path| std::fs::read_to_string(path).ok());
                    self.set_text(&p.text_document.uri, on_disk);
                }
            }
            _ => {}
        }
    }

    /// The clan-relative path of a document, if it belongs to the clan.
    fn relative(&self, document: &lsp_types::Uri) -> Option<String> {
        let rel = crate::loader::relative(&self.root, &uri::to_path(document)?)?;
        crate::loader::is_clan_file(&rel).then_some(rel)
    }

    fn apply_changes(
        &mut self,
        document: &lsp_types::Uri,
        changes: Vec<lsp_types::TextDocumentContentChangeEvent>,
    ) {
        let Some(rel) = self.relative(document) else {
            return;
        };
        let Some(file) = self.files.get(&rel) else {
            return;
        };
        let mut text = file.text(&self.db).to_string();
        for change in changes {
            match change.range {
                None => text = change.text,
                Some(range) => {
                    let index = LineIndex::new(&text);
                    let start = from_lsp(&text, &index, range.start, self.encoding);
                    let end = from_lsp(&text, &index, range.end, self.encoding).max(start);
                    text.replace_range(start..end, &change.text);
                }
            }
        }
        self.set_text(document, Some(text));
    }

    /// Sets (or, with `None`, removes) a document's text and schedules a check.
    fn set_text(&mut self, document: &lsp_types::Uri, text: Option<String>) {
        let Some(rel) = self.relative(document) else {
            return;
        };
        match (self.files.get(&rel).copied(), text) {
            (Some(file), Some(text)) => {
                if file.text(&self.db).as_ref() == text.as_str() {
                    return; // opening a file as it is on disk changes nothing
                }
                file.set_text(&mut self.db).to(Arc::from(text));
            }
            (None, Some(text)) => {
                let file = SourceFile::new(&self.db, rel.clone(), Arc::from(text));
                self.files.insert(rel, file);
                self.update_file_list();
            }
            (Some(_), None) => {
                self.files.remove(&rel);
                self.update_file_list();
            }
            (None, None) => return,
        }
        self.schedule_check();
    }

    fn update_file_list(&mut self) {
        let files: Vec<SourceFile> = self.files.values().copied().collect();
        self.workspace.set_files(&mut self.db).to(files);
    }

    /// Starts a check of the current texts on a worker thread. An older check still running is
    /// cancelled by the write that preceded this call (salsa unwinds it with `Cancelled`).
    fn schedule_check(&mut self) {
        self.generation += 1;
        let generation = self.generation;
        let snapshot = self.db.clone();
        let workspace = self.workspace;
        let tx = self.results_tx.clone();
        std::thread::spawn(move || {
            let diagnostics =
                salsa::Cancelled::catch(|| crate::check::check_workspace(&snapshot, workspace))
                    .ok();
            drop(snapshot);
            let _ = tx.send(CheckDone {
                generation,
                diagnostics,
            });
        });
    }

    fn on_check_done(&mut self, done: CheckDone) {
        // A check of older text is never published.
        if done.generation != self.generation {
            return;
        }
        let Some(diagnostics) = done.diagnostics else {
            return;
        };
        let mut by_file: BTreeMap<String, Vec<lsp_types::Diagnostic>> = BTreeMap::new();
        let mut indexes: HashMap<String, LineIndex> = HashMap::new();
        for d in &diagnostics {
            let converted = self.convert(d, &mut indexes);
            by_file
                .entry(d.span.file.clone())
                .or_default()
                .push(converted);
        }
        let now: BTreeSet<String> = by_file.keys().cloned().collect();
        for cleared in self.published.difference(&now) {
            by_file.entry(cleared.clone()).or_default();
        }
        for (file, diagnostics) in by_file {
            let Some(uri) = uri::from_path(&self.root.join(&file)) else {
                continue;
            };
            let params = PublishDiagnosticsParams {
                uri,
                diagnostics,
                version: None,
            };
            let notification = Notification::new(PublishDiagnostics::METHOD.to_string(), params);
            let _ = self.sender.send(notification.into());
        }
        self.published = now;
    }

    fn range(
        &self,
        file: &str,
        range: rnix::TextRange,
        indexes: &mut HashMap<String, LineIndex>,
    ) -> lsp_types::Range {
        let text: Arc<str> = self
            .files
            .get(file)
            .map(|f| f.text(&self.db).clone())
            .unwrap_or_default();
        let index = indexes
            .entry(file.to_string())
            .or_insert_with(|| LineIndex::new(&text));
        lsp_types::Range {
            start: to_lsp(&text, index, range.start(), self.encoding),
            end: to_lsp(&text, index, range.end(), self.encoding),
        }
    }

    fn convert(
        &self,
        d: &Diagnostic,
        indexes: &mut HashMap<String, LineIndex>,
    ) -> lsp_types::Diagnostic {
        let related = d
            .labels
            .iter()
            .filter_map(|label| {
                Some(DiagnosticRelatedInformation {
                    location: Location {
                        uri: uri::from_path(&self.root.join(&label.span.file))?,
                        range: self.range(&label.span.file, label.span.range, indexes),
                    },
                    message: label.message.clone(),
                })
            })
            .collect::<Vec<_>>();
        let mut message = d.message.clone();
        if let Some(help) = &d.help {
            message.push_str("\nhelp: ");
            message.push_str(help);
        }
        lsp_types::Diagnostic {
            range: self.range(&d.span.file, d.span.range, indexes),
            severity: Some(match d.severity {
                Severity::Error => DiagnosticSeverity::ERROR,
                Severity::Warning => DiagnosticSeverity::WARNING,
                Severity::Info => DiagnosticSeverity::INFORMATION,
            }),
            code: Some(NumberOrString::String(d.code.to_string())),
            source: Some("clanc".to_string()),
            message,
            related_information: (!related.is_empty()).then_some(related),
            ..lsp_types::Diagnostic::default()
        }
    }
}
