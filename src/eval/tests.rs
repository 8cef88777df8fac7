//! Unit tests of what no real Nix can check: unknown propagation, error codes and spans,
//! limits on pathological inputs, and that imports are cached.

use super::*;
use crate::db::Database;
use crate::diagnostics::Code;

/// Evaluates `text` (as the file `/t/main.nix` next to `files`) on a thread with a big
/// stack; returns the strict JSON and its unknowns, or the error.
fn run_with(text: &str, files: MemoryFiles, limits: Option<Limits>) -> Result<Printed, EvalError> {
    let text = text.to_string();
    let stack = 64 * 1024 * 1024;
    std::thread::Builder::new()
        .stack_size(stack)
        .spawn(move || {
            let files = files.with("/t/main.nix", &text);
            let db = Database::default();
            let mut ev = Evaluator::new(&db, &files, limits.unwrap_or(Limits::for_stack(stack)));
            let value = ev.eval_file("/t/main.nix").map_err(|e| *e)?;
            print_json(&mut ev, &value).map_err(|e| *e)
        })
        .expect("thread starts")
        .join()
        .expect("no panic")
}

fn run(text: &str) -> Result<Printed, EvalError> {
    run_with(text, MemoryFiles::new(), None)
}

#[track_caller]
fn json(text: &str) -> String {
    match run(text) {
        Ok(p) => p.text,
        Err(e) => panic!("{text}: unexpected error {e:?}"),
    }
}

#[track_caller]
fn is_unknown(text: &str) {
    match run(text) {
        Ok(p) => assert!(
            p.text.starts_with("{\"__unknown\":") && p.unknowns.len() == 1,
            "{text}: expected unknown, got {}",
            p.text
        ),
        Err(e) => panic!("{text}: unexpected error {e:?}"),
    }
}

#[track_caller]
fn error_code(text: &str) -> Code {
    match run(text) {
        Ok(p) => panic!("{text}: expected an error, got {}", p.text),
        Err(e) => e.code(),
    }
}

const U: &str = "let u = builtins.currentSystem; in ";

#[test]
fn every_operation_on_unknown_is_unknown() {
    for expr in [
        "u",
        "if u then 1 else 2",
        "if u == \"x86_64-linux\" then 1 else 2",
        "u.x",
        "u.x.y or 1",
        "u ? x",
        "builtins.attrNames u",
        "builtins.attrValues u",
        "\"${u}\"",
        "\"a\" + u",
        "u + 1",
        "1 + u",
        "u == 1",
        "u != u",
        "u < 1",
        "u // { }",
        "{ } // u",
        "u ++ [ ]",
        "!u",
        "-u",
        "u 1",
        "map (x: x) u",
        "builtins.length u",
        "builtins.typeOf u",
        "builtins.isString u",
        "with u; x",
        "({ a }: a) u",
        "assert u; 1",
        "{ ${u} = 1; }",
        "builtins.toJSON [ u ]",
        "builtins.elem 1 [ u ]",
        "[ (u + \"\") 1 ] == [ u 1 ]",
        "builtins.filter (x: u) [ 1 ]",
        "builtins.sort (a: b: u) [ 1 2 ]",
        "builtins.concatStringsSep \",\" [ u ]",
        "builtins.replaceStrings [ \"a\" ] [ u ] \"a\"",
        "builtins.substring 0 u \"abc\"",
        "import u",
        "u && true",
        "true && u",
        "false || u",
        "builtins.hasAttr \"x\" u",
        "builtins.getAttr \"x\" u",
        "builtins.removeAttrs u [ \"x\" ]",
        "builtins.listToAttrs [ u ]",
        "builtins.concatLists [ u ]",
        "builtins.stringLength u",
        "builtins.match u \"x\"",
        "builtins.readFile u",
        "builtins.pathExists u",
        "throw u",
        "builtins.elemAt u 0",
        "builtins.head u",
        "toString u",
        "builtins.fromJSON u",
        "builtins.mapAttrs (n: v: v) u",
        "builtins.foldl' (a: b: a) 0 u",
        "builtins.genList (x: x) u",
        "builtins.compareVersions u \"1\"",
        "builtins.hashString \"sha256\" u",
        "builtins.split \",\" u",
        "{ inherit (u) a; }.a",
        "(u { }).x",
        "builtins.functionArgs u",
        "builtins.concatMap (x: u) [ 1 ]",
    ] {
        is_unknown(&format!("{U}{expr}"));
    }
}

#[test]
fn known_answers_do_not_wait_for_unknowns() {
    assert_eq!(json(&format!("{U}false && u")), "false");
    assert_eq!(json(&format!("{U}true || u")), "true");
    assert_eq!(json(&format!("{U}false -> u")), "true");
    assert_eq!(json(&format!("{U}[ 1 u ] == [ 2 u ]")), "false");
    assert_eq!(json(&format!("{U}[ u ] == [ u 1 ]")), "false");
    assert_eq!(json(&format!("{U}builtins.length [ u u ]")), "2");
    assert_eq!(json(&format!("{U}builtins.elem 1 [ u 1 ]")), "true");
    assert_eq!(json(&format!("{U}builtins.any (x: x) [ u true ]")), "true");
    assert_eq!(
        json(&format!("{U}builtins.all (x: x) [ u false ]")),
        "false"
    );
    assert_eq!(json(&format!("{U}(builtins.tryEval u).success")), "true");
    assert_eq!(
        json(&format!("{U}builtins.attrNames {{ a = u; }}")),
        "[\"a\"]"
    );
    assert_eq!(json(&format!("{U}builtins.seq u 1")), "1");
}

#[test]
fn unknowns_inside_values_are_marked_in_place() {
    let p = run(&format!("{U}{{ a = 1; b = [ u ]; }}")).expect("evaluates");
    assert_eq!(
        p.text,
        "{\"a\":1,\"b\":[{\"__unknown\":\"builtins.currentSystem (the evaluating host's system)\"}]}"
    );
    assert_eq!(p.unknowns.len(), 1);
}

#[test]
fn unknowable_builtins_and_search_paths() {
    is_unknown("builtins.fetchTarball \"https://example.invalid/x.tar.gz\"");
    is_unknown("(builtins.fetchGit { url = \"x\"; }).outPath");
    is_unknown("builtins.fetchurl \"x\"");
    is_unknown("builtins.getFlake \"x\"");
    is_unknown("builtins.path { path = ./.; }");
    is_unknown("builtins.filterSource (p: t: true) ./.");
    is_unknown("<nixpkgs>");
    is_unknown("(import <nixpkgs> { }).hello");
    is_unknown("\"${./main.nix}\"");
    is_unknown("(derivation { name = \"d\"; system = \"x\"; builder = \"b\"; }).outPath");
    is_unknown("(derivation { name = \"d\"; system = \"x\"; builder = \"b\"; }).drvPath");
    assert_eq!(
        json("(derivation { name = \"d\"; system = \"x\"; builder = \"b\"; }).type"),
        "\"derivation\""
    );
}

#[test]
fn coercing_what_is_partly_unknown_is_unknown() {
    // A set whose `outPath` or `__toString` result is unknown (a flake input clanc has no
    // source of, a derivation), through every way Nix coerces a set to a string.
    for set in [
        "{ outPath = u; }",
        "{ outPath = { outPath = u; }; }",
        "{ __toString = self: u; }",
        "(derivation { name = \"d\"; system = \"x\"; builder = \"b\"; })",
    ] {
        for expr in [
            "\"${@}\"",
            "\"a${@}b\"",
            "toString @",
            "builtins.toString [ @ ]",
            "\"a\" + @",
            "@ + \"a\"",
            "./. + @",
            "./a/${@}",
            "builtins.readFile @",
            "import @",
            "builtins.pathExists @",
            "baseNameOf @",
            "builtins.stringLength @",
            "builtins.concatStringsSep \",\" [ @ ]",
            "builtins.toJSON @",
            "@",
        ] {
            is_unknown(&format!("{U}{}", expr.replace('@', set)));
        }
    }
    // A set marked open (a partial model of an input or of `lib`) may have a `__toString`
    // or an `outPath` clanc does not know.
    for expr in [
        "\"${{ __clancOpen = \"an input\"; }}\"",
        "toString { __clancOpen = \"an input\"; outPath = \"/x\"; }",
        "{ __clancOpen = \"an input\"; } + \"/x\"",
        "builtins.toJSON { __clancOpen = \"an input\"; a = 1; }",
        "import { __clancOpen = \"an input\"; }",
    ] {
        is_unknown(expr);
    }
    // An explicit `__toString` of an open set is called as usual.
    assert_eq!(
        json("\"${{ __clancOpen = \"x\"; __toString = s: \"t\"; }}\""),
        "\"t\""
    );
    // A plain set without either stays an error.
    assert_eq!(error_code("\"${{ a = 1; }}\""), Code::N002);
}

#[test]
fn an_absent_path_is_read_only_when_nix_reads_it() {
    // Copying to the store is what clanc cannot do (unknown); reading fails (N004).
    is_unknown("\"${./absent}\"");
    is_unknown("{ a = ./absent; }.a");
    assert_eq!(json("builtins.pathExists ./absent"), "false");
    assert_eq!(json("toString ./absent/x"), "\"/t/absent/x\"");
    assert_eq!(json("(x: 1) (import ./absent.nix)"), "1");
    assert_eq!(error_code("import ./absent.nix"), Code::N004);
    assert_eq!(error_code("builtins.readFile ./absent"), Code::N004);
    assert_eq!(error_code("builtins.readDir ./absent"), Code::N004);
}

#[test]
fn unknowns_remember_where_they_came_from() {
    let p = run("let x = 1; in <nixpkgs>").expect("evaluates");
    let origin = p.unknowns[0].origin.expect("has an origin");
    assert_eq!(u32::from(origin.range.start()), 14);
    assert!(p.unknowns[0].reason.contains("<nixpkgs>"));
}

#[test]
fn errors_have_codes_and_spans() {
    assert_eq!(error_code("let x = x; in x"), Code::N003);
    assert_eq!(error_code("rec { a = b; b = a; }.a"), Code::N003);
    assert_eq!(error_code("import ./missing.nix"), Code::N004);
    assert_eq!(error_code("throw \"x\""), Code::N002);
    assert_eq!(error_code("{ a = 1; a = 2; }"), Code::N001);
    assert_eq!(error_code("{ a = "), Code::N001);
    let e = run("let f = x: x.a; in\n  f { }").expect_err("fails");
    assert_eq!(e.message, "attribute 'a' missing");
    let pos = e.pos.expect("has a position");
    assert_eq!(u32::from(pos.range.start()), 11);
    assert!(!e.trace.is_empty(), "the call site is in the trace");
}

#[test]
fn limits_stop_pathological_inputs() {
    // Unbounded recursion, deep data, and endless loops end in N005, not a crash.
    assert_eq!(error_code("let f = x: f x; in f 1"), Code::N005);
    assert_eq!(error_code("let f = n: 1 + f (n + 1); in f 0"), Code::N005);
    assert_eq!(error_code("let f = n: [ (f (n + 1)) ]; in f 0"), Code::N005);
    assert_eq!(error_code("let x = { a = x; }; in x"), Code::N005);
    let few_steps = Limits {
        max_steps: 10_000,
        ..Limits::for_stack(64 * 1024 * 1024)
    };
    let e = run_with(
        "builtins.foldl' (a: b: a + b) 0 (builtins.genList (x: x) 1000000)",
        MemoryFiles::new(),
        Some(few_steps),
    )
    .expect_err("runs out of steps");
    assert_eq!(e.code(), Code::N005);
    let shallow = Limits {
        max_depth: 50,
        ..Limits::for_stack(64 * 1024 * 1024)
    };
    let e = run_with(
        "let f = n: if n == 0 then 0 else 1 + f (n - 1); in f 100",
        MemoryFiles::new(),
        Some(shallow),
    )
    .expect_err("too deep");
    assert_eq!(e.code(), Code::N005);
}

#[test]
fn long_chains_are_built_and_dropped_without_overflow() {
    let text =
        "builtins.length (builtins.foldl' (acc: x: [ acc ]) [ ] (builtins.genList (x: x) 300000))";
    assert_eq!(json(text), "1");
}

#[test]
fn imports_are_cached_per_path() {
    let files = MemoryFiles::new()
        .with("/t/lib.nix", "builtins.trace \"loaded\" { x = 1; }")
        .with("/t/dir/default.nix", "{ y = import ../lib.nix; }");
    let text = "[ (import ./lib.nix).x (import ./dir).y.x (import /t/lib.nix).x ]";
    let text = text.to_string();
    let out = std::thread::Builder::new()
        .stack_size(64 * 1024 * 1024)
        .spawn(move || {
            let files = files.with("/t/main.nix", &text);
            let db = Database::default();
            let mut ev = Evaluator::new(&db, &files, Limits::for_stack(64 * 1024 * 1024));
            let v = ev.eval_file("/t/main.nix").map_err(|e| *e)?;
            let printed = print_json(&mut ev, &v).map_err(|e| *e)?;
            Ok::<_, EvalError>((printed.text, ev.trace_output.clone()))
        })
        .expect("thread")
        .join()
        .expect("no panic")
        .expect("evaluates");
    assert_eq!(out.0, "[1,1,1]");
    assert_eq!(out.1, vec!["trace: loaded".to_string()]);
}

#[test]
fn no_panic_on_odd_syntax() {
    for text in [
        "",
        "{",
        "}",
        "let",
        "let in",
        "x:",
        "{ a.b.c }",
        "''",
        "''${",
        "\"${",
        "a.${",
        "./",
        "<>",
        "{ inherit; }",
        "{ inherit (x); }",
        "assert",
        "with;",
        "1 ++",
        "[ 1 2",
        "{ ${\"a\"}.b = 1; a.c = 2; }",
        "let ${x} = 1; in 1",
        "__curPos",
        "x@{}: 1",
        "{...}@x: x",
        "-",
        "!",
        "a or",
        "1.a.b or",
        "''\n  ''\\",
        "\"\\",
        "rec",
        "~/x",
    ] {
        let _ = run(text);
    }
}

#[test]
fn the_static_global_names_are_the_base_scope() {
    let (_, globals) = builtins::base_scope();
    for name in globals.keys() {
        assert!(builtins::is_global(name), "{name}");
    }
    for name in ["x", "lib", "pkgs", "__nothing", "__", "fetchurl"] {
        assert!(!builtins::is_global(name), "{name}");
    }
}

#[test]
fn lowering_is_memoised_per_file_and_follows_edits() {
    use salsa::Setter;
    use std::sync::Arc;

    let mut db = Database::default();
    let a = crate::db::SourceFile::new(&db, "/t/a.nix".into(), Arc::from("{ x = 1; }"));
    let b = crate::db::SourceFile::new(&db, "/t/b.nix".into(), Arc::from("import ./a.nix"));
    let a1 = lower::lower_file(&db, a, 1 << 20).clone();
    let b1 = lower::lower_file(&db, b, 1 << 20).clone();
    assert!(Arc::ptr_eq(&a1, lower::lower_file(&db, a, 1 << 20)));
    // Editing b leaves a's lowering alone; editing a lowers it anew.
    b.set_text(&mut db).to(Arc::from("import ./a.nix // { }"));
    assert!(Arc::ptr_eq(&a1, lower::lower_file(&db, a, 1 << 20)));
    assert!(!Arc::ptr_eq(&b1, lower::lower_file(&db, b, 1 << 20)));
    a.set_text(&mut db).to(Arc::from("{ x = 2; }"));
    assert!(!Arc::ptr_eq(&a1, lower::lower_file(&db, a, 1 << 20)));
}

/// An evaluation's graph, cycles included, is freed when its `Garbage` is dropped, and not
/// before: the language server frees it after publishing.
#[test]
fn garbage_frees_the_evaluation_cycles_included_when_dropped() {
    let files = MemoryFiles::new();
    let db = Database::default();
    let mut ev = Evaluator::new(&db, &files, Limits::default());
    // `self` refers to the frame it lives in (a cycle through a let frame)
    let value = ev
        .eval_text("let self = { a = self; b = [ 1 2 ]; }; in self", "/t")
        .expect("evaluates");
    let Value::Attrs(attrs) = value else {
        panic!("a set")
    };
    let a = attrs.get("a").expect("has a").clone();
    ev.force(&a, None).expect("forces");
    let weak = std::rc::Rc::downgrade(&a.0);
    drop((a, attrs));
    let garbage = ev.into_garbage();
    assert!(weak.upgrade().is_some(), "alive while the garbage is kept");
    drop(garbage);
    assert!(weak.upgrade().is_none(), "freed with the garbage");
}

/// An evaluation unwound by a panic (salsa's cancellation) is not freed while unwinding, but
/// when the thread asks for it (after letting go of its database snapshot).
#[test]
fn an_unwound_evaluation_is_freed_when_the_thread_says() {
    std::thread::spawn(|| {
        let files = MemoryFiles::new().with("/t/main.nix", "{ a = [ 1 2 ]; }");
        let db = Database::default();
        let mut weak = None;
        let unwound = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let mut ev = Evaluator::new(&db, &files, Limits::default());
            // the evaluator holds the file's value (its import cache)
            let Value::Attrs(attrs) = ev.eval_file("/t/main.nix").expect("evaluates") else {
                panic!("a set")
            };
            let a = attrs.get("a").expect("has a").clone();
            ev.force(&a, None).expect("forces");
            weak = Some(std::rc::Rc::downgrade(&a.0));
            panic!("cancelled");
        }));
        assert!(unwound.is_err());
        let weak = weak.expect("evaluated");
        assert!(weak.upgrade().is_some(), "kept while unwinding");
        Garbage::free_deferred();
        assert!(weak.upgrade().is_none(), "freed on request");
    })
    .join()
    .expect("no failed assertion");
}

/// The texts of the expressions of `text` (the file `/t/main.nix`) that evaluating it to
/// strict JSON entered.
fn entered_texts(text: &str) -> Vec<String> {
    let files = MemoryFiles::new().with("/t/main.nix", text);
    let db = Database::default();
    let mut ev = Evaluator::new(&db, &files, Limits::default());
    let value = ev.eval_file("/t/main.nix").expect("evaluates");
    print_json(&mut ev, &value).expect("prints");
    let entered = ev.entered_exprs().remove("/t/main.nix").expect("the file");
    let lowered = entered.lowered().clone();
    (0..lowered.exprs.len() as u32)
        .map(ir::ExprId)
        .filter(|e| entered.is_entered(*e))
        .map(|e| text[std::ops::Range::<usize>::from(lowered.source_map.range(e))].to_string())
        .collect()
}

#[test]
fn what_is_never_evaluated_is_never_entered() {
    let entered = entered_texts("{ used = 1; unused = [ 2 (3 + 4) ]; }.used");
    assert!(entered.contains(&"1".to_string()), "{entered:?}");
    for never in ["[ 2 (3 + 4) ]", "2", "3 + 4"] {
        assert!(
            !entered.contains(&never.to_string()),
            "{never} in {entered:?}"
        );
    }
    // a function never called: its body is not entered, the function is
    let entered = entered_texts("let f = x: x.y + 1; in builtins.isFunction f");
    assert!(entered.iter().any(|t| t == "x: x.y + 1"), "{entered:?}");
    assert!(!entered.iter().any(|t| t == "x.y + 1"), "{entered:?}");
}

#[test]
fn values_taken_without_a_thunk_of_their_own_are_entered() {
    // `b = a` shares `a`'s value (computed in an enclosing frame): no thunk of `a` is ever
    // forced for `b`, but its value came from there
    let entered = entered_texts("let a = 1; in let b = a; in b");
    assert_eq!(
        entered.iter().filter(|t| *t == "a").count(),
        1,
        "{entered:?}"
    );
    // a variable passed on as a list element, never forced on its own
    let entered = entered_texts("let a = 2; in builtins.length [ a ]");
    assert!(entered.iter().any(|t| t == "a"), "{entered:?}");
}

#[test]
fn pure_evaluation_reads_nothing_of_the_environment() {
    // As Nix evaluates a flake: getEnv is "", a path in the home directory is unknown.
    assert_eq!(json("builtins.getEnv \"PATH\""), "\"\"");
    is_unknown("~/.config/x");
    is_unknown("builtins.readFile ~/.bashrc");
    // `clanc eval` evaluates impurely, as nix-instantiate does.
    let impure = Limits {
        pure: false,
        ..Limits::for_stack(64 * 1024 * 1024)
    };
    let path = std::env::var("PATH").unwrap_or_default();
    let printed =
        run_with("builtins.getEnv \"PATH\"", MemoryFiles::new(), Some(impure)).expect("evaluates");
    assert_eq!(printed.text, serde_json::to_string(&path).unwrap());
}

/// A machine's stretch of evaluation ends: of two `let` frames whose function slot refers back
/// to them, the one only a discarded value used is emptied, the one a kept value still reaches
/// (the function, which the import cache holds) is not, and that function still works.
#[test]
fn collecting_a_stretchs_cycles_empties_only_unreachable_frames() {
    let stack = 64 * 1024 * 1024;
    std::thread::Builder::new()
        .stack_size(stack)
        .spawn(move || {
            let files = MemoryFiles::new()
                .with("/t/dropped.nix", "let a = 1; f = x: a + x; in f 1")
                .with("/t/kept.nix", "let a = 40; f = x: a + x; in f")
                .with("/t/after.nix", "import ./kept.nix 2");
            let db = Database::default();
            let mut ev = Evaluator::new(&db, &files, Limits::for_stack(stack));
            ev.begin_machine();
            for file in ["/t/dropped.nix", "/t/kept.nix"] {
                ev.eval_file(file).expect("evaluates");
            }
            assert_eq!(ev.collect_stretch_cycles(), 1);
            let after = ev.eval_file("/t/after.nix").expect("evaluates");
            let printed = print_json(&mut ev, &after).expect("prints");
            assert_eq!(printed.text, "42");
        })
        .expect("thread starts")
        .join()
        .expect("no panic");
}

/// The range of the first `len` bytes of the first `needle` in `text`.
fn range_in(text: &str, needle: &str, len: usize) -> rnix::TextRange {
    let start = text.find(needle).expect("needle in text");
    rnix::TextRange::at((start as u32).into(), (len as u32).into())
}

#[test]
fn the_ir_knows_where_values_and_list_elements_are_written() {
    let text =
        r#"let b = 1; in { a.port = "51820"; tags = [ "x" ("y") ]; inherit b; p = ([ 1 ]); }"#;
    let parse = crate::syntax::parse(text);
    let lowered = lower::lower(parse.root().and_then(|r| r.expr()), &|_| false, 1 << 20);
    let written = &lowered.written;
    let shown = |r: rnix::TextRange| &text[std::ops::Range::<usize>::from(r)];
    let port = written.value_of_key(range_in(text, "port", 4));
    assert_eq!(port.map(shown), Some("\"51820\""));
    // not the last name of its attrpath, an inherited name, a value
    assert_eq!(written.value_of_key(range_in(text, "a.", 1)), None);
    assert_eq!(written.value_of_key(range_in(text, "b;", 1)), None);
    assert_eq!(written.value_of_key(range_in(text, "\"x\"", 3)), None);
    let b = written.value_of_key(range_in(text, "b =", 1));
    assert_eq!(b, Some(range_in(text, "1", 1)));
    let tags = written
        .value_of_key(range_in(text, "tags", 4))
        .expect("tags is bound");
    let items: Vec<&str> = (written.list_elements(tags).expect("a list").iter())
        .map(|r| shown(*r))
        .collect();
    assert_eq!(items, ["\"x\"", "(\"y\")"]);
    // through parentheses, and not for what is no list
    let p = written
        .value_of_key(range_in(text, "p =", 1))
        .expect("p is bound");
    assert_eq!(shown(p), "([ 1 ])");
    assert_eq!(written.list_elements(p).map(<[_]>::len), Some(1));
    assert_eq!(written.list_elements(port.expect("port is bound")), None);
}
