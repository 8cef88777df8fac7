//! A clan's files as the last check lowered them (`eval::LoweredPack`), kept beside its entry
//! so that a check after an edit lowers only the edited files: parsing and lowering are about
//! half of a check of a large clan, and most of a small clan's (clanc's own modules, 77 KB of
//! Nix, are lowered by every check). Only the binary that wrote them reads them (their layout
//! is its own); the evaluation after them is the same as after lowering the texts.

use std::sync::Arc;

use super::digest::Fields;
use super::identity::Identity;
use super::store::Store;
use crate::db::{Db, Workspace};
use crate::eval::{Limits, LoweredPack};

/// Which binary wrote a pack: the first line of its body (the options do not change lowering).
fn writer(identity: &Identity) -> String {
    Fields::new("lowered by")
        .add(identity.version.as_bytes())
        .add(identity.exe.as_bytes())
        .add(&identity.exe_size.to_le_bytes())
        .add(&identity.exe_mtime_ns.to_le_bytes())
        .finish()
}

/// The clan's lowered files, when this binary wrote them and they read whole.
pub fn read(store: &Store, root: &str, identity: &Identity) -> Option<Arc<LoweredPack>> {
    let mut body = store.read_lowered(root)?;
    let line = writer(identity);
    if body.get(..line.len()) != Some(line.as_bytes()) || body.get(line.len()) != Some(&b'\n') {
        return None;
    }
    body.drain(..=line.len());
    LoweredPack::read(body).map(Arc::new)
}

/// Keeps every Nix file of the clan and clanc's own modules as the check lowered them, unless
/// `before` holds exactly those already (its records are copied, not encoded again). The
/// files are lowered already (a check lowers every one): this reads the memo.
pub fn write(
    store: &Store,
    root: &str,
    identity: &Identity,
    db: &dyn Db,
    workspace: Workspace,
    before: Option<&LoweredPack>,
) {
    let budget = Limits::DEFAULT_LOWER_BUDGET;
    let files: Vec<_> = (workspace.files(db).iter())
        .chain(workspace.builtins(db))
        .filter(|f| crate::db::is_nix(f.path(db)))
        .collect();
    let texts = || files.iter().map(|f| (&**f.text(db), budget));
    if before.is_some_and(|p| p.holds_exactly(texts())) {
        return;
    }
    let lowered: Vec<_> = (files.iter())
        .map(|f| crate::eval::lower_file(db, **f, budget))
        .collect();
    let records = (files.iter().zip(&lowered)).map(|(f, l)| (&**f.text(db), budget, &***l));
    let pack = LoweredPack::write(records, before);
    let mut body = writer(identity).into_bytes();
    body.push(b'\n');
    body.extend_from_slice(&pack);
    // A cache that cannot be written is no cache: the next check lowers the texts.
    let _ = store.write_lowered(root, &body);
}
