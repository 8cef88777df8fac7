# Every function clanc promises exists at the top of lib and in the namespace where nixpkgs
# places it. Each entry lists the names that are missing (expected: none).
let
  lib = import ../../src/modules/known/lib.nix { };
  missing = set: names: builtins.filter (n: !(builtins.hasAttr n set)) names;
  namespaces = {
    attrsets = [
      "genAttrs"
      "mapAttrs"
      "mapAttrs'"
      "mapAttrsToList"
      "mapAttrsRecursive"
      "mapAttrsRecursiveCond"
      "filterAttrs"
      "filterAttrsRecursive"
      "optionalAttrs"
      "recursiveUpdate"
      "recursiveUpdateUntil"
      "concatMapAttrs"
      "attrByPath"
      "setAttrByPath"
      "getAttrFromPath"
      "hasAttrByPath"
      "listToAttrs"
      "nameValuePair"
      "attrNames"
      "attrValues"
      "attrVals"
      "zipAttrsWith"
      "zipAttrs"
      "foldlAttrs"
      "collect"
      "getAttr"
      "hasAttr"
      "isDerivation"
      "attrsToList"
      "mergeAttrsList"
      "cartesianProduct"
    ];
    lists = [
      "optional"
      "optionals"
      "foldl"
      "foldl'"
      "foldr"
      "concatMap"
      "concatLists"
      "flatten"
      "unique"
      "range"
      "elem"
      "any"
      "all"
      "head"
      "tail"
      "last"
      "init"
      "take"
      "drop"
      "sublist"
      "reverseList"
      "sort"
      "length"
      "count"
      "groupBy"
      "partition"
      "findFirst"
      "findSingle"
      "imap0"
      "imap1"
      "zipLists"
      "zipListsWith"
      "genList"
      "subtractLists"
      "intersectLists"
      "filter"
      "map"
      "forEach"
      "remove"
      "ifilter0"
      "toList"
    ];
    strings = [
      "optionalString"
      "concatStringsSep"
      "concatStrings"
      "concatMapStrings"
      "concatMapStringsSep"
      "concatImapStrings"
      "hasPrefix"
      "hasSuffix"
      "hasInfix"
      "removePrefix"
      "removeSuffix"
      "splitString"
      "toLower"
      "toUpper"
      "toInt"
      "trim"
      "replaceStrings"
      "escapeShellArg"
      "escapeShellArgs"
      "stringLength"
      "substring"
      "fileContents"
      "toJSON"
      "versionAtLeast"
      "versionOlder"
      "escapeNixIdentifier"
      "concatLines"
    ];
    trivial = [
      "id"
      "const"
      "flip"
      "pipe"
      "warn"
      "throwIf"
      "throwIfNot"
      "importJSON"
      "importTOML"
      "boolToString"
      "mapNullable"
      "inNixShell"
      "mergeAttrs"
      "seq"
      "deepSeq"
      "isFunction"
      "toString"
    ];
    options = [
      "mkOption"
      "mkEnableOption"
      "mkPackageOption"
      "literalExpression"
      "literalMD"
      "mdDoc"
      "showOption"
      "isOption"
    ];
    modules = [
      "mkIf"
      "mkMerge"
      "mkDefault"
      "mkForce"
      "mkOverride"
      "mkOptionDefault"
      "mkBefore"
      "mkAfter"
      "mkOrder"
      "mkImageMediaOverride"
      "mkVMOverride"
      "mkRemovedOptionModule"
      "mkRenamedOptionModule"
      "mkAliasOptionModule"
      "importApply"
      "evalModules"
    ];
    fixedPoints = [
      "fix"
      "extends"
    ];
    asserts = [ "assertMsg" ];
    generators = [ "toJSON" ];
    types = [
      "str"
      "singleLineStr"
      "nonEmptyStr"
      "passwdEntry"
      "bool"
      "path"
      "pathInStore"
      "package"
      "raw"
      "anything"
      "unspecified"
      "attrs"
      "lines"
      "commas"
      "envVar"
      "strMatching"
      "separatedString"
      "enum"
      "listOf"
      "nonEmptyListOf"
      "attrsOf"
      "lazyAttrsOf"
      "nullOr"
      "either"
      "oneOf"
      "submodule"
      "submoduleWith"
      "deferredModule"
      "deferredModuleWith"
      "uniq"
      "unique"
      "functionTo"
      "coercedTo"
      "addCheck"
      "optionType"
      "int"
      "ints"
      "port"
      "float"
      "number"
      "numbers"
      "mkOptionType"
    ];
  };
  # Top-level names that nixpkgs does not put in one of the namespaces above (or that lib
  # re-exports from builtins).
  topOnly = [
    "isString"
    "isInt"
    "isBool"
    "isList"
    "isAttrs"
    "isPath"
    "isFloat"
    "versionAtLeast"
    "versionOlder"
    "mkOptionType"
    "isOptionType"
    "types"
    "generators"
    "modules"
  ];
  onTop = builtins.concatLists (
    builtins.attrValues (removeAttrs namespaces [
      "types"
      "generators"
    ])
  );
in
[
  {
    name = "at the top of lib";
    got = missing lib (onTop ++ topOnly);
    expected = [ ];
  }
]
++ map (ns: {
  name = "in lib.${ns}";
  got = missing lib.${ns} namespaces.${ns};
  expected = [ ];
}) (builtins.attrNames namespaces)
++ [
  {
    name = "ints";
    got = missing lib.types.ints [
      "between"
      "unsigned"
      "positive"
      "u8"
      "u16"
      "u32"
      "s8"
      "s16"
      "s32"
    ];
    expected = [ ];
  }
  {
    name = "numbers";
    got = missing lib.types.numbers [
      "between"
      "nonnegative"
      "positive"
    ];
    expected = [ ];
  }
]
