//! What a piece of code can reach beyond itself, read from its text alone (no evaluation):
//! the path literals it names, the expressions outside it whose values it uses (bindings of
//! enclosing `let`s and `rec` sets, defaults of enclosing functions' arguments, the sets of
//! enclosing `with`s), and the arguments of enclosing functions it uses, with the attributes
//! it selects of them. `plan --changed-since` follows this to learn which code and which
//! files a machine's configuration is made of, beyond what clanc evaluated.

use std::collections::HashSet;
use std::rc::Rc;
use std::sync::Arc;

use rnix::TextRange;

use super::entered::children;
use super::ir::{AttrKey, Expr, ExprId, Lowered, Param, Part, Var};

/// A file's lowered code with the parent of each expression.
pub struct CodeIndex {
    lowered: Arc<Lowered>,
    parents: Vec<Option<ExprId>>,
}

/// A path literal: its text up to the first interpolation (the whole text when it has
/// none), as written (`./a/b.nix`, `/etc/x`, `~/x`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathLiteral {
    pub range: TextRange,
    pub text: String,
    /// `./x`, `../x`: relative to the directory of the file.
    pub relative: bool,
    /// `~/x`.
    pub home: bool,
    /// Interpolated (`./hosts/${name}.nix`): `text` is only the fixed start.
    pub interpolated: bool,
}

/// A use of a function's argument.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArgumentUse {
    /// The function (a lambda's range).
    pub function: TextRange,
    /// The argument's name (a formal, or the name of the whole argument: `x:` or `@x`).
    pub name: Arc<str>,
    /// The whole argument (`x:` or `@x`), not one formal of it.
    pub whole: bool,
    /// The attribute path selected from it right away (`inputs.nixpkgs.lib` selects
    /// `nixpkgs.lib`), up to the first dynamic name; `None` when it is used otherwise.
    pub select: Option<Vec<Arc<str>>>,
    /// Where it is used.
    pub range: TextRange,
}

/// What a piece of code reaches ([`CodeIndex::reach`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Reach {
    pub paths: Vec<PathLiteral>,
    /// Ranges (in the same file) of expressions outside the piece whose values it uses.
    pub captured: Vec<TextRange>,
    /// Ranges of parts of the piece written outside its range: attributes merged into its
    /// sets by other attribute paths (`a.b = 1; a.c = 2;` makes one set of `a`, written at
    /// the first binding).
    pub spread: Vec<TextRange>,
    pub arguments: Vec<ArgumentUse>,
}

#[derive(Clone, Copy, Debug)]
enum FrameKind {
    Let,
    Rec,
    Lambda,
    With,
}

/// One frame of the environment chain, innermost first.
struct Frame {
    kind: FrameKind,
    /// The expression that pushes it.
    expr: ExprId,
    /// Whether it encloses the piece (pushed outside it).
    outside: bool,
    parent: Option<Rc<Frame>>,
}

type Chain = Option<Rc<Frame>>;

fn push(chain: &Chain, kind: FrameKind, expr: ExprId, outside: bool) -> Chain {
    Some(Rc::new(Frame {
        kind,
        expr,
        outside,
        parent: chain.clone(),
    }))
}

impl CodeIndex {
    pub fn new(lowered: Arc<Lowered>) -> CodeIndex {
        let mut parents = vec![None; lowered.exprs.len()];
        let mut kids = Vec::new();
        for (i, expr) in lowered.exprs.iter().enumerate() {
            kids.clear();
            children(expr, &mut kids);
            for child in &kids {
                if let Some(slot) = parents.get_mut(child.0 as usize) {
                    *slot = Some(ExprId(i as u32));
                }
            }
        }
        CodeIndex { lowered, parents }
    }

    pub fn lowered(&self) -> &Arc<Lowered> {
        &self.lowered
    }

    /// The whole file's range.
    pub fn root_range(&self) -> TextRange {
        self.lowered.source_map.range(self.lowered.root)
    }

    /// The innermost expression written exactly at `range`. Several share a range where an
    /// attribute path makes sets (`a.b.c = 1;`: the sets of `a` and `b` are both written at
    /// the binding); a definition at that range is of the deepest one.
    fn expr_at(&self, range: TextRange) -> Option<ExprId> {
        // Children are allocated before their parents: the first match is the innermost.
        let ranges = &self.lowered.source_map.ranges;
        ranges
            .iter()
            .position(|r| *r == range)
            .map(|i| ExprId(i as u32))
    }

    fn parent(&self, id: ExprId) -> Option<ExprId> {
        self.parents.get(id.0 as usize).copied().flatten()
    }

    /// Whether an expression is written exactly at `range`.
    pub fn has_expr_at(&self, range: TextRange) -> bool {
        self.expr_at(range).is_some()
    }

    /// The function the file is, when it is one (a lambda, possibly under `let`, `with` or
    /// `assert`): its range.
    pub fn root_function(&self) -> Option<TextRange> {
        let mut id = self.lowered.root;
        loop {
            match self.lowered.expr(id) {
                Expr::Lambda(_) => return Some(self.lowered.source_map.range(id)),
                Expr::Let { body, .. } | Expr::With { body, .. } | Expr::Assert { body, .. } => {
                    id = *body
                }
                _ => return None,
            }
        }
    }

    /// Whether the expression at `range` is a function (a lambda).
    pub fn is_function(&self, range: TextRange) -> bool {
        self.expr_at(range)
            .is_some_and(|id| matches!(self.lowered.expr(id), Expr::Lambda(_)))
    }

    /// The literal set an attribute named at `key` belongs to (`key`: the range of its name,
    /// as an attribute's position says), or else the innermost set around `key`: its range.
    pub fn set_of_key(&self, key: TextRange) -> Option<TextRange> {
        let lowered = &*self.lowered;
        let mut innermost: Option<TextRange> = None;
        for (i, expr) in lowered.exprs.iter().enumerate() {
            let Expr::Attrs(set) = expr else { continue };
            let range = lowered.source_map.range(ExprId(i as u32));
            let named = set.attrs.iter().any(|d| d.range == key)
                || set
                    .dynamic
                    .iter()
                    .any(|(k, _)| lowered.source_map.range(*k) == key);
            if named {
                return Some(range);
            }
            if range.contains_range(key) && innermost.is_none_or(|r| r.len() > range.len()) {
                innermost = Some(range);
            }
        }
        innermost
    }

    /// The attributes of the literal set written at `range` (name, value's range); `None`
    /// when no set is written there or some name is dynamic.
    pub fn set_attributes(&self, range: TextRange) -> Option<Vec<(Arc<str>, TextRange)>> {
        let Expr::Attrs(set) = self.lowered.expr(self.expr_at(range)?) else {
            return None;
        };
        if !set.dynamic.is_empty() {
            return None;
        }
        Some(
            set.attrs
                .iter()
                .map(|d| (d.name.clone(), self.lowered.source_map.range(d.value)))
                .collect(),
        )
    }

    /// Whether the function at `function` is called by code of this file with values of
    /// this file: applied where it is written, or handed to a builtin or a `lib` function
    /// (`map (x: ...) xs`, `lib.genAttrs names (name: ...)`), which calls it with what its
    /// other arguments hold. (A function of several arguments, `a: b: ...`, counts as one.)
    pub fn called_locally(&self, function: TextRange) -> bool {
        let Some(mut id) = self.expr_at(function) else {
            return false;
        };
        while let Some(p) = self.parent(id) {
            match self.lowered.expr(p) {
                Expr::Lambda(l) if l.body == id => id = p,
                _ => break,
            }
        }
        let Some(p) = self.parent(id) else {
            return false;
        };
        match self.lowered.expr(p) {
            Expr::Apply { func, .. } if *func == id => true,
            Expr::Apply { arg, .. } if *arg == id => self.library_call(p),
            _ => false,
        }
    }

    /// Whether the application at `apply` calls one of the functions of builtins or nixpkgs'
    /// `lib` that call a function they are given with the values of their other arguments
    /// (`map`, `mapAttrs`, `genAttrs`, `foldl'`, ...), by the name it is called by.
    fn library_call(&self, apply: ExprId) -> bool {
        const CALLS_WITH_ITS_ARGUMENTS: &[&str] = &[
            "map",
            "mapAttrs",
            "mapAttrs'",
            "mapAttrsToList",
            "mapAttrsRecursive",
            "mapAttrsRecursiveCond",
            "genAttrs",
            "genList",
            "filter",
            "filterAttrs",
            "foldl",
            "foldl'",
            "foldr",
            "foldlAttrs",
            "concatMap",
            "concatMapStrings",
            "concatMapStringsSep",
            "concatMapAttrs",
            "forEach",
            "imap0",
            "imap1",
            "zipAttrsWith",
            "zipListsWith",
            "partition",
            "sort",
            "groupBy",
            "any",
            "all",
            "fix",
            "listToAttrs",
        ];
        let mut head = apply;
        while let Expr::Apply { func, .. } = self.lowered.expr(head) {
            head = *func;
        }
        let name = match self.lowered.expr(head) {
            Expr::Var(Var::Global(name)) => Some(name.clone()),
            Expr::Select { path, .. } => match path.last() {
                Some(AttrKey::Static(name)) => Some(name.clone()),
                _ => None,
            },
            _ => None,
        };
        name.is_some_and(|n| CALLS_WITH_ITS_ARGUMENTS.contains(&&*n))
    }

    /// The value of the attribute `name` of the set the file is (`outputs` of a flake.nix).
    pub fn root_attribute(&self, name: &str) -> Option<TextRange> {
        let Expr::Attrs(set) = self.lowered.expr(self.lowered.root) else {
            return None;
        };
        let def = set.attrs.iter().find(|d| &*d.name == name)?;
        Some(self.lowered.source_map.range(def.value))
    }

    /// The values of attributes named one of `names` anywhere in the file (ranges).
    pub fn attribute_values(&self, names: &[&str]) -> Vec<(Arc<str>, TextRange)> {
        let mut out = Vec::new();
        for expr in &self.lowered.exprs {
            if let Expr::Attrs(set) = expr {
                for def in &set.attrs {
                    if names.contains(&&*def.name) {
                        out.push((def.name.clone(), self.lowered.source_map.range(def.value)));
                    }
                }
            }
        }
        out
    }

    /// The frames that enclose `id`, innermost first.
    fn chain_to(&self, id: ExprId) -> Chain {
        let mut path = vec![id];
        let mut at = id;
        while let Some(p) = self.parent(at) {
            path.push(p);
            at = p;
        }
        path.reverse();
        let mut chain: Chain = None;
        for pair in path.windows(2) {
            let (parent, child) = (pair[0], pair[1]);
            if let Some(kind) = frame_for_child(self.lowered.expr(parent), child) {
                chain = push(&chain, kind, parent, true);
            }
        }
        chain
    }

    /// What the code at `range` (`None`: the whole file) reaches. Code inside `skip` (exact
    /// ranges of expressions) is not looked at. Uses of the arguments of the functions at
    /// `functions` are reported even when the function is part of the piece; other
    /// functions inside it are its own business. `None` when no expression is at `range`.
    pub fn reach(
        &self,
        range: Option<TextRange>,
        skip: &HashSet<TextRange>,
        functions: &HashSet<TextRange>,
    ) -> Option<Reach> {
        let root = match range {
            Some(r) => self.expr_at(r)?,
            None => self.lowered.root,
        };
        let lowered = &*self.lowered;
        let range_of = |id: ExprId| lowered.source_map.range(id);
        let mut out = Reach::default();
        let root_range = range_of(root);
        let mut work: Vec<(ExprId, Chain)> = vec![(root, self.chain_to(root))];
        let mut kids = Vec::new();
        while let Some((id, chain)) = work.pop() {
            if id != root && skip.contains(&range_of(id)) {
                continue;
            }
            let here = range_of(id);
            if !root_range.contains_range(here)
                && self
                    .parent(id)
                    .is_some_and(|p| root_range.contains_range(range_of(p)))
            {
                out.spread.push(here);
            }
            // The names of attributes merged in from elsewhere count with their values.
            if let Expr::Attrs(set) = lowered.expr(id) {
                for def in &set.attrs {
                    if !root_range.contains_range(def.range) {
                        out.spread.push(def.range);
                    }
                }
            }
            let expr = lowered.expr(id);
            match expr {
                Expr::Var(var) => {
                    self.use_var(var, None, range_of(id), &chain, functions, &mut out)
                }
                Expr::Select {
                    expr: inner,
                    path,
                    default,
                } if matches!(lowered.expr(*inner), Expr::Var(_)) => {
                    self.selected_var(*inner, path, id, &chain, functions, &mut out);
                    for key in path {
                        if let AttrKey::Dynamic(e) = key {
                            work.push((*e, chain.clone()));
                        }
                    }
                    if let Some(d) = default {
                        work.push((*d, chain.clone()));
                    }
                    continue;
                }
                Expr::HasAttr { expr: inner, path }
                    if matches!(lowered.expr(*inner), Expr::Var(_)) =>
                {
                    self.selected_var(*inner, path, id, &chain, functions, &mut out);
                    for key in path {
                        if let AttrKey::Dynamic(e) = key {
                            work.push((*e, chain.clone()));
                        }
                    }
                    continue;
                }
                Expr::Path {
                    home,
                    relative,
                    parts,
                } => {
                    let mut text = String::new();
                    let mut interpolated = false;
                    for part in parts {
                        match part {
                            Part::Lit(t) if !interpolated => text.push_str(t),
                            Part::Lit(_) => {}
                            Part::Expr(_) => interpolated = true,
                        }
                    }
                    out.paths.push(PathLiteral {
                        range: range_of(id),
                        text,
                        relative: *relative,
                        home: *home,
                        interpolated,
                    });
                }
                _ => {}
            }
            kids.clear();
            children(expr, &mut kids);
            for &child in kids.iter().rev() {
                let inner = match frame_for_child(expr, child) {
                    Some(kind) => push(&chain, kind, id, false),
                    None => chain.clone(),
                };
                work.push((child, inner));
            }
        }
        out.captured.sort_by_key(|r| (r.start(), r.end()));
        out.captured.dedup();
        out.spread.sort_by_key(|r| (r.start(), r.end()));
        out.spread.dedup();
        out.paths.sort_by_key(|p| (p.range.start(), p.range.end()));
        out.arguments
            .sort_by_key(|a| (a.range.start(), a.range.end(), a.name.clone()));
        Some(out)
    }

    /// Notes the use of the variable `var_expr` that `select_expr` selects `path` of.
    fn selected_var(
        &self,
        var_expr: ExprId,
        path: &[AttrKey],
        select_expr: ExprId,
        chain: &Chain,
        functions: &HashSet<TextRange>,
        out: &mut Reach,
    ) {
        if let Expr::Var(var) = self.lowered.expr(var_expr) {
            let at = self.lowered.source_map.range(select_expr);
            self.use_var(var, Some(static_prefix(path)), at, chain, functions, out);
        }
    }

    /// Notes the use of a variable (selected from right away by `select`) at `at`.
    fn use_var(
        &self,
        var: &Var,
        select: Option<Vec<Arc<str>>>,
        at: TextRange,
        chain: &Chain,
        functions: &HashSet<TextRange>,
        out: &mut Reach,
    ) {
        let lowered = &*self.lowered;
        match var {
            Var::Global(_) => {}
            Var::With(_) => {
                // Found in some enclosing `with` at run time: any of those outside the piece.
                let mut frame = chain.as_ref();
                while let Some(f) = frame {
                    if f.outside
                        && let (FrameKind::With, Expr::With { namespace, .. }) =
                            (f.kind, lowered.expr(f.expr))
                    {
                        out.captured.push(lowered.source_map.range(*namespace));
                    }
                    frame = f.parent.as_ref();
                }
            }
            Var::Local { up, slot } => {
                let mut frame = chain.as_ref();
                for _ in 0..*up {
                    frame = frame.and_then(|f| f.parent.as_ref());
                }
                let Some(frame) = frame else { return };
                let slot = *slot as usize;
                match (frame.kind, lowered.expr(frame.expr)) {
                    (FrameKind::Let, Expr::Let { bindings, .. }) if frame.outside => {
                        if let Some(b) = bindings.get(slot) {
                            out.captured.push(lowered.source_map.range(*b));
                        }
                    }
                    (FrameKind::Rec, Expr::Attrs(set)) if frame.outside => {
                        if let Some(def) = set.attrs.get(slot) {
                            out.captured.push(lowered.source_map.range(def.value));
                        }
                    }
                    (FrameKind::Lambda, Expr::Lambda(lambda)) => {
                        let function = lowered.source_map.range(frame.expr);
                        if !frame.outside && !functions.contains(&function) {
                            return;
                        }
                        let (name, whole, default) = match &lambda.param {
                            Param::Ident(name) => (name.clone(), true, None),
                            Param::Formals { formals, bind, .. } => match formals.get(slot) {
                                Some(f) => (f.name.clone(), false, f.default),
                                None => (bind.clone().unwrap_or_default(), true, None),
                            },
                        };
                        if let Some(d) = default
                            && frame.outside
                        {
                            out.captured.push(lowered.source_map.range(d));
                        }
                        out.arguments.push(ArgumentUse {
                            function,
                            name,
                            whole,
                            select,
                            range: at,
                        });
                    }
                    _ => {}
                }
            }
        }
    }
}

/// The attribute names of a path up to the first dynamic one.
fn static_prefix(path: &[AttrKey]) -> Vec<Arc<str>> {
    path.iter()
        .map_while(|k| match k {
            AttrKey::Static(name) => Some(name.clone()),
            AttrKey::Dynamic(_) => None,
        })
        .collect()
}

/// The frame `parent` pushes around its child `child`, if any (as lowering resolves names).
fn frame_for_child(parent: &Expr, child: ExprId) -> Option<FrameKind> {
    match parent {
        Expr::Let { .. } => Some(FrameKind::Let),
        Expr::Attrs(set) if set.rec => Some(FrameKind::Rec),
        Expr::Lambda(_) => Some(FrameKind::Lambda),
        Expr::With { body, .. } if *body == child => Some(FrameKind::With),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index(text: &str) -> CodeIndex {
        let parse = rnix::Root::parse(text);
        let lowered = super::super::lower::lower(
            parse.tree().expr(),
            &super::super::builtins::is_global,
            1 << 20,
        );
        CodeIndex::new(Arc::new(lowered))
    }

    fn range_of(text: &str, needle: &str) -> TextRange {
        let start = text.find(needle).expect("needle in text");
        TextRange::new(
            (start as u32).into(),
            ((start + needle.len()) as u32).into(),
        )
    }

    fn slice(text: &str, r: TextRange) -> &str {
        &text[std::ops::Range::<usize>::from(r)]
    }

    #[test]
    fn a_module_reaches_its_bindings_paths_and_the_file_arguments() {
        let text = r#"{ inputs, config, ... }:
let
  shared = import ./shared.nix;
  unused = ./unused.nix;
in
{
  flake.modules.nixos.web = { pkgs, ... }: {
    imports = [ inputs.srvos.nixosModules.server ./hw/${"x"}.nix ];
    environment.etc.motd.text = shared.motd;
    users = config.flake.users;
    services.nginx.package = pkgs.nginx;
  };
}
"#;
        let index = index(text);
        let module = range_of(
            text,
            "{ pkgs, ... }: {\n    imports = [ inputs.srvos.nixosModules.server ./hw/${\"x\"}.nix ];\n    environment.etc.motd.text = shared.motd;\n    users = config.flake.users;\n    services.nginx.package = pkgs.nginx;\n  }",
        );
        let functions: HashSet<TextRange> = [module].into();
        let reach = index
            .reach(Some(module), &HashSet::new(), &functions)
            .unwrap();
        let captured: Vec<&str> = reach.captured.iter().map(|r| slice(text, *r)).collect();
        assert_eq!(captured, ["import ./shared.nix"]);
        assert_eq!(reach.paths.len(), 1);
        assert_eq!(reach.paths[0].text, "./hw/");
        assert!(reach.paths[0].interpolated && reach.paths[0].relative);
        let uses: Vec<(String, Option<String>, bool)> = reach
            .arguments
            .iter()
            .map(|a| {
                (
                    a.name.to_string(),
                    a.select.as_ref().map(|s| s.join(".")),
                    a.function == module,
                )
            })
            .collect();
        assert_eq!(
            uses,
            [
                (
                    "inputs".into(),
                    Some("srvos.nixosModules.server".into()),
                    false
                ),
                ("config".into(), Some("flake.users".into()), false),
                ("pkgs".into(), Some("nginx".into()), true),
            ]
        );
        assert_eq!(index.root_function(), Some(index.root_range()));
        // the binding it captures reaches the file it imports
        let binding = index
            .reach(Some(reach.captured[0]), &HashSet::new(), &HashSet::new())
            .unwrap();
        assert_eq!(binding.paths[0].text, "./shared.nix");
        assert!(!binding.paths[0].interpolated);
    }

    #[test]
    fn with_rec_inherit_and_skipped_code() {
        let text = r#"{ lib }:
let ns = { a = 1; }; in
with ns;
rec {
  x = a + y;
  y = 2;
  z = { inherit x; list = [ lib.foo ]; };
}
"#;
        let index = index(text);
        let z = range_of(text, "{ inherit x; list = [ lib.foo ]; }");
        let reach = index
            .reach(Some(z), &HashSet::new(), &HashSet::new())
            .unwrap();
        let captured: Vec<&str> = reach.captured.iter().map(|r| slice(text, *r)).collect();
        assert_eq!(captured, ["a + y"]);
        assert_eq!(reach.arguments.len(), 1);
        assert_eq!(&*reach.arguments[0].name, "lib");
        // skipping the list leaves `lib` unseen
        let list = range_of(text, "[ lib.foo ]");
        let skip: HashSet<TextRange> = [list].into();
        let reach = index.reach(Some(z), &skip, &HashSet::new()).unwrap();
        assert!(reach.arguments.is_empty());
        // `a` comes from the `with`: its set is captured
        let x = range_of(text, "a + y");
        let reach = index
            .reach(Some(x), &HashSet::new(), &HashSet::new())
            .unwrap();
        let captured: Vec<&str> = reach.captured.iter().map(|r| slice(text, *r)).collect();
        assert_eq!(captured, ["ns", "2"]);
    }

    #[test]
    fn sets_merged_from_attribute_paths() {
        let text = "{ self, ... }: {\n  clan.meta.name = \"x\";\n  clan.specialArgs = { inherit self; };\n  clan.meta.domain = \"d\";\n}\n";
        let index = index(text);
        // The definition of `meta` is at its first binding: the set of `meta`, not `clan`.
        let first = range_of(text, "clan.meta.name = \"x\";");
        let reach = index
            .reach(Some(first), &HashSet::new(), &HashSet::new())
            .unwrap();
        assert!(reach.arguments.is_empty(), "{reach:?}");
        let spread: Vec<&str> = reach.spread.iter().map(|r| slice(text, *r)).collect();
        assert_eq!(spread, ["domain", "\"d\""]);
        let attributes = index.set_attributes(first).unwrap();
        let names: Vec<&str> = attributes.iter().map(|(n, _)| &**n).collect();
        assert_eq!(names, ["domain", "name"]);
    }

    #[test]
    fn functions_called_here_and_elsewhere() {
        let text = r#"{ lib, flake-parts, names }:
{
  a = lib.genAttrs names (name: { hostName = name; });
  b = map (x: y: x + y) [ 1 ];
  c = (v: v) 1;
  d = flake-parts.lib.mkFlake { } ({ config, ... }: { });
  e = mystery (z: z);
  f = builtins.mapAttrs (k: v: v) { };
}
"#;
        let index = index(text);
        let at = |needle: &str| range_of(text, needle);
        assert!(index.called_locally(at("name: { hostName = name; }")));
        assert!(index.called_locally(at("x: y: x + y")));
        assert!(index.called_locally(at("y: x + y")));
        assert!(index.called_locally(at("v: v")));
        assert!(index.called_locally(at("k: v: v")));
        // mkFlake calls its module with flake-parts' arguments, not with its own
        assert!(!index.called_locally(at("{ config, ... }: { }")));
        assert!(!index.called_locally(at("z: z")));
    }

    #[test]
    fn whole_arguments_and_attribute_values() {
        let text = r#"{
  roles.server.perInstance = { roles, settings, ... }: { nixosModule = { x = roles.client.machines; }; };
  roles.client.perInstance = args: { nixosModule = args.settings; };
  perMachine = { machine, ... }: { };
}
"#;
        let index = index(text);
        let values = index.attribute_values(&["perInstance", "perMachine"]);
        assert_eq!(values.len(), 3);
        for (_, range) in &values {
            assert!(index.is_function(*range));
        }
        let first = values
            .iter()
            .find(|(_, r)| slice(text, *r).starts_with("{ roles"))
            .unwrap()
            .1;
        let functions: HashSet<TextRange> = [first].into();
        let reach = index
            .reach(Some(first), &HashSet::new(), &functions)
            .unwrap();
        assert_eq!(reach.arguments.len(), 1);
        assert_eq!(&*reach.arguments[0].name, "roles");
        assert_eq!(
            reach.arguments[0].select.as_deref().map(|s| s.len()),
            Some(2)
        );
        let second = values
            .iter()
            .find(|(_, r)| slice(text, *r).starts_with("args"))
            .unwrap()
            .1;
        let functions: HashSet<TextRange> = [second].into();
        let reach = index
            .reach(Some(second), &HashSet::new(), &functions)
            .unwrap();
        assert!(reach.arguments[0].whole);
        assert!(
            index
                .reach(
                    Some(TextRange::empty(1.into())),
                    &HashSet::new(),
                    &HashSet::new()
                )
                .is_none()
        );
    }
}
