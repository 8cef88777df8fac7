# clanc's model of nixpkgs' `lib`, for evaluating flake modules without nixpkgs.
#
# Written for clanc from nixpkgs' documented behaviour (it is not a copy of nixpkgs' source).
# Functions behave as nixpkgs documents them. Option types are data only: `_type`, `name`,
# `description` (as nixpkgs renders it), `descriptionClass`, `check` (shallow, like nixpkgs'),
# `nestedTypes`, and where they have one `payload`, `min`/`max`, submodule data. There are no
# `merge` functions: clanc's module system (in Rust) merges definitions and reads the markers
# written by mkIf, mkMerge, mkOverride, mkOrder, mkOption and the option-renaming modules.
{
  evalModules ? (_: throw "lib.evalModules: only clanc's module system provides this"),
}:
let
  b = builtins;

  # ---------------------------------------------------------------- trivial
  id = x: x;
  const = x: _: x;
  flip =
    f: a: c:
    f c a;
  pipe = value: functions: b.foldl' (acc: f: f acc) value functions;
  concat = x: y: x ++ y;
  or' = x: y: x || y;
  and' = x: y: x && y;
  xor = x: y: (!x) != (!y);
  boolToString = v: if v then "true" else "false";
  mergeAttrs = x: y: x // y;
  min = x: y: if x < y then x else y;
  max = x: y: if x > y then x else y;
  mod = base: int: base - (int * (b.div base int));
  compare =
    a: c:
    if a < c then
      -1
    else if a > c then
      1
    else
      0;
  isFunction = f: b.isFunction f || (f ? __functor && isFunction (f.__functor f));
  mapNullable = f: a: if a == null then a else f a;
  warn = msg: b.trace "warning: ${msg}";
  warnIf = cond: msg: if cond then warn msg else id;
  warnIfNot = cond: msg: if cond then id else warn msg;
  traceIf =
    pred: msg: x:
    if pred then b.trace msg x else x;
  traceVal = x: b.trace x x;
  traceSeq = x: y: b.trace (b.deepSeq x x) y;
  throwIf = cond: msg: if cond then throw msg else id;
  throwIfNot = cond: msg: if cond then id else throw msg;
  assertMsg = pred: msg: pred || throw msg;
  assertOneOf =
    name: val: xs:
    assertMsg (b.elem val xs) "${name} must be one of ${b.toJSON xs}, but is: ${b.toJSON val}";
  importJSON = path: b.fromJSON (b.readFile path);
  importTOML = path: b.fromTOML (b.readFile path);
  fix =
    f:
    let
      x = f x;
    in
    x;
  extends =
    overlay: f: final:
    let
      prev = f final;
    in
    prev // overlay final prev;
  composeExtensions =
    f: g: final: prev:
    let
      fApplied = f final prev;
      prev' = prev // fApplied;
    in
    fApplied // g final prev';
  makeExtensible =
    rattrs:
    fix (
      extends (final: _: {
        extend = f: makeExtensible (extends f rattrs);
      }) rattrs
    );
  functionArgs =
    f: if f ? __functor then f.__functionArgs or (functionArgs (f.__functor f)) else b.functionArgs f;
  setFunctionArgs = f: args: {
    __functor = _: f;
    __functionArgs = args;
  };
  version = "25.05pre-clanc";
  release = "25.05";
  oldestSupportedRelease = 2405;
  isInOldestRelease = r: r <= oldestSupportedRelease;
  inNixShell = false;

  # ---------------------------------------------------------------- lists
  last =
    list:
    assert assertMsg (list != [ ]) "lists.last: list must not be empty!";
    b.elemAt list (b.length list - 1);
  init =
    list:
    assert assertMsg (list != [ ]) "lists.init: list must not be empty!";
    take (b.length list - 1) list;
  sublist =
    start: count: list:
    let
      len = b.length list;
      n =
        if start >= len then
          0
        else if start + count > len then
          len - start
        else
          count;
    in
    b.genList (i: b.elemAt list (i + start)) n;
  take = count: sublist 0 count;
  drop = count: list: sublist count (b.length list) list;
  takeEnd = n: xs: drop (max 0 (b.length xs - n)) xs;
  dropEnd = n: xs: take (max 0 (b.length xs - n)) xs;
  reverseList =
    xs:
    let
      l = b.length xs;
    in
    b.genList (n: b.elemAt xs (l - n - 1)) l;
  foldr =
    op: nul: list:
    let
      len = b.length list;
      go = n: if n == len then nul else op (b.elemAt list n) (go (n + 1));
    in
    go 0;
  foldl =
    op: nul: list:
    let
      go = n: if n == -1 then nul else op (go (n - 1)) (b.elemAt list n);
    in
    go (b.length list - 1);
  foldl'' = op: acc: b.seq acc (b.foldl' op acc);
  range =
    first: last': if first > last' then [ ] else b.genList (n: first + n) (last' - first + 1);
  replicate = n: x: b.genList (_: x) n;
  flatten = x: if b.isList x then b.concatMap flatten x else [ x ];
  unique = b.foldl' (acc: e: if b.elem e acc then acc else acc ++ [ e ]) [ ];
  allUnique = list: b.length (unique list) == b.length list;
  count = pred: b.foldl' (c: x: if pred x then c + 1 else c) 0;
  optional = cond: elem: if cond then [ elem ] else [ ];
  optionals = cond: elems: if cond then elems else [ ];
  toList = x: if b.isList x then x else [ x ];
  imap0 = f: list: b.genList (n: f n (b.elemAt list n)) (b.length list);
  imap1 = f: list: b.genList (n: f (n + 1) (b.elemAt list n)) (b.length list);
  ifilter0 =
    ipred: input:
    map (i: b.elemAt input i) (
      b.filter (i: ipred i (b.elemAt input i)) (b.genList (i: i) (b.length input))
    );
  findFirstIndex =
    pred: default: list:
    let
      len = b.length list;
      go =
        i:
        if i == len then
          default
        else if pred (b.elemAt list i) then
          i
        else
          go (i + 1);
    in
    go 0;
  findFirst =
    pred: default: list:
    let
      i = findFirstIndex pred null list;
    in
    if i == null then default else b.elemAt list i;
  findSingle =
    pred: default: multiple: list:
    let
      found = b.filter pred list;
      n = b.length found;
    in
    if n == 0 then
      default
    else if n != 1 then
      multiple
    else
      b.head found;
  zipListsWith =
    f: fst: snd:
    b.genList (n: f (b.elemAt fst n) (b.elemAt snd n)) (min (b.length fst) (b.length snd));
  zipLists = zipListsWith (fst: snd: { inherit fst snd; });
  forEach = xs: f: map f xs;
  remove = e: b.filter (x: x != e);
  subtractLists = e: b.filter (x: !(b.elem x e));
  intersectLists = e: b.filter (x: b.elem x e);
  mutuallyExclusive = a: c: a == [ ] || !(b.any (x: b.elem x a) c);
  groupBy' =
    op: nul: pred: lst:
    b.mapAttrs (_: b.foldl' op nul) (b.groupBy pred lst);
  sortOn =
    f: list:
    map (p: p.v) (
      b.sort (p: q: p.k < q.k) (
        map (v: {
          inherit v;
          k = f v;
        }) list
      )
    );
  crossLists = f: foldl (fs: args: b.concatMap (f': map f' args) fs) [ f ];
  lists = {
    inherit
      last
      init
      sublist
      take
      drop
      takeEnd
      dropEnd
      reverseList
      foldr
      foldl
      range
      replicate
      flatten
      unique
      allUnique
      count
      optional
      optionals
      toList
      imap0
      imap1
      ifilter0
      findFirstIndex
      findFirst
      findSingle
      zipListsWith
      zipLists
      forEach
      remove
      subtractLists
      intersectLists
      mutuallyExclusive
      groupBy'
      sortOn
      crossLists
      ;
    inherit (b)
      head
      tail
      length
      elem
      elemAt
      filter
      map
      genList
      sort
      any
      all
      concatLists
      concatMap
      partition
      groupBy
      ;
    fold = foldr;
    foldl' = foldl'';
    imap = imap1;
  };

  # ---------------------------------------------------------------- strings
  stringToCharacters = s: b.genList (p: b.substring p 1 s) (b.stringLength s);
  stringAsChars = f: s: b.concatStringsSep "" (map f (stringToCharacters s));
  concatStrings = b.concatStringsSep "";
  concatMapStrings = f: list: concatStrings (map f list);
  concatImapStrings = f: list: concatStrings (imap1 f list);
  concatMapStringsSep =
    sep: f: list:
    b.concatStringsSep sep (map f list);
  concatImapStringsSep =
    sep: f: list:
    b.concatStringsSep sep (imap1 f list);
  concatLines = list: concatStrings (map (s: s + "\n") list);
  intersperse =
    separator: list:
    if list == [ ] || b.length list == 1 then
      list
    else
      b.tail (
        b.concatMap (x: [
          separator
          x
        ]) list
      );
  escape = list: b.replaceStrings list (map (c: "\\${c}") list);
  escapeRegex = escape (stringToCharacters "\\[{()^$?*+|.");
  escapeNixString = s: escape [ "$" ] (b.toJSON s);
  escapeNixIdentifier =
    s: if b.match "[a-zA-Z_][a-zA-Z0-9_'-]*" s != null then s else escapeNixString s;
  escapeShellArg =
    arg:
    let
      s = toString arg;
    in
    if b.match "[[:alnum:],._+:@%/-]+" s == null then
      "'${b.replaceStrings [ "'" ] [ "'\\''" ] s}'"
    else
      s;
  escapeShellArgs = concatMapStringsSep " " escapeShellArg;
  hasPrefix = pref: str: b.substring 0 (b.stringLength pref) str == pref;
  hasSuffix =
    suffix: content:
    let
      lc = b.stringLength content;
      ls = b.stringLength suffix;
    in
    lc >= ls && b.substring (lc - ls) lc content == suffix;
  hasInfix =
    infix: content:
    let
      s = toString content;
      li = b.stringLength infix;
      n = b.stringLength s - li + 1;
    in
    n > 0 && b.any (i: b.substring i li s == infix) (b.genList id n);
  removePrefix =
    prefix: str:
    let
      lp = b.stringLength prefix;
    in
    if hasPrefix prefix str then b.substring lp (b.stringLength str - lp) str else str;
  removeSuffix =
    suffix: str:
    let
      ls = b.stringLength suffix;
      lstr = b.stringLength str;
    in
    if hasSuffix suffix str then b.substring 0 (lstr - ls) str else str;
  splitString =
    sep: s: b.filter b.isString (b.split (escapeRegex (toString sep)) (toString s));
  lowerChars = stringToCharacters "abcdefghijklmnopqrstuvwxyz";
  upperChars = stringToCharacters "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
  toLower = b.replaceStrings upperChars lowerChars;
  toUpper = b.replaceStrings lowerChars upperChars;
  trimWith =
    {
      start ? false,
      end ? false,
    }:
    s:
    let
      ws = "[ \t\r\n]*";
      body = "(.*[^ \t\r\n])";
      regex =
        if start && end then
          "${ws}${body}${ws}"
        else if start then
          "${ws}(.*)"
        else if end then
          "(.*[^ \t\r\n])${ws}"
        else
          "(.*)";
      res = b.match regex s;
    in
    if res == null then "" else b.head res;
  trim = trimWith {
    start = true;
    end = true;
  };
  toIntWith =
    allowLeadingZero: str:
    let
      m = b.match "[ \t\r\n]*(-?)0*([0-9]+)[ \t\r\n]*" str;
      digitsOnly = b.match "[ \t\r\n]*-?([0-9]+)[ \t\r\n]*" str;
      leadingZero = digitsOnly != null && b.match "0[0-9]+" (b.head digitsOnly) != null;
      parsed = b.fromJSON (b.elemAt m 1);
      value = if b.head m == "-" then 0 - parsed else parsed;
    in
    if m == null then
      throw "toInt: Could not convert ${escapeNixString str} to int."
    else if !allowLeadingZero && leadingZero then
      throw "toInt: Ambiguity in interpretation of ${escapeNixString str} between octal and zero padded integer."
    else
      value;
  toInt = toIntWith false;
  toIntBase10 = toIntWith true;
  fixedWidthString =
    width: filler: str:
    let
      strw = b.stringLength str;
    in
    assert assertMsg (strw <= width) "fixedWidthString: requested string length (${toString width}) must not be shorter than actual length (${toString strw})";
    concatStrings (replicate (width - strw) filler) + str;
  fixedWidthNumber = width: n: fixedWidthString width "0" (toString n);
  isStringLike = x: b.isString x || b.isPath x || x ? outPath || x ? __toString;
  fileContents = file: removeSuffix "\n" (b.readFile file);
  optionalString = cond: string: if cond then string else "";
  makeSearchPath =
    subDir: paths: b.concatStringsSep ":" (map (path: path + "/" + subDir) (b.filter (x: x != null) paths));
  getName =
    x: if b.isString x then (b.parseDrvName x).name else x.pname or (b.parseDrvName x.name).name;
  getVersion =
    x: if b.isString x then (b.parseDrvName x).version else x.version or (b.parseDrvName x.name).version;
  nameFromURL =
    url: sep:
    let
      components = splitString "/" url;
      filename = last components;
      name = b.head (splitString sep filename);
    in
    assert name != filename;
    name;
  strings = {
    inherit
      stringToCharacters
      stringAsChars
      concatStrings
      concatMapStrings
      concatImapStrings
      concatMapStringsSep
      concatImapStringsSep
      concatLines
      intersperse
      escape
      escapeRegex
      escapeNixString
      escapeNixIdentifier
      escapeShellArg
      escapeShellArgs
      hasPrefix
      hasSuffix
      hasInfix
      removePrefix
      removeSuffix
      splitString
      lowerChars
      upperChars
      toLower
      toUpper
      trim
      trimWith
      toInt
      toIntBase10
      fixedWidthString
      fixedWidthNumber
      isStringLike
      fileContents
      optionalString
      makeSearchPath
      versionOlder
      versionAtLeast
      getName
      getVersion
      nameFromURL
      ;
    inherit (b)
      concatStringsSep
      replaceStrings
      stringLength
      substring
      toJSON
      match
      split
      ;
    makeBinPath = makeSearchPath "bin";
  };

  # ---------------------------------------------------------------- attrsets
  nameValuePair = name: value: { inherit name value; };
  attrByPath =
    attrPath: default: set:
    let
      len = b.length attrPath;
      go =
        n: s:
        if n == len then
          s
        else
          let
            attr = b.elemAt attrPath n;
          in
          if s ? ${attr} then go (n + 1) s.${attr} else default;
    in
    go 0 set;
  hasAttrByPath =
    attrPath: e:
    let
      len = b.length attrPath;
      go =
        n: s:
        if n == len then
          true
        else
          let
            attr = b.elemAt attrPath n;
          in
          if s ? ${attr} then go (n + 1) s.${attr} else false;
    in
    go 0 e;
  setAttrByPath =
    attrPath: value:
    let
      len = b.length attrPath;
      go = n: if n == len then value else { ${b.elemAt attrPath n} = go (n + 1); };
    in
    go 0;
  getAttrFromPath =
    attrPath: set:
    attrByPath attrPath (throw "cannot find attribute `${b.concatStringsSep "." attrPath}'") set;
  attrVals = nameList: set: map (x: set.${x}) nameList;
  getAttrs = names: attrs: b.listToAttrs (map (n: nameValuePair n attrs.${n}) names);
  catAttrs = b.catAttrs;
  filterAttrs =
    pred: set: b.removeAttrs set (b.filter (name: !(pred name set.${name})) (b.attrNames set));
  filterAttrsRecursive =
    pred: set:
    b.listToAttrs (
      b.concatMap (
        name:
        let
          v = set.${name};
        in
        if pred name v then
          [ (nameValuePair name (if b.isAttrs v then filterAttrsRecursive pred v else v)) ]
        else
          [ ]
      ) (b.attrNames set)
    );
  foldlAttrs =
    f: init: set:
    b.foldl' (acc: name: f acc name set.${name}) init (b.attrNames set);
  foldAttrs =
    op: nul: list_of_attrs:
    foldr (
      n: a: b.foldl' (a': name: a' // { ${name} = op n.${name} (a.${name} or nul); }) a (b.attrNames n)
    ) { } list_of_attrs;
  collect =
    pred: attrs:
    if pred attrs then
      [ attrs ]
    else if b.isAttrs attrs then
      b.concatMap (collect pred) (b.attrValues attrs)
    else
      [ ];
  genAttrs = names: f: b.listToAttrs (map (n: nameValuePair n (f n)) names);
  mapAttrs' = f: set: b.listToAttrs (map (attr: f attr set.${attr}) (b.attrNames set));
  mapAttrsToList = f: attrs: map (name: f name attrs.${name}) (b.attrNames attrs);
  attrsToList = mapAttrsToList nameValuePair;
  mapAttrsRecursiveCond =
    cond: f: set:
    let
      go =
        path:
        b.mapAttrs (
          name: value:
          if b.isAttrs value && cond value then go (path ++ [ name ]) value else f (path ++ [ name ]) value
        );
    in
    go [ ] set;
  mapAttrsRecursive = mapAttrsRecursiveCond (_: true);
  concatMapAttrs = f: v: b.foldl' mergeAttrs { } (mapAttrsToList f v);
  mergeAttrsList = b.foldl' mergeAttrs { };
  zipAttrsWithNames =
    names: f: sets:
    b.listToAttrs (map (name: nameValuePair name (f name (b.catAttrs name sets))) names);
  zipAttrsWith = b.zipAttrsWith;
  zipAttrs = zipAttrsWith (_: values: values);
  recursiveUpdateUntil =
    pred: lhs: rhs:
    let
      go =
        path:
        zipAttrsWith (
          n: values:
          let
            here = path ++ [ n ];
          in
          if b.length values == 1 || pred here (b.elemAt values 1) (b.head values) then
            b.head values
          else
            go here values
        );
    in
    go [ ] [
      rhs
      lhs
    ];
  recursiveUpdate = recursiveUpdateUntil (_: lhs: rhs: !(b.isAttrs lhs && b.isAttrs rhs));
  optionalAttrs = cond: as: if cond then as else { };
  isDerivation = value: value.type or null == "derivation";
  unionOfDisjoint =
    x: y:
    let
      common = b.intersectAttrs x y;
    in
    if common == { } then
      x // y
    else
      throw "unionOfDisjoint: collision on ${b.toString (b.attrNames common)}";
  cartesianProduct =
    attrsOfLists:
    b.foldl' (
      listOfAttrs: attrName:
      b.concatMap (
        attrs: map (listValue: attrs // { ${attrName} = listValue; }) attrsOfLists.${attrName}
      ) listOfAttrs
    ) [ { } ] (b.attrNames attrsOfLists);
  mapCartesianProduct = f: attrsOfLists: map f (cartesianProduct attrsOfLists);
  getOutput =
    output: pkg:
    if !(pkg ? outputSpecified) || !pkg.outputSpecified then pkg.${output} or pkg.out or pkg else pkg;
  getBin = getOutput "bin";
  getLib = getOutput "lib";
  getDev = getOutput "dev";
  getMan = getOutput "man";
  attrsets = {
    inherit
      nameValuePair
      attrByPath
      hasAttrByPath
      setAttrByPath
      getAttrFromPath
      attrVals
      getAttrs
      catAttrs
      filterAttrs
      filterAttrsRecursive
      foldlAttrs
      foldAttrs
      collect
      genAttrs
      mapAttrs'
      mapAttrsToList
      attrsToList
      mapAttrsRecursiveCond
      mapAttrsRecursive
      concatMapAttrs
      mergeAttrsList
      zipAttrsWithNames
      zipAttrsWith
      zipAttrs
      recursiveUpdateUntil
      recursiveUpdate
      optionalAttrs
      isDerivation
      unionOfDisjoint
      cartesianProduct
      mapCartesianProduct
      getOutput
      getBin
      getLib
      getDev
      getMan
      ;
    inherit (b)
      attrNames
      attrValues
      getAttr
      hasAttr
      listToAttrs
      mapAttrs
      removeAttrs
      intersectAttrs
      ;
    mapAttrsFlatten = mapAttrsToList;
  };

  # ---------------------------------------------------------------- options and modules
  mkOption = attrs: attrs // { _type = "option"; };
  isOption = x: b.isAttrs x && x._type or null == "option";
  mkEnableOption =
    name:
    mkOption {
      type = types.bool;
      default = false;
      example = true;
      description = "Whether to enable ${name}.";
    };
  mkPackageOption =
    pkgs: name:
    {
      nullable ? false,
      default ? name,
      example ? null,
      extraDescription ? "",
      pkgsText ? "pkgs",
    }:
    let
      shortName = if b.isList name then last name else name;
      defaultPath = if b.isList default then default else [ default ];
      defaultText = b.concatStringsSep "." defaultPath;
      defaults =
        if default != null then
          {
            default = attrByPath defaultPath (throw "${defaultText} cannot be found in ${pkgsText}") pkgs;
            defaultText = literalExpression "${pkgsText}.${defaultText}";
          }
        else
          optionalAttrs nullable { default = null; };
    in
    mkOption (
      defaults
      // {
        description =
          "The ${shortName} package to use." + (if extraDescription == "" then "" else " ") + extraDescription;
        type = if nullable then types.nullOr types.package else types.package;
      }
      // optionalAttrs (example != null) {
        example = literalExpression (
          if b.isList example then "${pkgsText}.${b.concatStringsSep "." example}" else example
        );
      }
    );
  mkSinkUndeclaredOptions =
    attrs:
    mkOption (
      {
        internal = true;
        visible = false;
        default = false;
        description = "Sink for option definitions.";
        type = types.anything;
      }
      // attrs
    );
  literalExpression =
    text:
    if !b.isString text then
      throw "literalExpression expects a string."
    else
      {
        _type = "literalExpression";
        inherit text;
      };
  literalMD =
    text:
    if !b.isString text then
      throw "literalMD expects a string."
    else
      {
        _type = "literalMD";
        inherit text;
      };
  showOption =
    parts:
    let
      special = [
        "<name>"
        "*"
        "<function body>"
      ];
      part = p: if b.elem p special then p else escapeNixIdentifier p;
    in
    b.concatStringsSep "." (map part parts);
  showFiles = files: b.concatStringsSep " and " (map (f: "`${toString f}'") files);
  getValues = map (x: x.value);
  getFiles = map (x: x.file);
  mergeOneOption =
    loc: defs:
    if defs == [ ] then
      throw "The option `${showOption loc}' is used but not defined."
    else if b.length defs != 1 then
      throw "The option `${showOption loc}' is defined multiple times."
    else
      (b.head defs).value;
  mergeEqualOption =
    loc: defs:
    if defs == [ ] then
      throw "The option `${showOption loc}' is used but not defined."
    else
      (b.foldl' (
        first: def:
        if def.value != first.value then
          throw "The option `${showOption loc}' has conflicting definition values."
        else
          first
      ) (b.head defs) (b.tail defs)).value;
  mergeDefaultOption =
    loc: defs:
    let
      vals = getValues defs;
    in
    if b.length vals == 1 then
      b.head vals
    else if b.all b.isFunction vals then
      x: mergeDefaultOption loc (map (f: f x) vals)
    else if b.all b.isList vals then
      b.concatLists vals
    else if b.all b.isAttrs vals then
      b.foldl' mergeAttrs { } vals
    else if b.all b.isBool vals then
      b.foldl' or' false vals
    else if b.all b.isString vals then
      concatStrings vals
    else if b.all b.isInt vals && b.all (x: x == b.head vals) vals then
      b.head vals
    else
      throw "Cannot merge definitions of `${showOption loc}'.";
  options = {
    inherit
      mkOption
      isOption
      mkEnableOption
      mkPackageOption
      mkSinkUndeclaredOptions
      literalExpression
      literalMD
      showOption
      showFiles
      getValues
      getFiles
      mergeOneOption
      mergeEqualOption
      mergeDefaultOption
      ;
    mkPackageOptionMD = mkPackageOption;
    literalExample = literalExpression;
    mdDoc = id;
  };

  mkIf = condition: content: {
    _type = "if";
    inherit condition content;
  };
  mkMerge = contents: {
    _type = "merge";
    inherit contents;
  };
  mkOverride = priority: content: {
    _type = "override";
    inherit priority content;
  };
  mkOptionDefault = mkOverride 1500;
  mkDefault = mkOverride 1000;
  mkImageMediaOverride = mkOverride 60;
  mkForce = mkOverride 50;
  mkVMOverride = mkOverride 10;
  mkOrder = priority: content: {
    _type = "order";
    inherit priority content;
  };
  mkBefore = mkOrder 500;
  mkAfter = mkOrder 1500;
  defaultOverridePriority = 100;
  defaultOrderPriority = 1000;
  mkFixStrictness = id;
  # These read an option as the module system gives it (`isDefined`, `definitions`,
  # `highestPrio`, `value`).
  mkAliasIfDef = option: mkIf (isOption option && option.isDefined);
  mkAliasAndWrapDefinitions = wrap: option: mkAliasIfDef option (wrap (mkMerge option.definitions));
  mkAliasDefinitions = mkAliasAndWrapDefinitions id;
  mkDerivedConfig = opt: f: mkOverride (opt.highestPrio or defaultOverridePriority) (f opt.value);
  mkRemovedOptionModule = optionName: replacementInstructions: {
    options = setAttrByPath optionName (mkOption {
      visible = false;
      _clancRemoved = replacementInstructions;
    });
  };
  mkRenamedOptionModule = from: to: {
    options = setAttrByPath from (mkOption {
      visible = false;
      _clancRenamedTo = to;
    });
  };
  mkRenamedOptionModuleWith =
    { from, to, ... }:
    mkRenamedOptionModule from to;
  mkAliasOptionModule = from: to: {
    options = setAttrByPath from (mkOption {
      visible = false;
      _clancAliasOf = to;
    });
  };
  mkAliasOptionModuleMD = mkAliasOptionModule;
  # nixpkgs' general form of the two above: the definitions of `from` go to `to` either way
  # (`warn`, `use`, `visible` only change messages; `withPriority` how they are wrapped).
  doRename = { from, to, ... }: mkRenamedOptionModule from to;
  importApply = modulePath: staticArg: {
    _file = modulePath;
    imports = [ (import modulePath staticArg) ];
  };
  setDefaultModuleLocation = file: m: {
    _file = file;
    imports = [ m ];
  };
  modules = {
    inherit
      mkIf
      mkMerge
      mkOverride
      mkOptionDefault
      mkDefault
      mkImageMediaOverride
      mkForce
      mkVMOverride
      mkOrder
      mkBefore
      mkAfter
      defaultOverridePriority
      defaultOrderPriority
      mkFixStrictness
      mkAliasIfDef
      mkAliasAndWrapDefinitions
      mkAliasDefinitions
      mkDerivedConfig
      mkRemovedOptionModule
      mkRenamedOptionModule
      mkRenamedOptionModuleWith
      mkAliasOptionModule
      mkAliasOptionModuleMD
      doRename
      importApply
      setDefaultModuleLocation
      evalModules
      ;
    defaultPriority = defaultOverridePriority;
  };

  # ---------------------------------------------------------------- types
  isType = type: x: (x._type or "") == type;
  setType = typeName: value: value // { _type = typeName; };
  isOptionType = isType "option-type";
  # The data of a type (see the header); `extra` adds payload, bounds, nested types...
  mkOptionType =
    {
      name,
      description ? null,
      descriptionClass ? null,
      check ? (_: true),
      nestedTypes ? { },
      deprecationMessage ? null,
      ...
    }@attrs:
    attrs
    // {
      _type = "option-type";
      inherit
        name
        descriptionClass
        check
        nestedTypes
        deprecationMessage
        ;
      description = if description == null then name else description;
    };
  optionDescriptionPhrase =
    unparenthesize: t:
    if unparenthesize (t.descriptionClass or null) then t.description else "(${t.description})";
  addCheck = elemType: check: elemType // { check = x: elemType.check x && check x; };
  # A type bounded by min/max (null: unbounded), with the range check added to `base`.
  bounded =
    base: lo: hi:
    addCheck base (x: (lo == null || x >= lo) && (hi == null || x <= hi))
    // {
      min = lo;
      max = hi;
    };
  pathCheck = x: isStringLike x && b.substring 0 1 (toString x) == "/";

  types = rec {
    inherit
      isType
      setType
      isOptionType
      mkOptionType
      optionDescriptionPhrase
      addCheck
      ;

    raw = mkOptionType {
      name = "raw";
      description = "raw value";
      descriptionClass = "noun";
    };
    anything = mkOptionType {
      name = "anything";
      description = "anything";
      descriptionClass = "noun";
    };
    unspecified = mkOptionType {
      name = "unspecified";
      description = "unspecified value";
      descriptionClass = "noun";
    };
    bool = mkOptionType {
      name = "bool";
      description = "boolean";
      descriptionClass = "noun";
      check = b.isBool;
    };
    boolByOr = bool // {
      name = "boolByOr";
      description = "boolean (merged using or)";
    };

    int =
      mkOptionType {
        name = "int";
        description = "signed integer";
        descriptionClass = "noun";
        check = b.isInt;
      }
      // {
        min = null;
        max = null;
      };
    ints =
      let
        betweenDesc = lo: hi: "${toString lo} and ${toString hi} (both inclusive)";
        between =
          lo: hi:
          assert assertMsg (lo <= hi) "ints.between: lowest must be smaller than highest";
          bounded int lo hi
          // {
            name = "intBetween";
            description = "integer between ${betweenDesc lo hi}";
          };
        sized =
          lo: hi: name: start:
          between lo hi
          // {
            inherit name;
            description = "${start}; between ${betweenDesc lo hi}";
          };
        unsign = bits: size: sized 0 (size - 1) "unsignedInt${toString bits}" "${toString bits} bit unsigned integer";
        sign =
          bits: size:
          sized (0 - size / 2) (size / 2 - 1) "signedInt${toString bits}" "${toString bits} bit signed integer";
      in
      {
        inherit between;
        unsigned = bounded int 0 null // {
          name = "unsignedInt";
          description = "unsigned integer, meaning >=0";
          descriptionClass = "nonRestrictiveClause";
        };
        positive = bounded int 1 null // {
          name = "positiveInt";
          description = "positive integer, meaning >0";
          descriptionClass = "nonRestrictiveClause";
        };
        u8 = unsign 8 256;
        u16 = unsign 16 65536;
        u32 = unsign 32 4294967296;
        s8 = sign 8 256;
        s16 = sign 16 65536;
        s32 = sign 32 4294967296;
      };
    port = ints.u16;

    float =
      mkOptionType {
        name = "float";
        description = "floating point number";
        descriptionClass = "noun";
        check = b.isFloat;
      }
      // {
        min = null;
        max = null;
      };
    number = either int float // {
      min = null;
      max = null;
    };
    numbers =
      let
        betweenDesc = lo: hi: "${b.toJSON lo} and ${b.toJSON hi} (both inclusive)";
      in
      {
        between =
          lo: hi:
          assert assertMsg (lo <= hi) "numbers.between: lowest must be smaller than highest";
          bounded number lo hi
          // {
            name = "numberBetween";
            description = "integer or floating point number between ${betweenDesc lo hi}";
          };
        nonnegative = bounded number 0 null // {
          name = "numberNonnegative";
          description = "nonnegative integer or floating point number, meaning >=0";
          descriptionClass = "nonRestrictiveClause";
        };
        # `> 0` has no inclusive lower bound: min stays null, `check` tests it.
        positive = addCheck number (x: x > 0) // {
          name = "numberPositive";
          description = "positive integer or floating point number, meaning >0";
          descriptionClass = "nonRestrictiveClause";
          min = null;
          max = null;
        };
      };

    str = mkOptionType {
      name = "str";
      description = "string";
      descriptionClass = "noun";
      check = b.isString;
    };
    nonEmptyStr = mkOptionType {
      name = "nonEmptyStr";
      description = "non-empty string";
      descriptionClass = "noun";
      check = x: str.check x && b.match "[ \t\n]*" x == null;
    };
    singleLineStr = mkOptionType {
      name = "singleLineStr";
      description = "(optionally newline-terminated) single-line string";
      descriptionClass = "noun";
      inherit (strMatching "[^\n\r]*\n?") check payload;
    };
    strMatching =
      pattern:
      mkOptionType {
        name = "strMatching ${escapeNixString pattern}";
        description = "string matching the pattern ${pattern}";
        descriptionClass = "noun";
        check = x: str.check x && b.match pattern x != null;
        payload = pattern;
      };
    separatedString =
      sep:
      mkOptionType {
        name = "separatedString";
        description =
          if sep == "" then "Concatenated string" else "strings concatenated with ${b.toJSON sep}";
        descriptionClass = "noun";
        check = b.isString;
        payload = sep;
      };
    lines = separatedString "\n";
    commas = separatedString ",";
    envVar = separatedString ":";
    string = warn "The type `types.string` is deprecated. See https://github.com/NixOS/nixpkgs/pull/66346 for better alternative types." (
      separatedString "" // { name = "string"; }
    );
    passwdEntry =
      entryType:
      addCheck entryType (s: !(hasInfix ":" s || hasInfix "\n" s))
      // {
        name = "passwdEntry ${entryType.name}";
        description = "${optionDescriptionPhrase (c: c == "noun") entryType}, not containing newlines or colons";
        descriptionClass = "nonRestrictiveClause";
      };

    attrs = mkOptionType {
      name = "attrs";
      description = "attribute set";
      check = b.isAttrs;
    };
    package = mkOptionType {
      name = "package";
      descriptionClass = "noun";
      check = x: isDerivation x || isStorePath x;
    };
    shellPackage = package // {
      check = x: isDerivation x && x ? shellPath;
    };
    pkgs =
      addCheck
        (
          unique { message = "A Nixpkgs pkgs set can not be merged with another pkgs set."; } attrs
          // {
            name = "pkgs";
            descriptionClass = "noun";
            description = "Nixpkgs package set";
          }
        )
        (x: (x._type or null) == "pkgs");
    pathWith =
      {
        inStore ? null,
        absolute ? null,
      }:
      throwIf (inStore != null && absolute != null && inStore && !absolute)
        "In pathWith, inStore means the path must be absolute"
        (mkOptionType {
          name = "path";
          description =
            (
              if absolute == null then
                ""
              else if absolute then
                "absolute "
              else
                "relative "
            )
            + "path"
            + (
              if inStore == null then
                ""
              else if inStore then
                " in the Nix store"
              else
                " not in the Nix store"
            );
          descriptionClass = "noun";
          check =
            x:
            let
              s = toString x;
              inStore' = hasPrefix "${b.storeDir}/" s && b.stringLength s > b.stringLength b.storeDir + 1;
              absolute' = b.substring 0 1 s == "/";
            in
            (if inStore == null || inStore then isStringLike x else b.isString x)
            && (inStore == null || inStore == inStore')
            && (absolute == null || absolute == absolute');
          payload = { inherit inStore absolute; };
        });
    path = pathWith { absolute = true; };
    pathInStore = pathWith { inStore = true; };

    listOf =
      elemType:
      mkOptionType {
        name = "listOf";
        description = "list of ${optionDescriptionPhrase (c: c == "noun" || c == "composite") elemType}";
        descriptionClass = "composite";
        check = b.isList;
        nestedTypes.elemType = elemType;
      };
    nonEmptyListOf =
      elemType:
      let
        list = addCheck (listOf elemType) (l: l != [ ]);
      in
      list // { description = "non-empty ${optionDescriptionPhrase (c: c == "noun") list}"; };
    attrsWith =
      {
        elemType,
        lazy ? false,
        placeholder ? "name",
      }:
      mkOptionType {
        name = if lazy then "lazyAttrsOf" else "attrsOf";
        description =
          (if lazy then "lazy attribute set" else "attribute set")
          + " of ${optionDescriptionPhrase (c: c == "noun" || c == "composite") elemType}";
        descriptionClass = "composite";
        check = b.isAttrs;
        nestedTypes.elemType = elemType;
        inherit lazy placeholder;
      };
    attrsOf = elemType: attrsWith { inherit elemType; };
    lazyAttrsOf =
      elemType:
      attrsWith {
        inherit elemType;
        lazy = true;
      };
    loaOf = elemType: attrsOf elemType // { name = "loaOf"; };
    unique =
      { message }:
      type:
      mkOptionType {
        name = "unique";
        inherit (type) description descriptionClass check;
        nestedTypes.elemType = type;
        inherit message;
      };
    uniq = unique { message = ""; };
    nullOr =
      elemType:
      mkOptionType {
        name = "nullOr";
        description = "null or ${optionDescriptionPhrase (c: c == "noun" || c == "conjunction") elemType}";
        descriptionClass = "conjunction";
        check = x: x == null || elemType.check x;
        nestedTypes.elemType = elemType;
      };
    functionTo =
      elemType:
      mkOptionType {
        name = "functionTo";
        description = "function that evaluates to a(n) ${
          optionDescriptionPhrase (c: c == "noun" || c == "composite") elemType
        }";
        descriptionClass = "composite";
        check = isFunction;
        nestedTypes.elemType = elemType;
      };
    submoduleWith =
      {
        modules,
        specialArgs ? { },
        shorthandOnlyDefinesConfig ? false,
        description ? null,
        class ? null,
      }:
      mkOptionType {
        name = "submodule";
        description = if description == null then "submodule" else description;
        check = x: b.isAttrs x || isFunction x || pathCheck x;
        inherit
          modules
          specialArgs
          shorthandOnlyDefinesConfig
          class
          ;
      };
    submodule =
      modules:
      submoduleWith {
        shorthandOnlyDefinesConfig = true;
        modules = toList modules;
      };
    deferredModuleWith =
      {
        staticModules ? [ ],
      }:
      mkOptionType {
        name = "deferredModule";
        description = "module";
        descriptionClass = "noun";
        check = x: b.isAttrs x || isFunction x || pathCheck x;
        inherit staticModules;
      };
    deferredModule = deferredModuleWith { };
    optionType = mkOptionType {
      name = "optionType";
      description = "optionType";
      descriptionClass = "noun";
      check = x: x._type or null == "option-type";
    };
    enum =
      values:
      let
        show =
          v:
          if b.isString v then
            ''"${v}"''
          else if b.isInt v then
            toString v
          else if b.isBool v then
            boolToString v
          else
            "<${b.typeOf v}>";
      in
      mkOptionType {
        name = "enum";
        description =
          if values == [ ] then
            "impossible (empty enum)"
          else if b.length values == 1 then
            "value ${show (b.head values)} (singular enum)"
          else
            "one of ${concatMapStringsSep ", " show values}";
        descriptionClass = if b.length values < 2 then "noun" else "conjunction";
        check = x: b.elem x values;
        payload = values;
      };
    either =
      t1: t2:
      mkOptionType {
        name = "either";
        description =
          if t1.descriptionClass or null == "nonRestrictiveClause" then
            "${t1.description}, or ${optionDescriptionPhrase (c: c == "noun" || c == "conjunction") t2}"
          else
            "${optionDescriptionPhrase (c: c == "noun" || c == "conjunction") t1} or ${
              optionDescriptionPhrase (c: c == "noun" || c == "conjunction" || c == "composite") t2
            }";
        descriptionClass = "conjunction";
        check = x: t1.check x || t2.check x;
        nestedTypes = {
          left = t1;
          right = t2;
        };
      };
    # As nixpkgs: a left fold, `oneOf [ a b c ]` is `either (either a b) c`.
    oneOf =
      ts:
      if ts == [ ] then
        throw "types.oneOf needs to get at least one type in its argument"
      else
        b.foldl' either (b.head ts) (b.tail ts);
    coercedTo =
      coercedType: coerceFunc: finalType:
      mkOptionType {
        name = "coercedTo";
        description = "${optionDescriptionPhrase (c: c == "noun") finalType} or ${
          optionDescriptionPhrase (c: c == "noun") coercedType
        } convertible to it";
        check = x: (coercedType.check x && finalType.check (coerceFunc x)) || finalType.check x;
        nestedTypes = {
          inherit coercedType finalType;
        };
        coerce = coerceFunc;
      };
  };

  isStorePath =
    x:
    if isStringLike x then
      let
        s = toString x;
      in
      b.substring 0 1 s == "/" && dirOf s == b.storeDir
    else
      false;

  # ---------------------------------------------------------------- generators and the rest
  generators = rec {
    toJSON = { }: b.toJSON;
    toYAML = { }: b.toJSON;
    mkValueStringDefault =
      { }:
      v:
      if b.isInt v then
        toString v
      else if b.isString v then
        v
      else if true == v then
        "true"
      else if false == v then
        "false"
      else if null == v then
        "null"
      else if b.isFloat v then
        b.toJSON v
      else if isStringLike v then
        toString v
      else
        throw "generators.mkValueStringDefault: this value can not be rendered: ${b.typeOf v}";
    mkKeyValueDefault =
      {
        mkValueString ? mkValueStringDefault { },
      }:
      sep: k: v:
      "${escape [ sep ] k}${sep}${mkValueString v}";
    toKeyValue =
      {
        mkKeyValue ? mkKeyValueDefault { } "=",
        listsAsDuplicateKeys ? false,
        indent ? "",
      }:
      attrs:
      let
        line = k: v: indent + mkKeyValue k v + "\n";
        lines = k: v: if listsAsDuplicateKeys && b.isList v then map (line k) v else [ (line k v) ];
      in
      concatStrings (b.concatLists (mapAttrsToList lines attrs));
    toINI =
      {
        mkSectionName ? (name: escape [ "[" "]" ] name),
        mkKeyValue ? mkKeyValueDefault { } "=",
        listsAsDuplicateKeys ? false,
      }:
      attrsOfAttrs:
      b.concatStringsSep "\n" (
        mapAttrsToList (
          sectName: sectValues:
          "[${mkSectionName sectName}]\n" + toKeyValue { inherit mkKeyValue listsAsDuplicateKeys; } sectValues
        ) attrsOfAttrs
      );
  };

  versions = {
    splitVersion = b.splitVersion;
    major = v: b.elemAt (b.splitVersion v) 0;
    minor = v: b.elemAt (b.splitVersion v) 1;
    patch = v: b.elemAt (b.splitVersion v) 2;
    majorMinor = v: b.concatStringsSep "." (take 2 (b.splitVersion v));
  };
  versionOlder = v1: v2: b.compareVersions v2 v1 == 1;
  versionAtLeast = v1: v2: !(versionOlder v1 v2);

  listFilesRecursive =
    dir:
    b.concatLists (
      mapAttrsToList (
        name: type:
        if type == "directory" then listFilesRecursive (dir + "/${name}") else [ (dir + "/${name}") ]
      ) (b.readDir dir)
    );
  filesystem = {
    inherit listFilesRecursive;
  };

  getExe =
    x:
    getExe' x (
      x.meta.mainProgram or (
        warn "getExe: Package ${x.name or "«name-missing»"} does not have the meta.mainProgram attribute." (
          getName x
        )
      )
    );
  getExe' = x: y: "${getBin x}/bin/${y}";
  meta = {
    inherit getExe getExe';
  };

  trivial = {
    inherit
      id
      const
      flip
      pipe
      concat
      xor
      boolToString
      mergeAttrs
      min
      max
      mod
      compare
      isFunction
      mapNullable
      warn
      warnIf
      warnIfNot
      traceIf
      traceVal
      traceSeq
      throwIf
      throwIfNot
      importJSON
      importTOML
      functionArgs
      setFunctionArgs
      version
      release
      oldestSupportedRelease
      isInOldestRelease
      inNixShell
      ;
    inherit (b)
      seq
      deepSeq
      toString
      bitAnd
      bitOr
      bitXor
      ;
    "or" = or';
    "and" = and';
    isFloat = b.isFloat;
  };
  fixedPoints = {
    inherit
      fix
      extends
      composeExtensions
      makeExtensible
      ;
  };
  asserts = {
    inherit assertMsg assertOneOf;
  };

  lib =
    attrsets
    // lists
    // strings
    // trivial
    // options
    // modules
    // fixedPoints
    // asserts
    // meta
    // {
      inherit
        attrsets
        lists
        strings
        trivial
        options
        modules
        types
        generators
        versions
        filesystem
        fixedPoints
        asserts
        meta
        ;
      inherit
        mkOptionType
        isType
        setType
        isOptionType
        isStorePath
        versionOlder
        versionAtLeast
        evalModules
        ;
      foldl' = foldl'';
      inherit (b)
        isString
        isInt
        isBool
        isList
        isAttrs
        isPath
        isFloat
        typeOf
        toString
        seq
        deepSeq
        add
        addErrorContext
        genericClosure
        lessThan
        pathExists
        readFile
        sub
        trace
        ;
      inherit (strings) makeBinPath;
      inherit (versions) splitVersion;
      extend = f: fix (extends f (_: lib));
    };
in
lib
