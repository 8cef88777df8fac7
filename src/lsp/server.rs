//! The server loop: messages from the client on one channel, finished checks on another.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crossbeam_channel::{Receiver, Sender, select};
use lsp_server::{Message, Notification, Request, Response};
use lsp_types::notification::{
    DidChangeTextDocument, DidChangeWatchedFiles, DidCloseTextDocument, DidOpenTextDocument,
    Notification as _, PublishDiagnostics, ShowMessage,
};
use lsp_types::request::{
    Completion, GotoDefinition, HoverRequest, RegisterCapability, Request as _,
};
use lsp_types::{
    CompletionItem, CompletionItemKind, CompletionOptions, CompletionResponse,
    DiagnosticRelatedInformation, DiagnosticSeverity, GotoDefinitionResponse, Hover, HoverContents,
    HoverProviderCapability, InitializeParams, Location, MarkupContent, MarkupKind, MessageType,
    NumberOrString, OneOf, PositionEncodingKind, PublishDiagnosticsParams, ServerCapabilities,
    ShowMessageParams, TextDocumentPositionParams, TextDocumentSyncCapability,
    TextDocumentSyncKind,
};

use super::check_thread::{self, CheckDone, CheckJob};
use super::position::{Encoding, from_lsp, to_lsp};
use super::transport::{self, Incoming, Transport};
use super::{completion, features, uri, watch};
use crate::analysis::AnalysisHost;
use crate::diagnostics::{Diagnostic, Severity, Span};
use crate::model::Clan;
use crate::syntax::LineIndex;

/// Runs the server on stdin/stdout until the client says `exit`. Returns the exit status: 0
/// for `exit` after `shutdown`, 1 for `exit` without it, for the end of input before it, or
/// for a failure to start.
pub fn run_stdio() -> u8 {
    let transport = match Transport::stdio() {
        Ok(transport) => transport,
        Err(e) => {
            eprintln!("clanc lsp: cannot start: {e}");
            return 1;
        }
    };
    let status = match serve(&transport) {
        Ok(status) => status,
        Err(e) => {
            eprintln!("clanc lsp: {e}");
            1
        }
    };
    // Everything sent (the answer to `shutdown` too) is written before the process ends.
    transport.finish();
    status
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Waits for `initialize`: requests before it are answered with `ServerNotInitialized`,
/// notifications are dropped (`exit` ends the server: `None`), malformed frames answered.
fn wait_for_initialize(
    transport: &Transport,
) -> Result<Option<(lsp_server::RequestId, InitializeParams)>, BoxError> {
    for item in &transport.incoming {
        match item {
            Incoming::Invalid(error) => transport.raw.send(error)?,
            Incoming::Message(Message::Request(request)) if request.method == "initialize" => {
                match serde_json::from_value::<InitializeParams>(request.params) {
                    Ok(params) => return Ok(Some((request.id, params))),
                    Err(e) => transport.sender.send(transport::error_response(
                        request.id,
                        lsp_server::ErrorCode::InvalidParams,
                        format!("initialize: {e}"),
                    ))?,
                }
            }
            Incoming::Message(Message::Request(request)) => {
                transport.sender.send(transport::error_response(
                    request.id,
                    lsp_server::ErrorCode::ServerNotInitialized,
                    format!("`{}` before `initialize`", request.method),
                ))?;
            }
            Incoming::Message(Message::Notification(n)) if transport::is_exit(&n) => {
                return Ok(None);
            }
            Incoming::Message(_) => {}
        }
    }
    Ok(None)
}

fn serve(transport: &Transport) -> Result<u8, BoxError> {
    let capabilities_for = |encoding: &PositionEncodingKind| ServerCapabilities {
        position_encoding: Some(encoding.clone()),
        text_document_sync: Some(TextDocumentSyncCapability::Kind(
            TextDocumentSyncKind::INCREMENTAL,
        )),
        hover_provider: Some(HoverProviderCapability::Simple(true)),
        definition_provider: Some(OneOf::Left(true)),
        completion_provider: Some(CompletionOptions {
            trigger_characters: Some(vec![".".to_string(), "\"".to_string()]),
            ..CompletionOptions::default()
        }),
        ..ServerCapabilities::default()
    };
    let Some((id, params)) = wait_for_initialize(transport)? else {
        return Ok(1);
    };
    let (encoding, kind) = negotiate_encoding(&params);
    let result = serde_json::json!({
        "capabilities": capabilities_for(&kind),
        "serverInfo": { "name": "clanc", "version": env!("CARGO_PKG_VERSION") },
    });
    transport.sender.send(Response::new_ok(id, result).into())?;

    let root = clan_root(&params);
    let mut server = Server::new(root, encoding, transport.sender.clone())?;
    if watch::client_can_watch(&params) {
        let request = Request::new(
            lsp_server::RequestId::from(REGISTER_WATCHERS_ID.to_string()),
            RegisterCapability::METHOD.to_string(),
            watch::registration(),
        );
        transport.sender.send(request.into())?;
    }
    server.schedule_check();
    // The LSP shutdown protocol: after `shutdown`, requests are refused and only `exit` is
    // heeded; `exit` ends the server with 0 after `shutdown`, 1 without it.
    let mut shut_down = false;
    loop {
        select! {
            recv(transport.incoming) -> item => {
                let Ok(item) = item else {
                    // the client closed its end without `exit`
                    return Ok(u8::from(!shut_down));
                };
                match item {
                    Incoming::Invalid(error) => {
                        let _ = transport.raw.send(error);
                    }
                    Incoming::Message(Message::Request(request)) => {
                        if shut_down {
                            let _ = transport.sender.send(transport::error_response(
                                request.id,
                                lsp_server::ErrorCode::InvalidRequest,
                                format!("`{}` after `shutdown`", request.method),
                            ));
                        } else if request.method == "shutdown" {
                            shut_down = true;
                            let _ = transport.sender.send(Response::new_ok(request.id, ()).into());
                        } else {
                            server.on_request(request);
                        }
                    }
                    Incoming::Message(Message::Notification(notification)) => {
                        if transport::is_exit(&notification) {
                            return Ok(u8::from(!shut_down));
                        }
                        if !shut_down {
                            server.on_notification(notification);
                        }
                    }
                    Incoming::Message(Message::Response(_)) => {}
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

/// The id of the server's one request to the client (watching the clan's files); its answer
/// is not needed.
const REGISTER_WATCHERS_ID: &str = "clanc-register-watchers";

struct Server {
    /// The clan's directory as the client named it (documents' paths are relative to it).
    root: PathBuf,
    encoding: Encoding,
    /// The clan: files (open documents with the editor's texts), listings, the newest memo.
    host: AnalysisHost,
    sender: Sender<Message>,
    results_tx: Sender<CheckDone>,
    results_rx: Receiver<CheckDone>,
    /// The check thread's queue (`None` when the thread could not be started).
    jobs: Option<Sender<CheckJob>>,
    generation: u64,
    /// What was last published for each file that has diagnostics (clan-relative).
    published: BTreeMap<String, Vec<lsp_types::Diagnostic>>,
    /// The model of the newest finished check, and the generation it was built for.
    model: Option<(u64, Arc<Clan>)>,
    /// The newest model whose clan is known, and the generation it was built for: while the
    /// file being typed in does not parse, the clan is unknown, and completion offers the
    /// names last known; hover and definition answer from it in files unchanged since.
    names: Option<(u64, Arc<Clan>)>,
    /// The generation each file last changed in (clan-relative; files never edited: none).
    changed_in: BTreeMap<String, u64>,
    /// The generation files were last read from disk in (any of them may have changed).
    reloaded_in: u64,
    /// Why the clan cannot be read from disk, while it cannot ([`Server::set_refused`]).
    refused: Option<String>,
    /// Hover and definition requests waiting for the model of the current text (the model's
    /// spans must match the text the positions are in).
    waiting: Vec<Request>,
    /// The generation of the newest check that finished for the then current text, with a
    /// model or without one (nothing newer is coming until the next change).
    checked: u64,
}

impl Server {
    fn new(root: PathBuf, encoding: Encoding, sender: Sender<Message>) -> Result<Server, BoxError> {
        // A clan that cannot be read (a FIFO or device where a file belongs, a file past the
        // size limits) is said to the user and waited out: the server stays, with nothing
        // loaded, and reads the clan again when its files change.
        // The files as the last `clanc check` lowered them, when its cache keeps them: the
        // first check lowers only what changed since.
        let lowered_before = crate::cache::lowered_files_kept_for(&root, None);
        let (host, refused) = match AnalysisHost::load_lowering_from(&root, lowered_before) {
            Ok(host) => (host, None),
            Err(crate::loader::LoadError::NotADirectory(path)) => {
                return Err(format!("`{}` is not a directory", path.display()).into());
            }
            Err(refusal) => (AnalysisHost::unloaded(&root), Some(refusal.to_string())),
        };
        let (results_tx, results_rx) = crossbeam_channel::unbounded();
        let jobs = match check_thread::start(results_tx.clone()) {
            Ok(jobs) => Some(jobs),
            Err(e) => {
                eprintln!("clanc lsp: cannot start the check thread: {e}");
                None
            }
        };
        let mut server = Server {
            root,
            encoding,
            host,
            sender,
            results_tx,
            results_rx,
            jobs,
            generation: 0,
            published: BTreeMap::new(),
            model: None,
            names: None,
            changed_in: BTreeMap::new(),
            reloaded_in: 0,
            waiting: Vec::new(),
            checked: 0,
            refused: None,
        };
        server.set_refused(refused);
        Ok(server)
    }

    /// Records why the clan cannot be read from disk (`None`: it can), telling the user when
    /// that changes. While the clan is refused nothing is checked: a check of what could be
    /// read would report what the unread files define as missing.
    fn set_refused(&mut self, refused: Option<String>) {
        if self.refused == refused {
            return;
        }
        let message = match &refused {
            Some(reason) => {
                eprintln!("clanc lsp: {reason}");
                ShowMessageParams {
                    typ: MessageType::ERROR,
                    message: format!(
                        "clanc: {reason}; the clan is not checked until that file is a regular \
                         file within the size limits"
                    ),
                }
            }
            None => ShowMessageParams {
                typ: MessageType::INFO,
                message: "clanc: the clan can be read again and is checked".to_string(),
            },
        };
        let notification = Notification::new(ShowMessage::METHOD.to_string(), message);
        let _ = self.sender.send(notification.into());
        self.refused = refused;
    }

    fn on_request(&mut self, request: Request) {
        match request.method.as_str() {
            // Answered at once from the last finished check when the request's file has not
            // changed since (its spans are positions in the text the editor shows), however
            // long a newer check takes; otherwise when the check of the current text is done.
            HoverRequest::METHOD | GotoDefinition::METHOD => {
                let answerable = self.checked == self.generation
                    || self.model.as_ref().is_some_and(|(generation, _)| {
                        Self::position_params(&request)
                            .and_then(|p| self.relative(&p.text_document.uri))
                            .is_none_or(|rel| self.unchanged_since(&rel, *generation))
                    });
                if answerable {
                    self.answer(request);
                } else {
                    self.waiting.push(request);
                }
            }
            // Completion answers at once with the names of the last model: the text being
            // typed rarely evaluates, and the names it offers come from elsewhere.
            Completion::METHOD => self.answer(request),
            _ => {
                let response = Response::new_err(
                    request.id,
                    lsp_server::ErrorCode::MethodNotFound as i32,
                    format!("clanc does not handle `{}`", request.method),
                );
                let _ = self.sender.send(response.into());
            }
        }
    }

    fn answer(&mut self, request: Request) {
        let id = request.id.clone();
        let result =
            match request.method.as_str() {
                HoverRequest::METHOD => {
                    Self::position_params(&request).map(|p| serde_json::to_value(self.hover(&p)))
                }
                GotoDefinition::METHOD => Self::position_params(&request)
                    .map(|p| serde_json::to_value(self.definition(&p))),
                Completion::METHOD => Self::position_params(&request)
                    .map(|p| serde_json::to_value(self.completion(&p))),
                _ => None,
            };
        let response = match result {
            Some(Ok(value)) => Response::new_ok(id, value),
            _ => Response::new_err(
                id,
                lsp_server::ErrorCode::InvalidParams as i32,
                "expected a text document and a position".to_string(),
            ),
        };
        let _ = self.sender.send(response.into());
    }

    fn position_params(request: &Request) -> Option<TextDocumentPositionParams> {
        // Hover, definition and completion params all begin with these two fields.
        serde_json::from_value(request.params.clone()).ok()
    }

    /// The clan-relative file, its text and the byte offset of a request's position.
    fn locate(&self, p: &TextDocumentPositionParams) -> Option<(String, Arc<str>, usize)> {
        let rel = self.relative(&p.text_document.uri)?;
        let text = self.host.text(&rel)?;
        let index = LineIndex::new(&text);
        let offset = from_lsp(&text, &index, p.position, self.encoding);
        Some((rel, text, offset))
    }

    /// Whether `rel` is as it was when the check of `generation` began.
    fn unchanged_since(&self, rel: &str, generation: u64) -> bool {
        self.reloaded_in <= generation && self.changed_in.get(rel).is_none_or(|g| *g <= generation)
    }

    /// The model to answer a request in `rel` from, and the generation it was built for: the
    /// last finished check's, if `rel` has not changed since it began (a newer check may be
    /// running); while that clan is unknown (a file does not parse), the last known one, if
    /// `rel` has not changed since.
    fn model_for(&self, rel: &str) -> Option<(u64, &Clan)> {
        let (generation, finished) = self.model.as_ref()?;
        if !self.unchanged_since(rel, *generation) {
            return None;
        }
        if !finished.is_unknown() {
            return Some((*generation, finished.as_ref()));
        }
        let (generation, known) = self.names.as_ref()?;
        self.unchanged_since(rel, *generation)
            .then_some((*generation, known.as_ref()))
    }

    fn hover(&self, p: &TextDocumentPositionParams) -> Option<Hover> {
        let (rel, _, offset) = self.locate(p)?;
        let (generation, clan) = self.model_for(&rel)?;
        let (span, target) = features::target_at(clan, &rel, u32::try_from(offset).ok()?.into())?;
        let mut indexes = HashMap::new();
        // `file:line` of a definition the hover names; a last known model's spans are
        // positions in the texts of then, so a file changed since gets no line.
        let mut at = |span: &Option<Span>, keys: &[&str]| match span {
            None => "no location".to_string(),
            Some(span) if !self.unchanged_since(&span.file, generation) => span.file.to_string(),
            Some(span) => {
                let Some(text) = self.host.text(&span.file[..]) else {
                    return span.file.to_string();
                };
                let index =
                    (indexes.entry(span.file.to_string())).or_insert_with(|| LineIndex::new(&text));
                let range = crate::model::why::narrow_json(span, &text, keys);
                format!(
                    "{}:{}",
                    span.file,
                    index.line_col(&text, range.start()).line
                )
            }
        };
        let value = features::hover(clan, &target, &mut at);
        Some(Hover {
            contents: HoverContents::Markup(MarkupContent {
                kind: MarkupKind::Markdown,
                value,
            }),
            range: Some(self.range(&span.file, span.range, &mut indexes)),
        })
    }

    fn definition(&self, p: &TextDocumentPositionParams) -> Option<GotoDefinitionResponse> {
        let (rel, _, offset) = self.locate(p)?;
        let (generation, clan) = self.model_for(&rel)?;
        let (_, target) = features::target_at(clan, &rel, u32::try_from(offset).ok()?.into())?;
        let mut indexes = HashMap::new();
        let locations: Vec<Location> = features::definition(clan, &target)
            .iter()
            // A last known model's spans are positions in the texts of then.
            .filter(|span| self.unchanged_since(&span.file, generation))
            .filter_map(|span| self.location(span, &mut indexes))
            .collect();
        match locations.len() {
            0 => None,
            1 => Some(GotoDefinitionResponse::Scalar(locations[0].clone())),
            _ => Some(GotoDefinitionResponse::Array(locations)),
        }
    }

    fn completion(&self, p: &TextDocumentPositionParams) -> Option<CompletionResponse> {
        let (_, text, offset) = self.locate(p)?;
        let (_, clan) = self.names.as_ref()?;
        let items = completion::complete(clan, &text, offset)
            .into_iter()
            .map(|item| CompletionItem {
                kind: Some(match item.kind {
                    completion::Kind::Machine => CompletionItemKind::VALUE,
                    completion::Kind::Tag => CompletionItemKind::ENUM_MEMBER,
                    completion::Kind::Role => CompletionItemKind::CLASS,
                    completion::Kind::Setting => CompletionItemKind::PROPERTY,
                    completion::Kind::Field => CompletionItemKind::FIELD,
                }),
                insert_text: (item.insert != item.label).then_some(item.insert),
                label: item.label,
                detail: item.detail,
                ..CompletionItem::default()
            })
            .collect();
        Some(CompletionResponse::Array(items))
    }

    fn location(&self, span: &Span, indexes: &mut HashMap<String, LineIndex>) -> Option<Location> {
        Some(Location {
            uri: uri::from_path(&self.root.join(&*span.file))?,
            range: self.range(&span.file, span.range, indexes),
        })
    }

    fn on_notification(&mut self, notification: Notification) {
        match notification.method.as_str() {
            DidOpenTextDocument::METHOD => {
                if let Ok(p) = notification
                    .extract::<lsp_types::DidOpenTextDocumentParams>(DidOpenTextDocument::METHOD)
                {
                    if let Some(rel) = self.relative(&p.text_document.uri) {
                        self.host.set_open(&rel, true);
                    }
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
                    if let Some(rel) = self.relative(&p.text_document.uri) {
                        self.host.set_open(&rel, false);
                    }
                    // Back to what is on disk (or gone, if the file was never saved).
                    let on_disk = uri::to_path(&p.text_document.uri)
                        .and_then(|path| std::fs::read_to_string(path).ok());
                    self.set_text(&p.text_document.uri, on_disk);
                }
            }
            DidChangeWatchedFiles::METHOD => self.reload_from_disk(),
            _ => {}
        }
    }

    /// Files changed on disk (`workspace/didChangeWatchedFiles`): the database takes what
    /// differs, except the open documents' texts, and the clan is checked again if anything did.
    /// The whole clan directory is compared rather than only the reported paths: a change to a
    /// directory (`vars/` gaining a generator) reaches the listings too, and a client that
    /// coalesces events loses nothing.
    fn reload_from_disk(&mut self) {
        let was_refused = self.refused.is_some();
        match self.host.refresh() {
            Ok(changed) if changed || was_refused => {
                self.set_refused(None);
                self.reloaded_in = self.generation + 1;
                self.schedule_check();
            }
            Ok(_) => {}
            Err(refusal) => self.set_refused(Some(refusal.to_string())),
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
        let Some(text) = self.host.text(&rel) else {
            return;
        };
        let mut text = text.to_string();
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
        if !self.host.set_text(&rel, text.map(Arc::from)) {
            return; // opening a file as it is on disk changes nothing
        }
        // The check scheduled next is the first of the new text.
        self.changed_in.insert(rel, self.generation + 1);
        self.schedule_check();
    }

    /// Queues a check of the current texts for the check thread. An older check still running
    /// is cancelled by the write that preceded this call (salsa unwinds it with `Cancelled`).
    fn schedule_check(&mut self) {
        if self.refused.is_some() {
            return;
        }
        self.generation += 1;
        let job = CheckJob {
            generation: self.generation,
            snapshot: self.host.snapshot(),
        };
        let queued = match &self.jobs {
            Some(jobs) => jobs.send(job).map_err(|e| e.into_inner()),
            None => Err(job),
        };
        if let Err(job) = queued {
            // Nothing waits for a check that never runs.
            let _ = self.results_tx.send(CheckDone {
                generation: job.generation,
                analysis: None,
                memo: None,
            });
        }
    }

    fn on_check_done(&mut self, done: CheckDone) {
        // Any finished check's memo serves the next one (reuse is checked against the texts
        // of then), but a check of older text is never published. The previous model is
        // freed after publishing and answering (a large clan's model takes a millisecond).
        let _previous_memo = match done.memo {
            Some(memo) => self.host.remember(memo),
            None => None,
        };
        if done.generation != self.generation {
            return;
        }
        self.checked = done.generation;
        let Some((diagnostics, clan)) = done.analysis else {
            // The check of the newest text failed: there is no model of it to answer from.
            self.answer_waiting();
            return;
        };
        let _previous_names = if clan.is_unknown() {
            None
        } else {
            self.names.replace((done.generation, Arc::clone(&clan)))
        };
        let _previous_model = self.model.replace((done.generation, clan));
        self.publish(diagnostics);
        self.answer_waiting();
    }

    fn answer_waiting(&mut self) {
        for request in std::mem::take(&mut self.waiting) {
            self.answer(request);
        }
    }

    /// Publishes the diagnostics of every file whose diagnostics differ from what was last
    /// published for it (as the editor shows them: positions in its text), and clears those
    /// of files that have none any more. Editors keep what they were sent, so unchanged files
    /// are not sent again.
    fn publish(&mut self, diagnostics: Vec<Diagnostic>) {
        let mut by_file: BTreeMap<String, Vec<lsp_types::Diagnostic>> = BTreeMap::new();
        let mut indexes: HashMap<String, LineIndex> = HashMap::new();
        for d in &diagnostics {
            let converted = self.convert(d, &mut indexes);
            by_file
                .entry(d.span.file.to_string())
                .or_default()
                .push(converted);
        }
        let cleared: Vec<String> = self
            .published
            .keys()
            .filter(|file| !by_file.contains_key(*file))
            .cloned()
            .collect();
        for file in cleared {
            self.published.remove(&file);
            self.send_diagnostics(&file, Vec::new());
        }
        for (file, diagnostics) in by_file {
            if self.published.get(&file) == Some(&diagnostics) {
                continue;
            }
            self.send_diagnostics(&file, diagnostics.clone());
            self.published.insert(file, diagnostics);
        }
    }

    fn send_diagnostics(&self, file: &str, diagnostics: Vec<lsp_types::Diagnostic>) {
        let Some(uri) = uri::from_path(&self.root.join(file)) else {
            return;
        };
        let params = PublishDiagnosticsParams {
            uri,
            diagnostics,
            version: None,
        };
        let notification = Notification::new(PublishDiagnostics::METHOD.to_string(), params);
        let _ = self.sender.send(notification.into());
    }

    fn range(
        &self,
        file: &str,
        range: rnix::TextRange,
        indexes: &mut HashMap<String, LineIndex>,
    ) -> lsp_types::Range {
        let text: Arc<str> = self.host.text(file).unwrap_or_default();
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
                        uri: uri::from_path(&self.root.join(&*label.span.file))?,
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
