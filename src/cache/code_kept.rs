//! What the last check's evaluation did with the code it imported (`model::CodeUse`: the
//! literals it used, the expressions it entered, the text the model's builder read), kept
//! beside the clan's entry with the texts of that code, so that a check after an edit of a
//! file the evaluation read can ask what the language server asks of an edit: does it leave
//! the model as it was (comments, whitespace, literals never used, code never entered)? Then
//! the entry's diagnostics answer, their spans moved with the text, and nothing is evaluated.
//!
//! Only files of the clan (outside the store) read as code are kept: a store path's files do
//! not change, nor do clanc's own modules, and a file read as text became a value (a change
//! of it builds the model again). These are Nix files, the texts the lowered files beside the
//! entry hold the names and literals of; the cache's directory is the user's alone (0700).

use std::collections::HashMap;
use std::sync::Arc;

use rnix::{TextRange, TextSize};

use super::digest::Fields;
use super::entry::ModelEntry;
use super::identity::Identity;
use super::observed::in_store;
use super::store::{Beside, Store};
use crate::db::{Db, SourceFile};
use crate::eval::{EnteredExprs, Limits, UsedLiteral};
use crate::model::{CodeUse, ModelInputs};

/// The code an entry's evaluation imported, and what it did with it: one record per file,
/// by absolute path (sorted), each decoded only when asked for (a check after an edit reads
/// the records of the edited files alone).
#[derive(Debug, Default)]
pub struct KeptCode {
    /// The bytes read from the cache (empty for code kept from an analysis).
    bytes: Vec<u8>,
    files: Vec<(String, Record)>,
}

/// A file's record: where it lies in the bytes read, or its own encoding.
#[derive(Debug)]
enum Record {
    Read(std::ops::Range<usize>),
    Own(Vec<u8>),
}

/// One file the evaluation imported as code.
#[derive(Clone, Debug, PartialEq)]
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
        let mut files: Vec<(String, Record)> = (inputs.observations().code_texts())
            // clanc's own modules change only with the binary, which the entry names
            .filter(|(path, _)| !in_store(path) && !is_builtin(path))
            .map(|(path, text)| {
                let file = KeptFile::new(path, text, code);
                (path.to_string(), Record::Own(file.encode()))
            })
            .collect();
        files.sort_by(|a, b| a.0.cmp(&b.0));
        Some(KeptCode {
            bytes: Vec::new(),
            files,
        })
    }

    /// The kept code of the clan at `root`, when it belongs to `model` (of `identity`) and
    /// its index reads whole.
    pub fn read(
        store: &Store,
        root: &str,
        identity: &Identity,
        model: &ModelEntry,
    ) -> Option<KeptCode> {
        let bytes = store.read_beside(root, Beside::Code)?;
        let bound = bound(identity, model);
        if bytes.get(..bound.len()) != Some(bound.as_bytes())
            || bytes.get(bound.len()) != Some(&b'\n')
        {
            return None;
        }
        let mut at = Cursor {
            bytes: &bytes,
            at: bound.len() + 1,
        };
        let count = at.u32()? as usize;
        // each file takes at least its two lengths
        let mut files = Vec::with_capacity(count.min(bytes.len() / 8));
        for _ in 0..count {
            let path = std::str::from_utf8(at.bytes()?).ok()?.to_string();
            let len = at.u32()? as usize;
            let start = at.at;
            at.take(len)?;
            files.push((path, Record::Read(start..start + len)));
        }
        let sorted = files.windows(2).all(|w| w[0].0 < w[1].0);
        (sorted && at.at == bytes.len()).then_some(KeptCode { bytes, files })
    }

    /// Keeps this code beside the entry of the clan at `root`, bound to `model`. A cache
    /// that cannot be written is no cache: the next check after an edit evaluates.
    pub fn write(self, store: &Store, root: &str, identity: &Identity, model: &ModelEntry) {
        let mut out = bound(identity, model).into_bytes();
        out.push(b'\n');
        put_u32(&mut out, self.files.len());
        for (path, record) in &self.files {
            put_bytes(&mut out, path.as_bytes());
            put_bytes(&mut out, self.record(record));
        }
        let _ = store.write_beside(root, Beside::Code, &out);
    }

    fn record<'a>(&'a self, record: &'a Record) -> &'a [u8] {
        match record {
            Record::Read(range) => self.bytes.get(range.clone()).unwrap_or_default(),
            Record::Own(bytes) => bytes,
        }
    }

    /// The kept file at `path`, when it is kept and its record reads whole.
    pub fn file(&self, path: &str) -> Option<KeptFile> {
        let i = self
            .files
            .binary_search_by(|f| f.0.as_str().cmp(path))
            .ok()?;
        let (path, record) = self.files.get(i)?;
        KeptFile::decode(path, self.record(record))
    }

    /// This code after the edits of the files `changed` (absolute path, new text), with what
    /// the evaluation did with them in terms of their new texts (`code`).
    pub fn edited(mut self, changed: &[(String, Arc<str>)], code: &CodeUse) -> KeptCode {
        for (path, text) in changed {
            if let Ok(i) = self.files.binary_search_by(|f| f.0.as_str().cmp(path)) {
                let file = KeptFile::new(path, text, code);
                self.files[i].1 = Record::Own(file.encode());
            }
        }
        self
    }
}

/// What the evaluation did with the kept files `files`, as the language server holds it
/// (each file's IR lowered from its kept text through `db`, which may have it from the
/// lowered files); `None` when one is damaged.
pub fn code_use(db: &dyn Db, files: &[KeptFile]) -> Option<CodeUse> {
    let mut literals_used = HashMap::new();
    let mut entered = HashMap::new();
    let mut texts_shown = HashMap::new();
    for file in files {
        let path = file.path.as_str();
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
            let exprs = EnteredExprs::new(Arc::clone(lowered), bits.clone());
            entered.insert(path.to_string(), exprs);
        }
    }
    Some(CodeUse {
        positions_shown: false,
        literals_used: Arc::new(literals_used),
        entered: Arc::new(entered),
        texts_shown: Arc::new(texts_shown),
    })
}

impl KeptFile {
    /// The file at `path` with `text`, and what the evaluation did with it (from `code`).
    fn new(path: &str, text: &str, code: &CodeUse) -> KeptFile {
        KeptFile {
            path: path.to_string(),
            text: text.to_string(),
            literals: (code
                .literals_used
                .get(path)
                .into_iter()
                .flat_map(|u| u.iter()))
            .map(|u| (u.range.start().into(), u.range.end().into(), u.read))
            .collect(),
            entered: code.entered.get(path).map(|e| e.bits().to_vec()),
            shown: (code
                .texts_shown
                .get(path)
                .into_iter()
                .flat_map(|s| s.iter()))
            .map(|r| (r.start().into(), r.end().into()))
            .collect(),
        }
    }

    /// Its record: the text, the literals used, the entered bits (when known), the ranges
    /// shown; every count and number little-endian, 4 bytes (the bits 8).
    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.text.len() + 64);
        put_bytes(&mut out, self.text.as_bytes());
        put_u32(&mut out, self.literals.len());
        for &(start, end, read) in &self.literals {
            out.extend(start.to_le_bytes());
            out.extend(end.to_le_bytes());
            out.push(u8::from(read));
        }
        match &self.entered {
            Some(bits) => {
                out.push(1);
                put_u32(&mut out, bits.len());
                bits.iter().for_each(|w| out.extend(w.to_le_bytes()));
            }
            None => out.push(0),
        }
        put_u32(&mut out, self.shown.len());
        for &(start, end) in &self.shown {
            out.extend(start.to_le_bytes());
            out.extend(end.to_le_bytes());
        }
        out
    }

    /// The file at `path` from its record, when it reads whole.
    fn decode(path: &str, record: &[u8]) -> Option<KeptFile> {
        let mut at = Cursor {
            bytes: record,
            at: 0,
        };
        let text = std::str::from_utf8(at.bytes()?).ok()?.to_string();
        let count = at.u32()?;
        let literals = (0..count)
            .map(|_| Some((at.u32()?, at.u32()?, at.take(1)?[0] != 0)))
            .collect::<Option<Vec<_>>>()?;
        let entered = match at.take(1)?[0] {
            0 => None,
            _ => {
                let words = at.u32()?;
                Some((0..words).map(|_| at.u64()).collect::<Option<Vec<_>>>()?)
            }
        };
        let count = at.u32()?;
        let shown = (0..count)
            .map(|_| Some((at.u32()?, at.u32()?)))
            .collect::<Option<Vec<_>>>()?;
        (at.at == record.len()).then(|| KeptFile {
            path: path.to_string(),
            text,
            literals,
            entered,
            shown,
        })
    }
}

/// Reads the records' numbers and byte strings, never past the end.
struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let out = self.bytes.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        Some(out)
    }

    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }

    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }

    /// A length, then that many bytes.
    fn bytes(&mut self) -> Option<&'a [u8]> {
        let len = self.u32()? as usize;
        self.take(len)
    }
}

fn put_u32(out: &mut Vec<u8>, n: usize) {
    // counts and lengths of a clan's files fit: the cache refuses files over 256 MB
    out.extend(u32::try_from(n).unwrap_or(u32::MAX).to_le_bytes());
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    put_u32(out, bytes.len());
    out.extend(bytes);
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
    ) -> KeptFile {
        KeptFile {
            path: PATH.into(),
            text: TEXT.into(),
            literals,
            entered,
            shown,
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
        let record = good.encode();
        assert_eq!(KeptFile::decode(PATH, &record), Some(good.clone()));
        // every record cut short, or with a byte more, reads as nothing
        for end in 0..record.len() {
            assert_eq!(KeptFile::decode(PATH, &record[..end]), None, "cut at {end}");
        }
        let mut longer = record.clone();
        longer.push(0);
        assert_eq!(KeptFile::decode(PATH, &longer), None);

        let code = code_use(&db, std::slice::from_ref(&good)).expect("whole kept code reads");
        let range = |s: u32, e: u32| TextRange::new(s.into(), e.into());
        assert_eq!(code.literals_used[PATH][0].range, range(6, 7));
        assert!(code.literals_used[PATH][0].read);
        assert_eq!(&code.texts_shown[PATH][..], &[range(0, 1)]);
        assert_eq!(code.entered[PATH].bits(), &vec![u64::MAX; words][..]);
        // what the evaluation did with a file is kept as the language server holds it
        assert_eq!(KeptFile::new(PATH, TEXT, &code), good);
        // ranges that end before they start, bits of another IR
        let damaged = [
            kept(vec![(7, 6, false)], None, vec![]),
            kept(vec![], None, vec![(3, 1)]),
            kept(vec![], Some(vec![0; words + 1]), vec![]),
        ];
        for file in damaged {
            assert!(
                code_use(&db, std::slice::from_ref(&file)).is_none(),
                "{file:?}"
            );
        }
    }

    #[test]
    fn kept_code_is_read_only_for_its_entry_and_when_whole() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::at(dir.path());
        let identity = Identity::example();
        let model = |facts: &str| ModelEntry {
            workspace_facts: facts.into(),
            has_flake: true,
            observed: Vec::new(),
            vars_listing: String::new(),
            legacy_sops_files: Vec::new(),
            sops_facts: String::new(),
            diagnostics: Vec::new(),
            notes: Vec::new(),
            span_files: Vec::new(),
            summary: Default::default(),
        };
        let file = kept(vec![(6, 7, false)], None, vec![]);
        let code = KeptCode {
            bytes: Vec::new(),
            files: vec![(PATH.into(), Record::Own(file.encode()))],
        };
        code.write(&store, "/clan", &identity, &model("a"));
        let read = KeptCode::read(&store, "/clan", &identity, &model("a")).expect("reads back");
        assert_eq!(read.file(PATH), Some(file.clone()));
        assert_eq!(read.file("/clan/b.nix"), None);
        // another entry's model, or another clan: nothing
        assert!(KeptCode::read(&store, "/clan", &identity, &model("b")).is_none());
        assert!(KeptCode::read(&store, "/other", &identity, &model("a")).is_none());
        // an index that claims more files than it holds, or holds a byte more: nothing
        let mut index = bound(&identity, &model("a")).into_bytes();
        index.push(b'\n');
        let mut huge = index.clone();
        huge.extend(u32::MAX.to_le_bytes());
        store
            .write_beside("/huge", Beside::Code, &huge)
            .expect("written");
        assert!(KeptCode::read(&store, "/huge", &identity, &model("a")).is_none());
        let mut longer = index.clone();
        put_u32(&mut longer, 0);
        longer.push(0);
        store
            .write_beside("/longer", Beside::Code, &longer)
            .expect("written");
        assert!(KeptCode::read(&store, "/longer", &identity, &model("a")).is_none());
        longer.pop();
        store
            .write_beside("/longer", Beside::Code, &longer)
            .expect("written");
        assert!(KeptCode::read(&store, "/longer", &identity, &model("a")).is_some());
        // edited: the new text, the others' records copied
        let code = CodeUse::default();
        let edited = read.edited(&[(PATH.into(), Arc::from("{ }"))], &code);
        let now = edited.file(PATH).expect("edited file");
        assert_eq!((now.text.as_str(), now.literals.len()), ("{ }", 0));
    }
}
