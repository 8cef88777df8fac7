//! Builds the typed clan from a loaded workspace: evaluates the flake with the embedded
//! evaluator and the module system, then reads the clan's option tree, keeping the span of
//! every definition.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::rc::Rc;
use std::sync::Arc;

use rnix::{TextRange, TextSize};

use crate::db::{Db, Workspace};
use crate::diagnostics::{Diagnostic, Label, Severity, Span};
use crate::eval::{EvalError, Evaluator, FileId, Garbage, Limits, NixString, Pos, Thunk, Value};
use crate::files::ClanFiles;
use crate::modules::flake::{FlakeEvaluation, evaluate_flake};
use crate::modules::flake_lock::FlakeLock;
use crate::modules::known;
use crate::modules::system::{
    Def, EvalSettings, Evaluation, ImportedModule, ModuleContext, ModuleDiagnostic, ModuleFailure,
    ModuleSource, Node, NodeKind, evaluate,
};

mod footprint;
mod inventory;
mod machine;
mod settings;
mod sops;

use super::clan::*;
use super::footprint::{Footprint, Footprints};
use super::freshness::{ModelInputs, WorkspaceFacts};
use super::unique_names::UniqueNames;
use crate::diagnostics::Code;
use crate::services::flake_service::read_flake_service;

/// How deep settings values are read into `Data`.
const MAX_DATA_DEPTH: usize = 64;

/// Builds the model of the clan at `root` (an absolute path) from the workspace's files.
pub fn build_model(db: &dyn Db, root: &str, workspace: Workspace) -> Clan {
    build_model_keeping_garbage(db, root, workspace).0
}

/// [`build_model`], with the evaluation behind the model not freed yet (the caller drops the
/// [`Garbage`] when freeing it costs nothing that matters: after publishing, or never), and
/// what the model was built from.
pub fn build_model_keeping_garbage(
    db: &dyn Db,
    root: &str,
    workspace: Workspace,
) -> (Clan, Garbage, ModelInputs) {
    let (clan, garbage, inputs, _) = build(db, root, workspace, false);
    (clan, garbage, inputs)
}

/// [`build_model_keeping_garbage`], with what each machine's configuration is made of
/// ([`crate::model::footprint`]): for `plan --changed-since`, which compares two states.
pub fn build_model_with_footprints(
    db: &dyn Db,
    root: &str,
    workspace: Workspace,
) -> (Clan, Garbage, ModelInputs, Footprints) {
    let (clan, garbage, inputs, footprints) = build(db, root, workspace, true);
    (clan, garbage, inputs, footprints.unwrap_or_default())
}

fn build(
    db: &dyn Db,
    root: &str,
    workspace: Workspace,
    with_footprints: bool,
) -> (Clan, Garbage, ModelInputs, Option<Footprints>) {
    let files = ClanFiles::new(db, root, workspace);
    let facts = WorkspaceFacts::of(db, workspace);
    let inputs = |files: &ClanFiles, ev: &Evaluator| ModelInputs::new(root, &facts, files, ev);
    let mut ev = Evaluator::new(db, &files, Limits::default());
    let lock = facts
        .lock
        .as_ref()
        .and_then(|text| FlakeLock::parse(text).ok());
    let mut clan = Clan {
        clan_core_rev: (lock.as_ref().and_then(FlakeLock::clan_core)).and_then(|l| l.rev.clone()),
        clan_core_last_modified: (lock.as_ref().and_then(FlakeLock::clan_core))
            .and_then(|l| l.last_modified),
        ..Clan::default()
    };
    if !facts.has_flake {
        clan.inputs = Known::Unknown("the directory has no flake.nix".into());
        let inputs = inputs(&files, &ev);
        let footprints = with_footprints.then(|| Footprints {
            shared: Footprint {
                anything: Some("the directory has no flake.nix".into()),
                ..Footprint::default()
            },
            ..Footprints::default()
        });
        return (clan, ev.into_garbage(), inputs, footprints);
    }
    let flake = evaluate_flake(&mut ev, root, lock.as_ref());
    clan.inputs = Known::Known(flake.inputs.clone());
    let mut reader = Reader {
        db,
        ev: &mut ev,
        files: &files,
        clan: &mut clan,
        written: RefCell::default(),
        relative_paths: RefCell::default(),
        missing_references: Vec::new(),
        root_path: String::new(),
        footprint: with_footprints.then(footprint::RawFootprints::default),
    };
    reader.clan.service_sources = service_sources(&files, lock.as_ref(), &flake);
    match (flake.clans.first(), &flake.failed) {
        // Definitions of the module that failed are missing: reading the rest would find
        // machines without their tags, roles without their machines (errors that are not).
        (_, Some(failure)) => reader.clan_unknown(failure),
        (Some(evaluation), None) => reader.read_clan(&flake, evaluation),
        (None, None) => reader.clan.unknowns.push(UnknownNote {
            subject: "clan".into(),
            reason: "the flake's outputs evaluate no clan clanc can see (no clan-core flake module, no `clan-core.lib.clan` call)".into(),
            span: None,
        }),
    }
    reader.read_data_files(facts.lock.as_deref());
    reader.collect_context(&flake.ctx);
    let footprints = reader.footprint.take().map(|raw| {
        let mut footprints = reader.footprints(raw);
        if let Some(failure) = &flake.failed {
            footprints.shared.unbounded(format!(
                "the flake could not be evaluated in full ({})",
                failure.message
            ));
        }
        if let Some(reason) = reader.clan.unknown_reason() {
            footprints
                .shared
                .unbounded(format!("the clan is unknown to clanc ({reason})"));
        }
        footprints
    });
    drop(reader);
    let inputs = inputs(&files, &ev);
    let mut garbage = ev.into_garbage();
    garbage.keep(flake);
    (clan, garbage, inputs, footprints)
}

pub(super) struct Reader<'r, 'a> {
    db: &'a dyn Db,
    pub(super) ev: &'r mut Evaluator<'a>,
    pub(super) files: &'r ClanFiles,
    pub(super) clan: &'r mut Clan,
    /// The IR of the files values are located in (looked up once per build).
    written: RefCell<HashMap<FileId, Option<Arc<crate::eval::Lowered>>>>,
    /// The clan-relative path of each file spans point into (`None`: outside the clan), one
    /// shared string per file.
    relative_paths: RefCell<HashMap<FileId, Option<Arc<str>>>>,
    /// References to deferred modules nothing defines: the checker reports them (M001), so
    /// the evaluation error they cause is not reported again.
    missing_references: Vec<Span>,
    /// The path of the clan's root node (`clan` under flake-parts, empty for `lib.clan`):
    /// notes name what is below it relative to it (`inventory.machines`).
    root_path: String,
    /// What the footprints need, when they are asked for.
    footprint: Option<footprint::RawFootprints>,
}

impl Reader<'_, '_> {
    /// A position as a span of a clan file (`None` for clanc's embedded files and files
    /// outside the clan).
    fn span(&self, pos: Option<Pos>) -> Option<Span> {
        let pos = pos?;
        let rel = self
            .relative_paths
            .borrow_mut()
            .entry(pos.file)
            .or_insert_with(|| {
                let path = self.ev.file_path(pos.file);
                self.files.relative(&path).map(Arc::from)
            })
            .clone()?;
        Some(Span::new(rel, pos.range))
    }

    /// A string's text for the model, and the literal it is a copy of when that literal is in
    /// the clan (the model then holds the copy with that span, [`Spanned::literal`]). A copy
    /// of a literal outside the clan counts as reading it: no span could find the copy.
    fn copy_string(&self, s: &NixString) -> (String, Option<Span>) {
        let (text, from) = s.copy_out();
        let literal = self.span(from);
        if from.is_some() && literal.is_none() {
            s.text();
        }
        (text, literal)
    }

    /// The value bound to the attribute named at `key`.
    fn value_of_key(&self, key: Option<Pos>) -> Option<Pos> {
        let key = key?;
        let range = self.written(key.file)?.written.value_of_key(key.range)?;
        Some(Pos {
            file: key.file,
            range,
        })
    }

    /// The elements of the list written at `list`.
    fn list_items(&self, list: Option<Pos>) -> Vec<Pos> {
        let Some(list) = list else { return Vec::new() };
        let Some(lowered) = self.written(list.file) else {
            return Vec::new();
        };
        (lowered.written.list_elements(list.range))
            .unwrap_or_default()
            .iter()
            .map(|&range| Pos {
                file: list.file,
                range,
            })
            .collect()
    }

    /// The IR of a file the evaluator read, which knows where its values are written (as
    /// the evaluation lowered it: the same memo).
    fn written(&self, file: FileId) -> Option<Arc<crate::eval::Lowered>> {
        self.written
            .borrow_mut()
            .entry(file)
            .or_insert_with(|| {
                let path = self.ev.file_path(file);
                let source = crate::eval::Files::source(self.files, self.db, &path).ok()?;
                let budget = self.ev.lower_budget();
                Some(crate::eval::lower_file(self.db, source, budget).clone())
            })
            .clone()
    }

    /// Where a definition's value is written.
    fn def_value_pos(&self, def: &Def) -> Option<Pos> {
        def.value_pos.or_else(|| self.value_of_key(def.pos))
    }

    /// The span of a definition: its position, or for definitions that come from a clan
    /// file without positions (inventory.json), the file itself.
    fn def_span(&self, def: &Def) -> Option<Span> {
        if let Some(span) = self.span(def.pos) {
            return Some(span);
        }
        let file = def.file.as_deref()?;
        let rel = self.files.relative(file)?;
        Some(Span::new(rel, Default::default()))
    }

    fn first_span(&self, node: &Node) -> Option<Span> {
        node.defs.iter().find_map(|d| self.def_span(d))
    }

    /// Where the first definition's value is written (its key when that is unknown).
    fn value_span(&self, node: &Node) -> Option<Span> {
        node.defs.iter().find_map(|d| {
            self.span(self.def_value_pos(d))
                .or_else(|| self.def_span(d))
        })
    }

    fn note(&mut self, subject: &str, reason: String, span: Option<Span>) {
        if !self
            .clan
            .unknowns
            .iter()
            .any(|n| n.subject == subject && n.reason == reason)
        {
            self.clan.unknowns.push(UnknownNote {
                subject: subject.to_string(),
                reason,
                span,
            });
        }
    }

    fn force(&mut self, thunk: &Thunk) -> Result<Value, String> {
        match self.ev.force(thunk, None) {
            Ok(v) => Ok(v),
            Err(e) => Err(self.report_error(e)),
        }
    }

    /// C011 for the element at `index` of a definition of the list-of-strings option at
    /// `path` that is not a string (clan-core's evaluation fails on it). Unknown values pass.
    fn not_a_string(&mut self, path: &str, index: usize, value: &Value, span: Option<Span>) {
        if matches!(value, Value::Unknown(_)) {
            return;
        }
        let Some(span) = span else { return };
        let message = format!(
            "`{path}` must be of type `list of string`, but its element {} is {}",
            index + 1,
            crate::modules::types::describe_value(value)
        );
        push_unique(
            &mut self.clan.diagnostics,
            Diagnostic::new(Code::C011, Severity::Error, message, span),
        );
    }

    fn report_error(&mut self, e: Box<EvalError>) -> String {
        let message = e.message.clone();
        let files = self.files;
        let ev = &*self.ev;
        let span_of = |pos: Pos| -> Option<Span> {
            let path = ev.file_path(pos.file);
            files.relative(&path).map(|rel| Span::new(rel, pos.range))
        };
        if let Some(d) = error_diagnostic(&e, span_of) {
            push_unique(&mut self.clan.diagnostics, d);
        }
        message
    }

    /// The value of an option node as a string, with the span of its first definition.
    fn string_at(
        &mut self,
        node: Option<Rc<Node>>,
        subject: &str,
    ) -> Option<Spanned<Known<String>>> {
        self.string_of(node, subject, false)
    }

    /// [`Self::string_at`] for a string the model keeps as it is (nothing else is computed
    /// from it while building the model): a copy of a literal knows the literal.
    fn copied_string_at(
        &mut self,
        node: Option<Rc<Node>>,
        subject: &str,
    ) -> Option<Spanned<Known<String>>> {
        self.string_of(node, subject, true)
    }

    fn string_of(
        &mut self,
        node: Option<Rc<Node>>,
        subject: &str,
        copied: bool,
    ) -> Option<Spanned<Known<String>>> {
        let node = node?;
        let span = self.value_span(&node);
        let mut literal = None;
        let value = match self.force(&node.value_thunk()) {
            Ok(Value::String(s)) if copied => {
                let (text, from) = self.copy_string(&s);
                literal = from;
                Known::Known(text)
            }
            Ok(Value::String(s)) => Known::Known(s.text().to_string()),
            Ok(Value::Null) => return None,
            Ok(Value::Unknown(u)) => {
                self.note(subject, u.reason.clone(), span.clone());
                Known::Unknown(u.reason.clone())
            }
            Ok(other) => Known::Unknown(format!("{} is {}", subject, other.describe())),
            Err(e) => Known::Unknown(e),
        };
        Some(Spanned {
            literal,
            ..Spanned::new(value, span)
        })
    }

    fn bool_at(&mut self, node: Option<Rc<Node>>) -> Known<bool> {
        let Some(node) = node else {
            return Known::Unknown("not declared".into());
        };
        match self.force(&node.value_thunk()) {
            Ok(Value::Bool(b)) => Known::Known(b),
            Ok(Value::Unknown(u)) => Known::Unknown(u.reason.clone()),
            Ok(other) => Known::Unknown(format!("not a Boolean: {}", other.describe())),
            Err(e) => Known::Unknown(e),
        }
    }

    /// Why some definitions of a node may be missing: one failed (reported) or is unknown.
    fn open_reason(&mut self, node: &Option<Rc<Node>>) -> Option<String> {
        node.as_ref()?.children(self.ev)?.open.clone()
    }

    /// The names below a node (sorted).
    pub(super) fn keys(&mut self, node: &Option<Rc<Node>>) -> Vec<(String, Rc<Node>)> {
        let Some(node) = node else { return Vec::new() };
        match node.children(self.ev) {
            Some(children) => {
                if let Some(reason) = &children.open {
                    let span = self.first_span(node);
                    let subject = (node.path.strip_prefix(&self.root_path))
                        .and_then(|p| p.strip_prefix('.'))
                        .unwrap_or(&node.path)
                        .to_string();
                    self.note(&subject, reason.clone(), span);
                }
                let mut out = Vec::new();
                for (k, n) in children.map.iter() {
                    let keep = match n.kind {
                        NodeKind::Option(_) => n.is_defined() || has_default(n),
                        // An element whose definitions all vanished under `mkIf false`.
                        NodeKind::Element(_) => {
                            let r = n.resolved(self.ev);
                            !r.defs.is_empty() || r.uncertain.is_some()
                        }
                        _ => true,
                    };
                    if keep {
                        out.push((k.to_string(), n.clone()));
                    }
                }
                out
            }
            None => Vec::new(),
        }
    }

    pub(super) fn child(&mut self, node: &Option<Rc<Node>>, key: &str) -> Option<Rc<Node>> {
        let node = node.as_ref()?;
        node.children(self.ev)?.map.get(key).cloned()
    }

    pub(super) fn path(&mut self, node: &Option<Rc<Node>>, keys: &[&str]) -> Option<Rc<Node>> {
        let mut node = node.clone();
        for k in keys {
            node = self.child(&node, k);
        }
        node
    }

    /// The user's definitions of a node (defaults and clanc's own files left out).
    fn user_defs(&self, node: &Node) -> Vec<Def> {
        node.defs
            .iter()
            .filter(|d| !is_builtin_def(self.ev, d))
            .cloned()
            .collect()
    }

    // ---- the clan ---------------------------------------------------------------------

    /// The clan as unknown: nothing read of it is kept (what the model lacks would be
    /// reported as mistakes: machines without their tags, roles without their machines).
    fn clan_unknown(&mut self, failure: &ModuleFailure) {
        let span = self.span(failure.pos);
        let module = match &span {
            Some(span) => format!("`{}`", span.file),
            None => "a module of it".to_string(),
        };
        *self.clan = Clan {
            inputs: self.clan.inputs.clone(),
            clan_core_rev: self.clan.clan_core_rev.clone(),
            clan_core_last_modified: self.clan.clan_core_last_modified,
            ..Clan::default()
        };
        self.clan.unknowns.push(UnknownNote {
            subject: "clan".into(),
            reason: format!(
                "{module} could not be read ({}), so what it defines is unknown",
                failure.message
            ),
            span,
        });
    }

    // ---- machines' own modules ----------------------------------------------------------

    /// Diagnostics and unknowns the module system collected.
    fn collect_context(&mut self, ctx: &Rc<ModuleContext>) {
        let diagnostics = ctx.diagnostics.borrow().clone();
        for d in diagnostics {
            if let Some(error) = &d.error {
                let at = error.pos.and_then(|p| self.span(Some(p)));
                let reported_as_m001 = at.is_some_and(|at| {
                    self.missing_references
                        .iter()
                        .any(|m| m.file == at.file && m.range.contains_range(at.range))
                });
                if !reported_as_m001 {
                    self.report_error(error.clone());
                }
                continue;
            }
            // A value of the wrong type: point at the value, not at its name.
            let pos = match d.code {
                Code::C011 => self.value_of_key(d.pos).or(d.pos),
                _ => d.pos,
            };
            let span = match self.span(pos) {
                Some(span) => span,
                None => match self.inventory_json_span(&d) {
                    // A wrong type in inventory.json; other failures of its module (not a
                    // set) come with one, or with inventory.json's own C011.
                    Some(span) if d.code == Code::C011 => span,
                    _ => continue,
                },
            };
            let mut diagnostic = Diagnostic::new(d.code, Severity::Error, d.message.clone(), span);
            for (pos, message) in &d.labels {
                if let Some(s) = self.span(Some(*pos)) {
                    diagnostic.labels.push(Label {
                        span: s,
                        message: message.clone(),
                    });
                }
            }
            push_unique(&mut self.clan.diagnostics, diagnostic);
        }
        let unknowns = ctx.unknowns.borrow().clone();
        for (subject, reason, pos) in unknowns {
            let span = self.span(pos);
            self.note(&subject, reason, span);
        }
    }
}

fn push_unique(all: &mut Vec<Diagnostic>, d: Diagnostic) {
    if !all.contains(&d) {
        all.push(d);
    }
}

fn has_default(node: &Node) -> bool {
    matches!(&node.kind, NodeKind::Option(d) if d.default.is_some())
}

fn is_builtin_pos(ev: &Evaluator<'_>, pos: Option<Pos>) -> bool {
    pos.is_some_and(|p| known::is_builtin(&ev.file_path(p.file)))
}

/// A definition clanc's own models make (defaults, computed values), not the user.
fn is_builtin_def(ev: &Evaluator<'_>, def: &Def) -> bool {
    match def.file.as_deref() {
        Some(f) if known::is_builtin(f) => true,
        Some(_) => false,
        None => def.pos.is_none() || is_builtin_pos(ev, def.pos),
    }
}

/// The key path in inventory.json of a subject like `instances.a.roles.b.settings`.
fn json_path_of(subject: &str) -> Vec<String> {
    subject.split('.').map(str::to_string).collect()
}

/// `config.flake.modules.<class>.<name>` at the end of an import's text (comments and
/// whitespace between its tokens do not count).
fn deferred_reference(text: &str) -> Option<(String, String)> {
    let text: String = rnix::tokenize(text)
        .filter(|(kind, _)| {
            !matches!(
                kind,
                rnix::SyntaxKind::TOKEN_WHITESPACE | rnix::SyntaxKind::TOKEN_COMMENT
            )
        })
        .map(|(_, token)| token)
        .collect();
    let text = text.as_str();
    let rest = text.rsplit_once("modules.")?.1;
    let before = &text[..text.len() - rest.len() - "modules.".len()];
    if !before.ends_with("flake.") {
        return None;
    }
    let (class, name) = rest.split_once('.')?;
    let ident = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '\''))
    };
    let name = name.trim_matches('"');
    (ident(class) && ident(name)).then(|| (class.to_string(), name.to_string()))
}

/// Where the code of the clan's services comes from: clan-core's locked source when it is on
/// this machine (the store path Nix fetches it to), its `clanServices/`, and the inputs that
/// are clan-core.
fn service_sources(
    files: &ClanFiles,
    lock: Option<&FlakeLock>,
    flake: &FlakeEvaluation,
) -> crate::model::ServiceSources {
    use crate::eval::Files;
    let locked = lock.and_then(FlakeLock::clan_core);
    let dir = (locked.and_then(|l| l.nar_hash.as_deref()))
        .and_then(crate::modules::flake_lock::store_path_of)
        .filter(|dir| files.file_type(dir) == Some(crate::db::EntryKind::Directory));
    let clan_core_missing = match (locked.and_then(|l| l.rev.as_deref()), &dir) {
        (_, Some(_)) => String::new(),
        (Some(rev), None) => format!(
            "clan-core's source ({}) is not in the Nix store (any nix command on the flake, e.g. `nix flake archive`, fetches it)",
            &rev[..rev.len().min(12)]
        ),
        (None, None) => "the flake does not lock clan-core with a narHash".into(),
    };
    let clan_core_services = dir
        .as_ref()
        .and_then(|d| files.read_dir(&format!("{d}/clanServices")).ok())
        .map(|entries| {
            (entries.into_iter())
                .filter(|e| e.kind == crate::db::EntryKind::Directory)
                .map(|e| e.name)
                .collect()
        })
        .unwrap_or_default();
    crate::model::ServiceSources {
        clan_core_dir: dir,
        clan_core_missing,
        clan_core_services,
        clan_core_inputs: (flake.input_kinds.iter())
            .filter(|(_, kind)| *kind == crate::modules::flake::InputKind::ClanCore)
            .map(|(name, _)| name.clone())
            .collect(),
    }
}

/// The schema module of a machine's configuration (`known/machine.nix`), applied to `lib`.
pub(super) fn machine_schema(ctx: &Rc<ModuleContext>, with_vars: bool) -> Thunk {
    let lib = ctx.lib.clone();
    Thunk::native("machine schema", move |ev, pos| {
        let f = ev.import(&known::path("machine.nix"), pos)?;
        let arg = crate::eval::Attrs::from_unsorted(vec![
            crate::eval::Attr {
                name: "lib".into(),
                value: lib.clone(),
                pos: None,
            },
            crate::eval::Attr {
                name: "withVars".into(),
                value: Thunk::value(Value::Bool(with_vars)),
                pos: None,
            },
        ]);
        ev.apply(f, Thunk::value(Value::attrs(arg)), pos)
    })
}

/// An evaluation error as a diagnostic (N001-N005) at its innermost position in a clan file.
fn error_diagnostic(e: &EvalError, span_of: impl Fn(Pos) -> Option<Span>) -> Option<Diagnostic> {
    let primary = e
        .pos
        .and_then(&span_of)
        .or_else(|| e.trace.iter().find_map(|t| span_of(t.pos)))?;
    let mut d = Diagnostic::new(
        e.code(),
        Severity::Error,
        e.message.clone(),
        primary.clone(),
    );
    for t in &e.trace {
        if let Some(s) = span_of(t.pos)
            && s != primary
            && d.labels.len() < 8
        {
            d.labels.push(Label {
                span: s,
                message: t.message.clone(),
            });
        }
    }
    Some(d)
}

#[cfg(test)]
mod tests {
    use crate::db::Database;
    use crate::model::Known;

    #[test]
    fn legacy_sops_secrets_with_default_file_and_keys() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/mistakes/S002-key-not-in-file");
        let mut db = Database::default();
        let loaded = crate::loader::load_clan(&mut db, &dir).unwrap();
        let root = std::fs::canonicalize(&dir).unwrap();
        let clan = super::build_model(&db, &root.to_string_lossy(), loaded.workspace);
        let secrets = &clan.machines["web"].sops_secrets;
        let summary: Vec<(&str, Option<&String>, Option<&String>, bool)> = secrets
            .iter()
            .map(|s| {
                (
                    s.name.as_str(),
                    s.sops_file.as_ref().and_then(|f| f.value.known()),
                    s.key.value.known(),
                    s.key.span.is_some(),
                )
            })
            .collect();
        let file = "secrets/web.yaml".to_string();
        let (db_key, smtp_key) = ("db/password".to_string(), "smtp/pasword".to_string());
        assert_eq!(
            summary,
            [
                // the key defaults to the name; the file to sops.defaultSopsFile
                ("db/password", Some(&file), Some(&db_key), false),
                // `key` in a submodule definition is configuration, not the module's key
                ("smtp-password", Some(&file), Some(&smtp_key), true),
            ]
        );
        assert!(
            secrets
                .iter()
                .all(|s| s.format == Known::Known("yaml".into()))
        );
    }
}
