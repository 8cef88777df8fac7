# lib.trivial, lib.fixedPoints, lib.asserts and the builtins lib re-exports.
let
  lib = import ../../src/modules/known/lib.nix { };
  inherit (lib) trivial;
in
with lib;
[
  {
    name = "id const flip";
    got = [
      (id 5)
      (const 1 2)
      (flip concat [ 1 ] [ 2 ])
      (trivial.flip (a: b: a - b) 1 10)
    ];
    expected = [
      5
      1
      [
        2
        1
      ]
      9
    ];
  }
  {
    name = "pipe";
    got = [
      (pipe 2 [
        (x: x + 2)
        (x: x * 2)
      ])
      (pipe 2 [ ])
    ];
    expected = [
      8
      2
    ];
  }
  {
    name = "fix";
    got =
      (fix (self: {
        foo = "foo";
        bar = "bar";
        foobar = self.foo + self.bar;
      })).foobar;
    expected = "foobar";
  }
  {
    name = "extends";
    got =
      fix (
        extends (final: prev: { c = final.a + final.b; }) (final: {
          a = 1;
          b = final.a + 1;
        })
      );
    expected = {
      a = 1;
      b = 2;
      c = 3;
    };
  }
  {
    name = "extends sees prev";
    got =
      fix (
        extends (final: prev: { a = prev.a + 10; }) (final: {
          a = 1;
          b = final.a;
        })
      );
    expected = {
      a = 11;
      b = 11;
    };
  }
  {
    name = "makeExtensible extend";
    got =
      let
        obj = makeExtensible (final: { a = 1; b = final.a + 1; });
        obj' = obj.extend (final: prev: { a = 10; });
      in
      [
        obj.b
        obj'.b
      ];
    expected = [
      2
      11
    ];
  }
  {
    name = "importJSON";
    got = importJSON ./data/data.json;
    expected = {
      a = [
        1
        "x"
      ];
      b.c = null;
    };
  }
  {
    name = "importTOML";
    got = importTOML ./data/data.toml;
    expected = {
      a = 1;
      b.c = "x";
    };
  }
  {
    name = "warn returns its value";
    got = warn "a warning from tests/lib/trivial.nix" 3;
    expected = 3;
  }
  {
    name = "throwIf throwIfNot";
    got = [
      (throwIf false "no" 1)
      (throwIfNot true "no" 2)
      (builtins.tryEval (throwIf true "yes" 1)).success
      (builtins.tryEval (throwIfNot false "yes" 1)).success
    ];
    expected = [
      1
      2
      false
      false
    ];
  }
  {
    name = "assertMsg";
    got = [
      (assertMsg true "fine")
      (builtins.tryEval (assertMsg false "bad")).success
      (builtins.tryEval (assert assertMsg (1 == 2) "bad"; 1)).success
    ];
    expected = [
      true
      false
      false
    ];
  }
  {
    name = "isString isInt isBool isList isAttrs isFunction isPath isFloat";
    got = [
      (isString "a")
      (isString 1)
      (isInt 1)
      (isInt 1.0)
      (isBool false)
      (isList [ ])
      (isAttrs { })
      (isFunction (x: x))
      (isFunction { __functor = self: x: x; })
      (isFunction { })
      (isPath ./data)
      (isPath "/data")
      (isFloat 1.5)
    ];
    expected = [
      true
      false
      true
      false
      true
      true
      true
      true
      true
      false
      true
      false
      true
    ];
  }
  {
    name = "boolToString";
    got = [
      (boolToString true)
      (boolToString false)
    ];
    expected = [
      "true"
      "false"
    ];
  }
  {
    name = "mapNullable";
    got = [
      (mapNullable (x: x + 1) null)
      (mapNullable (x: x + 1) 22)
    ];
    expected = [
      null
      23
    ];
  }
  {
    name = "inNixShell";
    got = inNixShell;
    expected = false;
  }
  {
    name = "seq deepSeq";
    got = [
      (seq 1 2)
      (builtins.tryEval (deepSeq { a.b = throw "deep"; } 1)).success
      (seq { a = throw "shallow"; } 3)
    ];
    expected = [
      2
      false
      3
    ];
  }
  {
    name = "min max mod";
    got = [
      (min 1 2)
      (max 1 2)
      (mod 11 10)
      (mod 1 10)
    ];
    expected = [
      1
      2
      1
      1
    ];
  }
  {
    name = "or and xor";
    got = [
      (trivial."or" false true)
      (trivial."and" true false)
      (xor true false)
      (xor true true)
    ];
    expected = [
      true
      false
      true
      false
    ];
  }
  {
    name = "functionArgs setFunctionArgs";
    got = [
      (functionArgs (
        {
          a,
          b ? 1,
        }:
        a
      ))
      (functionArgs (setFunctionArgs (x: x) { c = true; }))
      ((setFunctionArgs (x: x + 1) { }) 1)
    ];
    expected = [
      {
        a = false;
        b = true;
      }
      { c = true; }
      2
    ];
  }
  {
    name = "lib.extend";
    got = (lib.extend (final: prev: { answer = 42; })).answer;
    expected = 42;
  }
  {
    name = "evalModules without clanc's module system throws";
    got = (builtins.tryEval (evalModules { modules = [ ]; })).success;
    expected = false;
  }
  {
    name = "evalModules passes the argument through";
    got = (import ../../src/modules/known/lib.nix { evalModules = a: a.modules; }).evalModules {
      modules = [ 1 ];
    };
    expected = [ 1 ];
  }
  {
    name = "modules.evalModules passes the argument through";
    got =
      (import ../../src/modules/known/lib.nix { evalModules = a: a // { seen = true; }; })
      .modules.evalModules
        { };
    expected = {
      seen = true;
    };
  }
  {
    name = "bitAnd bitOr bitXor";
    got = [
      (trivial.bitAnd 12 10)
      (trivial.bitOr 12 10)
      (trivial.bitXor 12 10)
    ];
    expected = [
      8
      14
      6
    ];
  }
  {
    name = "traceIf traceVal traceSeq return their value";
    got = [
      (traceIf false "not traced" 1)
      (traceVal 2)
      (traceSeq { a = 1; } 3)
    ];
    expected = [
      1
      2
      3
    ];
  }
]
