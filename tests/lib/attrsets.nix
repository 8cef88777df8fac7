# lib.attrsets: each entry's `expected` is the value nixpkgs documents.
let
  lib = import ../../src/modules/known/lib.nix { };
  inherit (lib) attrsets;
in
with lib;
[
  {
    name = "genAttrs";
    got = genAttrs [ "foo" "bar" ] (name: "x_" + name);
    expected = {
      foo = "x_foo";
      bar = "x_bar";
    };
  }
  {
    name = "genAttrs empty";
    got = attrsets.genAttrs [ ] (n: n);
    expected = { };
  }
  {
    name = "mapAttrs";
    got = mapAttrs (name: value: name + "-" + value) {
      x = "foo";
      y = "bar";
    };
    expected = {
      x = "x-foo";
      y = "y-bar";
    };
  }
  {
    name = "mapAttrs'";
    got = mapAttrs' (name: value: nameValuePair ("foo_" + name) ("bar-" + value)) {
      x = "a";
      y = "b";
    };
    expected = {
      foo_x = "bar-a";
      foo_y = "bar-b";
    };
  }
  {
    name = "mapAttrsToList";
    got = attrsets.mapAttrsToList (name: value: name + value) {
      x = "a";
      y = "b";
    };
    expected = [
      "xa"
      "yb"
    ];
  }
  {
    name = "mapAttrsRecursive";
    got = mapAttrsRecursive (path: value: concatStringsSep "-" (path ++ [ value ])) {
      n = {
        a = "A";
        m = {
          b = "B";
          c = "C";
        };
      };
      d = "D";
    };
    expected = {
      n = {
        a = "n-a-A";
        m = {
          b = "n-m-b-B";
          c = "n-m-c-C";
        };
      };
      d = "d-D";
    };
  }
  {
    name = "mapAttrsRecursiveCond stops where cond is false";
    got = mapAttrsRecursiveCond (as: !(as ? stop)) (path: v: path) {
      a.b = 1;
      c = {
        stop = true;
      };
    };
    expected = {
      a.b = [
        "a"
        "b"
      ];
      c = [ "c" ];
    };
  }
  {
    name = "filterAttrs";
    got = filterAttrs (n: v: n == "foo") {
      foo = 1;
      bar = 2;
    };
    expected = {
      foo = 1;
    };
  }
  {
    name = "filterAttrs by value";
    got = attrsets.filterAttrs (n: v: v > 1) {
      a = 1;
      b = 2;
      c = 3;
    };
    expected = {
      b = 2;
      c = 3;
    };
  }
  {
    name = "filterAttrsRecursive";
    got = filterAttrsRecursive (n: v: v != null) {
      levelA = {
        example = "hi";
        levelB = {
          hello = "there";
          this-one-is-present = {
            this-is-excluded = null;
          };
        };
        this-one-is-also-excluded = null;
      };
      also-excluded = null;
    };
    expected = {
      levelA = {
        example = "hi";
        levelB = {
          hello = "there";
          this-one-is-present = { };
        };
      };
    };
  }
  {
    name = "optionalAttrs true";
    got = optionalAttrs true { my = "set"; };
    expected = {
      my = "set";
    };
  }
  {
    name = "optionalAttrs false";
    got = optionalAttrs false { my = "set"; };
    expected = { };
  }
  {
    name = "optionalAttrs false does not force the set";
    got = optionalAttrs false (throw "forced");
    expected = { };
  }
  {
    name = "recursiveUpdate";
    got =
      recursiveUpdate
        {
          boot.loader.grub.enable = true;
          boot.loader.grub.device = "/dev/hda";
        }
        {
          boot.loader.grub.device = "";
        };
    expected = {
      boot.loader.grub.enable = true;
      boot.loader.grub.device = "";
    };
  }
  {
    name = "recursiveUpdate stops at non-attrsets";
    got = recursiveUpdate {
      a = {
        x = 1;
      };
      b = 1;
      c.d = 1;
    } { a = 2; b.y = 3; c.e = 4; };
    expected = {
      a = 2;
      b.y = 3;
      c = {
        d = 1;
        e = 4;
      };
    };
  }
  {
    name = "recursiveUpdate replaces lists";
    got = recursiveUpdate { a = [ 1 ]; } { a = [ 2 ]; };
    expected = {
      a = [ 2 ];
    };
  }
  {
    name = "recursiveUpdateUntil";
    got =
      recursiveUpdateUntil (path: l: r: path == [ "foo" ])
        {
          foo.bar = 1;
          foo.baz = 2;
          bar = 3;
        }
        {
          foo.bar = 1;
          foo.quz = 2;
          baz = 4;
        };
    expected = {
      foo.bar = 1;
      foo.quz = 2;
      bar = 3;
      baz = 4;
    };
  }
  {
    name = "concatMapAttrs";
    got =
      concatMapAttrs
        (name: value: {
          ${name} = value;
          ${name + value} = value;
        })
        {
          x = "a";
          y = "b";
        };
    expected = {
      x = "a";
      xa = "a";
      y = "b";
      yb = "b";
    };
  }
  {
    name = "attrByPath found";
    got = attrByPath [ "a" "b" ] 0 { a.b = 1; };
    expected = 1;
  }
  {
    name = "attrByPath default";
    got = attrByPath [ "a" "c" ] 0 { a.b = 1; };
    expected = 0;
  }
  {
    name = "attrByPath through a non-set";
    got = attrsets.attrByPath [ "a" "b" "c" ] "d" { a.b = 1; };
    expected = "d";
  }
  {
    name = "attrByPath empty path";
    got = attrByPath [ ] 0 { a = 1; };
    expected = {
      a = 1;
    };
  }
  {
    name = "setAttrByPath";
    got = setAttrByPath [ "a" "b" ] 3;
    expected = {
      a.b = 3;
    };
  }
  {
    name = "setAttrByPath empty path";
    got = setAttrByPath [ ] 3;
    expected = 3;
  }
  {
    name = "getAttrFromPath";
    got = getAttrFromPath [ "a" "b" ] { a.b = 3; };
    expected = 3;
  }
  {
    name = "getAttrFromPath missing throws";
    got = (builtins.tryEval (getAttrFromPath [ "z" ] { a = 1; })).success;
    expected = false;
  }
  {
    name = "hasAttrByPath";
    got = [
      (hasAttrByPath [ "a" "b" ] { a.b = 1; })
      (hasAttrByPath [ "a" "c" ] { a.b = 1; })
      (hasAttrByPath [ "a" "b" "c" ] { a.b = 1; })
      (hasAttrByPath [ ] { })
    ];
    expected = [
      true
      false
      false
      true
    ];
  }
  {
    name = "listToAttrs and nameValuePair";
    got = listToAttrs [
      (nameValuePair "foo" "bar")
      (nameValuePair "foo" "ignored")
      (nameValuePair "baz" 1)
    ];
    expected = {
      foo = "bar";
      baz = 1;
    };
  }
  {
    name = "nameValuePair";
    got = nameValuePair "some" 6;
    expected = {
      name = "some";
      value = 6;
    };
  }
  {
    name = "attrNames attrValues";
    got = [
      (attrNames {
        b = 1;
        a = 2;
      })
      (attrValues {
        b = 1;
        a = 2;
      })
    ];
    expected = [
      [
        "a"
        "b"
      ]
      [
        2
        1
      ]
    ];
  }
  {
    name = "attrVals";
    got = attrVals [ "a" "b" ] {
      a = 1;
      b = 2;
      c = 3;
    };
    expected = [
      1
      2
    ];
  }
  {
    name = "zipAttrsWith";
    got = zipAttrsWith (name: values: values) [
      { a = "x"; }
      {
        a = "y";
        b = "z";
      }
    ];
    expected = {
      a = [
        "x"
        "y"
      ];
      b = [ "z" ];
    };
  }
  {
    name = "zipAttrs";
    got = zipAttrs [
      { a = "x"; }
      {
        a = "y";
        b = "z";
      }
    ];
    expected = {
      a = [
        "x"
        "y"
      ];
      b = [ "z" ];
    };
  }
  {
    name = "zipAttrsWithNames";
    got = zipAttrsWithNames [ "a" ] (name: vs: vs) [
      { a = "x"; }
      {
        a = "y";
        b = "z";
      }
    ];
    expected = {
      a = [
        "x"
        "y"
      ];
    };
  }
  {
    name = "foldlAttrs";
    got =
      foldlAttrs
        (acc: name: value: {
          sum = acc.sum + value;
          names = acc.names ++ [ name ];
        })
        {
          sum = 0;
          names = [ ];
        }
        {
          foo = 1;
          bar = 10;
        };
    expected = {
      sum = 11;
      names = [
        "bar"
        "foo"
      ];
    };
  }
  {
    name = "foldlAttrs empty";
    got = foldlAttrs (throw "function not needed") 123 { };
    expected = 123;
  }
  {
    name = "foldAttrs";
    got =
      foldAttrs (item: acc: [ item ] ++ acc) [ ] [
        { a = 2; }
        {
          a = 3;
          b = 4;
        }
      ];
    expected = {
      a = [
        2
        3
      ];
      b = [ 4 ];
    };
  }
  {
    name = "collect";
    got = collect isList {
      a = {
        b = [ "b" ];
      };
      c = [ 1 ];
    };
    expected = [
      [ "b" ]
      [ 1 ]
    ];
  }
  {
    name = "collect outPath";
    got =
      collect (x: x ? outPath) {
        a = {
          outPath = "a/";
        };
        b = {
          outPath = "b/";
        };
      };
    expected = [
      { outPath = "a/"; }
      { outPath = "b/"; }
    ];
  }
  {
    name = "mergeAttrs";
    got = mergeAttrs {
      a = 1;
      b = 2;
    } {
      b = 3;
      c = 4;
    };
    expected = {
      a = 1;
      b = 3;
      c = 4;
    };
  }
  {
    name = "getAttr hasAttr";
    got = [
      (getAttr "a" { a = 1; })
      (hasAttr "a" { a = 1; })
      (hasAttr "b" { a = 1; })
    ];
    expected = [
      1
      true
      false
    ];
  }
  {
    name = "attrsToList";
    got = attrsToList {
      foo = 1;
      bar = "asdf";
    };
    expected = [
      {
        name = "bar";
        value = "asdf";
      }
      {
        name = "foo";
        value = 1;
      }
    ];
  }
  {
    name = "cartesianProduct";
    got = cartesianProduct {
      a = [
        1
        2
      ];
      b = [
        10
        20
      ];
    };
    expected = [
      {
        a = 1;
        b = 10;
      }
      {
        a = 1;
        b = 20;
      }
      {
        a = 2;
        b = 10;
      }
      {
        a = 2;
        b = 20;
      }
    ];
  }
  {
    name = "mergeAttrsList";
    got = mergeAttrsList [
      {
        a = 0;
        b = 1;
      }
      {
        c = 2;
        d = 3;
      }
      { a = 4; }
    ];
    expected = {
      a = 4;
      b = 1;
      c = 2;
      d = 3;
    };
  }
  {
    name = "getAttrs";
    got = attrsets.getAttrs [ "a" "b" ] {
      a = 1;
      b = 2;
      c = 3;
    };
    expected = {
      a = 1;
      b = 2;
    };
  }
  {
    name = "isDerivation";
    got = [
      (isDerivation { type = "derivation"; })
      (isDerivation { })
      (isDerivation { type = "x"; })
    ];
    expected = [
      true
      false
      false
    ];
  }
  {
    name = "unionOfDisjoint";
    got = unionOfDisjoint { a = 1; } { b = 2; };
    expected = {
      a = 1;
      b = 2;
    };
  }
  {
    name = "unionOfDisjoint collision throws";
    got = (builtins.tryEval (unionOfDisjoint { a = 1; } { a = 2; })).success;
    expected = false;
  }
  {
    name = "getBin getOutput";
    got = [
      (getBin {
        bin = "B";
        out = "O";
      })
      (getBin { out = "O"; })
      (getOutput "lib" {
        outputSpecified = true;
        lib = "L";
        name = "x";
      }).name
    ];
    expected = [
      "B"
      "O"
      "x"
    ];
  }
  {
    name = "getExe";
    got = [
      (getExe {
        name = "hello-2.12";
        outPath = "/nix/store/h-hello";
        meta.mainProgram = "hi";
      })
      (getExe' {
        name = "hello-2.12";
        outPath = "/nix/store/h-hello";
      } "x")
    ];
    expected = [
      "/nix/store/h-hello/bin/hi"
      "/nix/store/h-hello/bin/x"
    ];
  }
]
