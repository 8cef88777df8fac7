//! An analysis frees everything it made once dropped: the language server checks a clan on
//! every edit for hours, so memory an analysis keeps is memory lost per keystroke. Rc cannot
//! free reference cycles; the evaluator breaks the ones it makes (`let`/`rec` frames, a
//! flake's `self` and `inputs`), and this test finds any other: the bytes still allocated
//! after several analyses of a clan equal those after the first (lazily built statics, such
//! as the service catalog, are made by the first).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicI64, Ordering};

struct Counting;

static LIVE: AtomicI64 = AtomicI64::new(0);

// SAFETY: forwards to the system allocator, counting the bytes it hands out and takes back.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as i64, Ordering::Relaxed);
        // SAFETY: the caller's contract, passed on.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as i64, Ordering::Relaxed);
        // SAFETY: the caller's contract, passed on.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(new_size as i64 - layout.size() as i64, Ordering::Relaxed);
        // SAFETY: the caller's contract, passed on.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn analyse(dir: &std::path::Path) -> usize {
    let mut db = clanc::db::Database::default();
    let loaded = clanc::loader::load_clan(&mut db, dir).expect("the fixture loads");
    let root = dir.to_str().expect("a UTF-8 path");
    let analysis = clanc::analysis::analyse(&db, root, loaded.workspace, true);
    analysis.clan.machines.len()
}

/// The bytes still allocated after analysing a clan once more, once the first analysis made
/// what it keeps for good.
fn kept_by_another_analysis(analyse: impl Fn() -> usize) -> i64 {
    let machines = analyse();
    assert!(machines > 0, "the clan was analysed");
    let after_first = LIVE.load(Ordering::Relaxed);
    for _ in 0..3 {
        assert_eq!(analyse(), machines);
    }
    (LIVE.load(Ordering::Relaxed) - after_first) / 3
}

#[test]
fn analyses_free_everything_they_made() {
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    // the seed fleet (flake-parts, import-tree, clan-core's lib.clan, vars, sops) and a clan
    // with its own services (the second evaluation of every machine)
    for fixture in ["fixtures/seed-fleet", "fixtures/shapes/self-service"] {
        let dir = repo.join(fixture);
        let kept = kept_by_another_analysis(|| analyse(&dir));
        assert!(kept < 1024, "{fixture}: {kept} bytes kept per analysis");
    }
    let kept = kept_by_another_analysis(|| {
        let mut db = clanc::db::Database::default();
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("flake.nix"), FLAKE).expect("write");
        let loaded = clanc::loader::load_clan(&mut db, dir.path()).expect("loads");
        let root = dir.path().to_str().expect("a UTF-8 path");
        let analysis = clanc::analysis::analyse(&db, root, loaded.workspace, true);
        analysis.clan.machines.len()
    });
    assert!(
        kept < 1024,
        "a flake calling lib.clan: {kept} bytes kept per analysis"
    );
}

const FLAKE: &str = r#"{
  inputs.clan-core.url = "https://git.clan.lol/clan/clan-core/archive/main.tar.gz";
  outputs = { self, clan-core }:
    let
      clan = clan-core.lib.clan {
        inherit self;
        meta.name = "x";
        inventory.machines.a.tags = [ "web" ];
        inventory.instances.s = { module.name = "sshd"; roles.server.tags.web = { }; };
      };
    in { inherit (clan.config) nixosConfigurations; };
}
"#;
