//! What the last check's evaluation did with the code it imported (`model::CodeUse`: the
//! literals it used, the expressions it entered, the text the model's builder read), kept
//! beside the clan's entry with the texts of that code, so that a check after an edit of a
//! file the evaluation read can ask what the language server asks of an edit: does it leave
//! the model as it was (comments, whitespace, literals never used, code never entered)? Then
//! the entry's diagnostics answer, their spans moved with the text, and nothing is evaluated.
//!
//! Only files of the clan (outside the store) read as code are kept: a store path's files do
//! not change, nor do clanc's own modules, and a file read as text became a value (a change
//! of it builds the model again). These are Nix files, the texts the lowered files beside the entry hold the names
//! and literals of; the cache's directory is the user's alone (0700).

use std::collections::HashMap;
use std::sync::Arc;

use rnix::{TextRange, TextSize};
use serde::{Deserialize, Serialize};

use super::digest::Fields;
use super::entry::ModelEntry;
use super::identity::Identity;
use super::observed::in_store;
use super::store::{Beside, Store};
use crate::db::{Db, SourceFile};
use crate::eval::{EnteredExprs, Limits, UsedLiteral};
use crate::model::{CodeUse, ModelInputs};

/// The code an entry's evaluation imported, and what it did with it.
#[derive(Debug, Serialize, Deserialize)]
pub struct KeptCode {
    /// The entry's model part this belongs to ([`bound`]).
    pub model: String,
    /// By absolute path, sorted.
    pub files: Vec<KeptFile>,
}

/// One file the evaluation imported as code.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct KeptFile {
    pub path: String,
    pub text: String,
    /// The literals whose values the evaluation used: start, end, whether it read them.
    pub literals: Vec<(u32, u32, bool)>,
    /// A bit per expression of the file's IR, set when the evaluation entered it (`None`:
    /// unknown).
    pub entered: Option<Vec<u64>>,
    /// Where the model's builder read its text: start, end.
    pub shown: Vec<(u32, u32)>,
}

/// What ties kept code to an entry's model part: the binary and its options, the workspace
/// facts and every question the evaluation asked, with its answer.
pub fn bound(identity: &Identity, model: &ModelEntry) -> String {
    let mut fields = Fields::new("kept code of")
        .add(identity.version.as_bytes())
        .add(identity.exe.as_bytes())
        .add(&identity.exe_size.to_le_bytes())
        .add(&identity.exe_mtime_ns.to_le_bytes())
        .add(&[u8::from(identity.explain_unknown)])
        .add(model.workspace_facts.as_bytes());
    for o in &model.observed {
        let kind = [o.kind as u8];
        fields = fields
            .add(&kind)
            .add(o.path.as_bytes())
            .add(o.answer.as_bytes());
    }
    fields.finish()
}

impl KeptCode {
    /// The code of the clan the evaluation behind `inputs` imported, with what it did with
    /// it; `None` when it turned positions into values (then no edit keeps the model). The
    /// caller binds it to the entry it writes.
    pub fn of(inputs: &ModelInputs) -> Option<KeptCode> {
        let code = inputs.code();
        if code.positions_shown {
            return None;
        }
        let mut files: Vec<KeptFile> = (inputs.observations().code_texts())
            // clanc's own modules change only with the binary, which the entry names
            .filter(|(path, _)| !in_store(path) && !is_builtin(path))
            .map(|(path, text)| KeptFile {
                path: path.to_string(),
                text: text.to_string(),
                literals: Vec::new(),
                entered: None,
                shown: Vec::new(),
            })
            .collect();
        files.sort_by(|a, b| a.path.cmp(&b.path));
        for file in &mut files {
            file.take_use(code);
        }
        Some(KeptCode {
            model: String::new(),
            files,
        })
    }

    /// The kept code of the clan at `root`, when it belongs to `model` (of `identity`).
    pub fn read(
        store: &Store,
        root: &str,
        identity: &Identity,
        model: &ModelEntry,
    ) -> Option<KeptCode> {
        let body = store.read_beside(root, Beside::Code)?;
        let kept: KeptCode = serde_json::from_slice(&body).ok()?;
        (kept.model == bound(identity, model)).then_some(kept)
    }

    /// Keeps this code beside the entry of the clan at `root`, bound to `model`. A cache
    /// that cannot be written is no cache: the next check after an edit evaluates.
    pub fn write(mut self, store: &Store, root: &str, identity: &Identity, model: &ModelEntry) {
        self.model = bound(identity, model);
        if let Ok(body) = serde_json::to_vec(&self) {
            let _ = store.write_beside(root, Beside::Code, &body);
        }
    }

    /// The kept file at `path`.
    pub fn file(&self, path: &str) -> Option<&KeptFile> {
        let i = self
            .files
            .binary_search_by(|f| f.path.as_str().cmp(path))
            .ok()?;
        self.files.get(i)
    }

    /// What the evaluation did with the files at `paths`, as the language server holds it
    /// (each file's IR lowered from its kept text through `db`, which may have it from the
    /// lowered files); `None` when one is not kept or is damaged.
    pub fn code_use(&self, db: &dyn Db, paths: &[&str]) -> Option<CodeUse> {
        let mut literals_used = HashMap::new();
        let mut entered = HashMap::new();
        let mut texts_shown = HashMap::new();
        for path in paths {
            let file = self.file(path)?;
            let used = (file.literals.iter())
                .map(|&(start, end, read)| {
                    Some(UsedLiteral {
                        range: range(start, end)?,
                        read,
                    })
                })
                .collect::<Option<Arc<[UsedLiteral]>>>()?;
            literals_used.insert(path.to_string(), used);
            let shown = (file.shown.iter())
                .map(|&(start, end)| range(start, end))
                .collect::<Option<Arc<[TextRange]>>>()?;
            texts_shown.insert(path.to_string(), shown);
            if let Some(bits) = &file.entered {
                let source = SourceFile::new(db, path.to_string(), Arc::from(file.text.as_str()));
                let lowered = crate::eval::lower_file(db, source, Limits::DEFAULT_LOWER_BUDGET);
                if bits.len() != lowered.exprs.len().div_ceil(64) {
                    return None;
                }
                entered.insert(
                    path.to_string(),
                    EnteredExprs::new(Arc::clone(lowered), bits.clone()),
                );
            }
        }
        Some(CodeUse {
            positions_shown: false,
            literals_used: Arc::new(literals_used),
            entered: Arc::new(entered),
            texts_shown: Arc::new(texts_shown),
        })
    }

    /// This code after the edits of the files `changed` (absolute path, new text), with what
    /// the evaluation did with them in terms of their new texts (`code`).
    pub fn edited(mut self, changed: &[(String, Arc<str>)], code: &CodeUse) -> KeptCode {
        for (path, text) in changed {
            let Ok(i) = self.files.binary_search_by(|f| f.path.as_str().cmp(path)) else {
                continue;
            };
            let file = &mut self.files[i];
            file.text = text.to_string();
            file.take_use(code);
        }
        self
    }
}

impl KeptFile {
    /// Takes what the evaluation did with this file from `code`.
    fn take_use(&mut self, code: &CodeUse) {
        let path = self.path.as_str();
        self.literals = (code
            .literals_used
            .get(path)
            .into_iter()
            .flat_map(|u| u.iter()))
        .map(|u| (u.range.start().into(), u.range.end().into(), u.read))
        .collect();
        self.entered = code.entered.get(path).map(|e| e.bits().to_vec());
        self.shown = (code
            .texts_shown
            .get(path)
            .into_iter()
            .flat_map(|s| s.iter()))
        .map(|r| (r.start().into(), r.end().into()))
        .collect();
    }
}

/// Whether `path` is one of clanc's own modules.
fn is_builtin(path: &str) -> bool {
    path.strip_prefix(crate::modules::known::DIR)
        .is_some_and(|rest| rest.starts_with('/'))
}

/// The range from `start` to `end`, when it is one.
fn range(start: u32, end: u32) -> Option<TextRange> {
    (start <= end).then(|| TextRange::new(TextSize::from(start), TextSize::from(end)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PATH: &str = "/clan/a.nix";
    const TEXT: &str = "{ a = 1; b = [ 2 ]; }";

    fn kept(
        literals: Vec<(u32, u32, bool)>,
        entered: Option<Vec<u64>>,
        shown: Vec<(u32, u32)>,
    ) -> KeptCode {
        KeptCode {
            model: String::new(),
            files: vec![KeptFile {
                path: PATH.into(),
                text: TEXT.into(),
                literals,
                entered,
                shown,
            }],
        }
    }

    #[test]
    fn kept_code_reads_back_and_damaged_code_gives_nothing() {
        let db = crate::db::Database::default();
        let source = SourceFile::new(&db, PATH.into(), Arc::from(TEXT));
        let words = crate::eval::lower_file(&db, source, Limits::DEFAULT_LOWER_BUDGET)
            .exprs
            .len()
            .div_ceil(64);
        let good = kept(
            vec![(6, 7, true)],
            Some(vec![u64::MAX; words]),
            vec![(0, 1)],
        );
        let code = good.code_use(&db, &[PATH]).expect("whole kept code reads");
        let range = |s: u32, e: u32| TextRange::new(s.into(), e.into());
        assert_eq!(code.literals_used[PATH][0].range, range(6, 7));
        assert!(code.literals_used[PATH][0].read);
        assert_eq!(&code.texts_shown[PATH][..], &[range(0, 1)]);
        assert_eq!(code.entered[PATH].bits(), &vec![u64::MAX; words][..]);
        // a file not kept, ranges that end before they start, bits of another IR
        assert!(good.code_use(&db, &["/clan/b.nix"]).is_none());
        assert!(
            kept(vec![(7, 6, false)], None, vec![])
                .code_use(&db, &[PATH])
                .is_none()
        );
        assert!(
            kept(vec![], None, vec![(3, 1)])
                .code_use(&db, &[PATH])
                .is_none()
        );
        let other_ir = Some(vec![0; words + 1]);
        assert!(
            kept(vec![], other_ir, vec![])
                .code_use(&db, &[PATH])
                .is_none()
        );
        // what the evaluation did with a file is taken back as the language server holds it
        let mut again = kept(Vec::new(), None, Vec::new());
        again.files[0].take_use(&code);
        assert_eq!(again.files[0].literals, vec![(6, 7, true)]);
        assert_eq!(again.files[0].shown, vec![(0, 1)]);
        assert_eq!(again.files[0].entered, Some(vec![u64::MAX; words]));
    }
}
