# lib.options and lib.modules: the data shapes clanc's module system reads.
let
  lib = import ../../src/modules/known/lib.nix { };
  inherit (lib) options modules;
  # An option's data without its type (types hold functions, which JSON cannot print).
  plain = opt: removeAttrs opt [ "type" ];
  typeName = opt: opt.type.name;
  pkgs = {
    hello = {
      name = "hello-2.12";
      type = "derivation";
    };
    python3Packages.requests = {
      name = "requests";
      type = "derivation";
    };
  };
in
with lib;
[
  {
    name = "mkOption";
    got = mkOption {
      default = 1;
      description = "x";
    };
    expected = {
      _type = "option";
      default = 1;
      description = "x";
    };
  }
  {
    name = "options.mkOption with a type";
    got = [
      (typeName (options.mkOption { type = types.str; }))
      (isOption (mkOption { }))
      (isOption { })
    ];
    expected = [
      "str"
      true
      false
    ];
  }
  {
    name = "mkEnableOption";
    got = plain (mkEnableOption "the thing") // {
      type = (mkEnableOption "x").type.name;
    };
    expected = {
      _type = "option";
      default = false;
      example = true;
      description = "Whether to enable the thing.";
      type = "bool";
    };
  }
  {
    name = "mkPackageOption";
    got = plain (mkPackageOption pkgs "hello" { }) // {
      type = (mkPackageOption pkgs "hello" { }).type.description;
    };
    expected = {
      _type = "option";
      default = pkgs.hello;
      defaultText = {
        _type = "literalExpression";
        text = "pkgs.hello";
      };
      description = "The hello package to use.";
      type = "package";
    };
  }
  {
    name = "mkPackageOption with a default path, nullable, example";
    got = plain (
      mkPackageOption pkgs "requests" {
        default = [
          "python3Packages"
          "requests"
        ];
        nullable = true;
        example = "pkgs.python3Packages.requests.override { }";
        extraDescription = "More.";
      }
    )
    // {
      type = (mkPackageOption pkgs "r" { nullable = true; }).type.description;
    };
    expected = {
      _type = "option";
      default = pkgs.python3Packages.requests;
      defaultText = {
        _type = "literalExpression";
        text = "pkgs.python3Packages.requests";
      };
      description = "The requests package to use. More.";
      example = {
        _type = "literalExpression";
        text = "pkgs.python3Packages.requests.override { }";
      };
      type = "null or package";
    };
  }
  {
    name = "mkPackageOption default = null";
    got = plain (mkPackageOption pkgs "hello" { default = null; });
    expected = {
      _type = "option";
      description = "The hello package to use.";
    };
  }
  {
    name = "mkPackageOption does not look into pkgs until the default is used";
    got = (mkPackageOption (throw "pkgs is unknown") "hello" { }).description;
    expected = "The hello package to use.";
  }
  {
    name = "mkIf";
    got = mkIf true { a = 1; };
    expected = {
      _type = "if";
      condition = true;
      content = {
        a = 1;
      };
    };
  }
  {
    name = "mkIf does not force its condition";
    got =
      let
        m = mkIf (throw "the condition was forced") { a = 1; };
      in
      [
        m._type
        m.content
        (builtins.attrNames m)
      ];
    expected = [
      "if"
      { a = 1; }
      [
        "_type"
        "condition"
        "content"
      ]
    ];
  }
  {
    name = "mkMerge";
    got = mkMerge [
      { a = 1; }
      (mkIf false { b = 2; })
    ];
    expected = {
      _type = "merge";
      contents = [
        { a = 1; }
        {
          _type = "if";
          condition = false;
          content = {
            b = 2;
          };
        }
      ];
    };
  }
  {
    name = "mkOverride and its priorities";
    got = map (f: f "v") [
      (mkOverride 900)
      mkOptionDefault
      mkDefault
      mkImageMediaOverride
      mkForce
      mkVMOverride
    ];
    expected =
      map
        (p: {
          _type = "override";
          priority = p;
          content = "v";
        })
        [
          900
          1500
          1000
          60
          50
          10
        ];
  }
  {
    name = "mkOrder mkBefore mkAfter";
    got = map (f: f [ 1 ]) [
      (mkOrder 42)
      mkBefore
      mkAfter
    ];
    expected =
      map
        (p: {
          _type = "order";
          priority = p;
          content = [ 1 ];
        })
        [
          42
          500
          1500
        ];
  }
  {
    name = "modules namespace";
    got = [
      (modules.mkForce 1).priority
      (modules.mkDefault 1).priority
      (modules.mkIf true 1)._type
      (modules.mkMerge [ ])._type
      (modules.mkAfter 1).priority
    ];
    expected = [
      50
      1000
      "if"
      "merge"
      1500
    ];
  }
  {
    name = "mkRemovedOptionModule";
    got = mkRemovedOptionModule [ "services" "foo" "bar" ] "Use baz instead.";
    expected = {
      options.services.foo.bar = {
        _type = "option";
        visible = false;
        _clancRemoved = "Use baz instead.";
      };
    };
  }
  {
    name = "mkRenamedOptionModule";
    got = mkRenamedOptionModule [ "a" "old" ] [ "a" "new" ];
    expected = {
      options.a.old = {
        _type = "option";
        visible = false;
        _clancRenamedTo = [
          "a"
          "new"
        ];
      };
    };
  }
  {
    name = "mkAliasOptionModule";
    got = modules.mkAliasOptionModule [ "x" ] [ "y" "z" ];
    expected = {
      options.x = {
        _type = "option";
        visible = false;
        _clancAliasOf = [
          "y"
          "z"
        ];
      };
    };
  }
  {
    name = "importApply";
    got =
      let
        m = modules.importApply ./data/apply.nix { greeting = "hi"; };
      in
      {
        file = toString m._file == toString ./data/apply.nix;
        imports = map (i: i { config = { }; }) m.imports;
      };
    expected = {
      file = true;
      imports = [ { config.message = "hi"; } ];
    };
  }
  {
    name = "literalExpression literalMD mdDoc";
    got = [
      (literalExpression "pkgs.hello")
      (literalMD "*x*")
      (mdDoc "doc")
      (options.literalExpression "a")
    ];
    expected = [
      {
        _type = "literalExpression";
        text = "pkgs.hello";
      }
      {
        _type = "literalMD";
        text = "*x*";
      }
      "doc"
      {
        _type = "literalExpression";
        text = "a";
      }
    ];
  }
  {
    name = "showOption";
    got = [
      (showOption [
        "foo"
        "bar"
        "baz"
      ])
      (showOption [
        "foo"
        "bar.baz"
        "tux"
      ])
      (showOption [
        "windowManager"
        "2bwm"
        "enable"
      ])
      (showOption [
        "services"
        "<name>"
        "*"
        "<function body>"
      ])
    ];
    expected = [
      "foo.bar.baz"
      "foo.\"bar.baz\".tux"
      "windowManager.\"2bwm\".enable"
      "services.<name>.*.<function body>"
    ];
  }
  {
    name = "mergeOneOption mergeEqualOption getValues getFiles";
    got =
      let
        defs = [
          {
            file = "a.nix";
            value = 1;
          }
          {
            file = "b.nix";
            value = 1;
          }
        ];
      in
      [
        (mergeEqualOption [ "x" ] defs)
        (builtins.tryEval (mergeOneOption [ "x" ] defs)).success
        (mergeOneOption [ "x" ] [ (builtins.head defs) ])
        (getValues defs)
        (getFiles defs)
      ];
    expected = [
      1
      false
      1
      [
        1
        1
      ]
      [
        "a.nix"
        "b.nix"
      ]
    ];
  }
  {
    name = "mkAliasDefinitions";
    got = [
      (mkAliasDefinitions (mkOption { } // { isDefined = true; definitions = [ 1 2 ]; }))
      (mkAliasDefinitions (mkOption { } // { isDefined = false; definitions = [ ]; })).condition
    ];
    expected = [
      {
        _type = "if";
        condition = true;
        content = {
          _type = "merge";
          contents = [
            1
            2
          ];
        };
      }
      false
    ];
  }
  {
    name = "mkDerivedConfig";
    got = [
      (mkDerivedConfig { highestPrio = 1000; value = 2; } (x: x * 10))
      (mkDerivedConfig { value = 2; } (x: x))
    ];
    expected = [
      {
        _type = "override";
        priority = 1000;
        content = 20;
      }
      {
        _type = "override";
        priority = 100;
        content = 2;
      }
    ];
  }
]
