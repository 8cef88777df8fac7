//! A clan's files as the last check lowered them (`eval::LoweredPack`), kept beside its entry
//! so that a check after an edit lowers only the edited files: parsing and lowering are about
//! half of a check of a large clan, and most of a small clan's (clanc's own modules, 77 KB of
//! Nix, are lowered by every check). Only the binary that wrote them reads them (their layout
//! is its own); the evaluation after them is the same as after lowering the texts.

use std::sync::Arc;

use super::digest::Fields;
use super::identity::Identity;
use super::store::{Beside, Store};
use crate::db::{Db, SourceFile, Workspace};
use crate::eval::{Limits, LoweredPack, ToWrite};

/// Which binary wrote a pack: the first line of its body (the options do not change lowering).
fn writer(identity: &Identity) -> String {
    Fields::new("lowered by")
        .add(identity.version.as_bytes())
        .add(identity.exe.as_bytes())
        .add(&identity.exe_size.to_le_bytes())
        .add(&identity.exe_mtime_ns.to_le_bytes())
        .finish()
}

/// The lowered files the cache (at `cache_dir`, else where `Store::locate` finds it) keeps
/// for the clan at `dir`, for a command that does not write the cache (the language server,
/// `plan`, `inventory`, `vars`, `check --watch`): its first analysis then lowers only the
/// files changed since the last `clanc check`.
pub fn kept_for(
    dir: &std::path::Path,
    cache_dir: Option<&std::path::Path>,
) -> Option<Arc<LoweredPack>> {
    let store = Store::locate(cache_dir)?;
    let identity = Identity::current(false)?;
    read(
        &store,
        &crate::loader::absolute(dir).to_string_lossy(),
        &identity,
    )
}

/// The clan's lowered files, when this binary wrote them and they read whole.
pub fn read(store: &Store, root: &str, identity: &Identity) -> Option<Arc<LoweredPack>> {
    let mut body = store.read_beside(root, Beside::Lowered)?;
    let line = writer(identity);
    if body.get(..line.len()) != Some(line.as_bytes()) || body.get(line.len()) != Some(&b'\n') {
        return None;
    }
    body.drain(..=line.len());
    LoweredPack::read(body).map(Arc::new)
}

/// Keeps every Nix file of the clan, clanc's own modules and the code the evaluation
/// imported from elsewhere (`elsewhere`: the flake's inputs in the store) as the check lowered
/// them (all are lowered by then: this reads the memo), unless `before` holds exactly those
/// already. Records `before` holds are copied, not encoded again.
pub fn write(
    store: &Store,
    root: &str,
    identity: &Identity,
    db: &dyn Db,
    workspace: Workspace,
    elsewhere: &[SourceFile],
    before: Option<&LoweredPack>,
) {
    let budget = Limits::DEFAULT_LOWER_BUDGET;
    let files = (workspace.files(db).iter())
        .chain(workspace.builtins(db))
        .filter(|f| crate::db::is_nix(f.path(db)))
        .chain(elsewhere);
    let records = files.map(|f| -> ToWrite<'_> {
        let f = *f;
        let lowered = move || Arc::clone(crate::eval::lower_file(db, f, budget));
        (&**f.text(db), budget, Box::new(lowered))
    });
    let mut body = writer(identity).into_bytes();
    body.push(b'\n');
    if LoweredPack::write(records, before, &mut body) {
        // A cache that cannot be written is no cache: the next check lowers the texts.
        let _ = store.write_beside(root, Beside::Lowered, &body);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_binary_that_wrote_the_lowered_files_reads_them() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::at(dir.path());
        let identity = Identity::example();
        let text = "{ a = 1; }";
        let db = crate::db::Database::default();
        let file = SourceFile::new(&db, "a.nix".into(), Arc::from(text));
        let lowered = Arc::clone(crate::eval::lower_file(&db, file, 1 << 20));
        let mut body = writer(&identity).into_bytes();
        body.push(b'\n');
        let given: ToWrite<'_> = (text, 1 << 20, Box::new(move || lowered));
        assert!(LoweredPack::write([given], None, &mut body));
        store
            .write_beside("/clan", Beside::Lowered, &body)
            .expect("written");
        let pack = read(&store, "/clan", &identity).expect("its writer reads it");
        assert!(pack.find(text, 1 << 20).is_some());
        // the options do not matter; another build, or another clan, reads nothing
        let explaining = Identity {
            explain_unknown: true,
            ..identity.clone()
        };
        assert!(read(&store, "/clan", &explaining).is_some());
        let rebuilt = Identity {
            exe_mtime_ns: 21,
            ..identity.clone()
        };
        assert!(read(&store, "/clan", &rebuilt).is_none());
        assert!(read(&store, "/another", &identity).is_none());
    }
}
