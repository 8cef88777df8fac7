# lib.strings: each entry's `expected` is the value nixpkgs documents.
let
  lib = import ../../src/modules/known/lib.nix { };
  inherit (lib) strings;
in
with lib;
[
  {
    name = "concatStringsSep";
    got = concatStringsSep "/" [
      "usr"
      "local"
      "bin"
    ];
    expected = "usr/local/bin";
  }
  {
    name = "concatStrings";
    got = concatStrings [
      "foo"
      "bar"
    ];
    expected = "foobar";
  }
  {
    name = "concatMapStrings";
    got = concatMapStrings (x: "a" + x) [
      "foo"
      "bar"
    ];
    expected = "afooabar";
  }
  {
    name = "concatMapStringsSep";
    got = concatMapStringsSep "-" (x: toUpper x) [
      "foo"
      "bar"
      "baz"
    ];
    expected = "FOO-BAR-BAZ";
  }
  {
    name = "concatImapStrings";
    got = concatImapStrings (pos: x: "${toString pos}-${x}") [
      "foo"
      "bar"
    ];
    expected = "1-foo2-bar";
  }
  {
    name = "concatImapStringsSep";
    got = strings.concatImapStringsSep "-" (pos: x: toString (x / pos)) [
      6
      6
      6
    ];
    expected = "6-3-2";
  }
  {
    name = "concatLines";
    got = concatLines [
      "foo"
      "bar"
    ];
    expected = "foo\nbar\n";
  }
  {
    name = "splitString";
    got = [
      (splitString "." "foo.bar.baz")
      (splitString "/" "/usr/local/bin")
      (splitString "," "")
      (splitString "." "a..b")
      (splitString "," "abc")
      (splitString "+" "a+b")
      (splitString ", " "a, b,c")
    ];
    expected = [
      [
        "foo"
        "bar"
        "baz"
      ]
      [
        ""
        "usr"
        "local"
        "bin"
      ]
      [ "" ]
      [
        "a"
        ""
        "b"
      ]
      [ "abc" ]
      [
        "a"
        "b"
      ]
      [
        "a"
        "b,c"
      ]
    ];
  }
  {
    name = "hasPrefix";
    got = [
      (hasPrefix "foo" "foobar")
      (hasPrefix "foo" "barfoo")
      (hasPrefix "" "x")
      (hasPrefix "abc" "ab")
    ];
    expected = [
      true
      false
      true
      false
    ];
  }
  {
    name = "hasSuffix";
    got = [
      (hasSuffix "foo" "barfoo")
      (hasSuffix "foo" "buzz")
      (hasSuffix "" "x")
      (hasSuffix "abc" "bc")
    ];
    expected = [
      true
      false
      true
      false
    ];
  }
  {
    name = "hasInfix";
    got = [
      (hasInfix "bc" "abcd")
      (hasInfix "ab" "abcd")
      (hasInfix "cd" "abcd")
      (hasInfix "foo" "abcd")
      (hasInfix "" "")
      (hasInfix "." "a.b")
      (hasInfix "." "ab")
      (hasInfix "b\nc" "a\nb\nc")
      (hasInfix "abcde" "abc")
    ];
    expected = [
      true
      true
      true
      false
      true
      true
      false
      true
      false
    ];
  }
  {
    name = "removePrefix";
    got = [
      (removePrefix "foo." "foo.bar.baz")
      (removePrefix "xxx" "foo.bar.baz")
      (removePrefix "" "abc")
    ];
    expected = [
      "bar.baz"
      "foo.bar.baz"
      "abc"
    ];
  }
  {
    name = "removeSuffix";
    got = [
      (removeSuffix "front" "homefront")
      (removeSuffix "xxx" "homefront")
      (removeSuffix "" "abc")
    ];
    expected = [
      "home"
      "homefront"
      "abc"
    ];
  }
  {
    name = "toLower toUpper";
    got = [
      (toLower "HOME")
      (toUpper "home")
      (toLower "MiXeD-09")
    ];
    expected = [
      "home"
      "HOME"
      "mixed-09"
    ];
  }
  {
    name = "toInt";
    got = [
      (toInt "1337")
      (toInt "-4")
      (toInt " 123 ")
      (toInt "0")
    ];
    expected = [
      1337
      (-4)
      123
      0
    ];
  }
  {
    name = "toInt rejects";
    got = map (s: (builtins.tryEval (toInt s)).success) [
      "00024"
      "3.14"
      "a"
      ""
      "1 2"
    ];
    expected = [
      false
      false
      false
      false
      false
    ];
  }
  {
    name = "toIntBase10";
    got = [
      (toIntBase10 "00024")
      (toIntBase10 " -0012 ")
    ];
    expected = [
      24
      (-12)
    ];
  }
  {
    name = "trim";
    got = [
      (trim "   fnord   ")
      (trim "\n  a b  \t")
      (trim "")
      (trim "   ")
      (trim "x")
    ];
    expected = [
      "fnord"
      "a b"
      ""
      ""
      "x"
    ];
  }
  {
    name = "trimWith";
    got = [
      (trimWith { start = true; } "   fnord   ")
      (trimWith { end = true; } "   fnord   ")
    ];
    expected = [
      "fnord   "
      "   fnord"
    ];
  }
  {
    name = "replaceStrings";
    got = replaceStrings [ "Hello" ] [ "Goodbye" ] "Hello, world!";
    expected = "Goodbye, world!";
  }
  {
    name = "escapeShellArg";
    got = [
      (escapeShellArg "esc'ape\nme")
      (escapeShellArg "foo")
      (escapeShellArg "two words")
      (escapeShellArg "")
      (escapeShellArg 3)
    ];
    expected = [
      "'esc'\\''ape\nme'"
      "foo"
      "'two words'"
      "''"
      "3"
    ];
  }
  {
    name = "escapeShellArgs";
    got = escapeShellArgs [
      "one"
      "two three"
      "four'five"
    ];
    expected = "one 'two three' 'four'\\''five'";
  }
  {
    name = "optionalString";
    got = [
      (optionalString true "some-string")
      (optionalString false "some-string")
    ];
    expected = [
      "some-string"
      ""
    ];
  }
  {
    name = "stringLength substring";
    got = [
      (stringLength "nixos")
      (substring 1 3 "nixos")
      (substring 3 10 "nixos")
    ];
    expected = [
      5
      "ixo"
      "os"
    ];
  }
  {
    name = "fileContents strips one trailing newline";
    got = fileContents ./data/text.txt;
    expected = "first line\nsecond line\n";
  }
  {
    name = "escape";
    got = escape [ "(" ")" ] "(foo)";
    expected = "\\(foo\\)";
  }
  {
    name = "escapeRegex";
    got = escapeRegex "[^a-z]*";
    expected = "\\[\\^a-z]\\*";
  }
  {
    name = "stringToCharacters";
    got = [
      (stringToCharacters "abc")
      (stringToCharacters "")
    ];
    expected = [
      [
        "a"
        "b"
        "c"
      ]
      [ ]
    ];
  }
  {
    name = "stringAsChars";
    got = stringAsChars (x: if x == "a" then "i" else x) "nax";
    expected = "nix";
  }
  {
    name = "fixedWidthString fixedWidthNumber";
    got = [
      (fixedWidthString 5 "0" (toString 15))
      (fixedWidthNumber 5 15)
    ];
    expected = [
      "00015"
      "00015"
    ];
  }
  {
    name = "escapeNixString";
    got = escapeNixString "hello\${}\n";
    expected = "\"hello\\\${}\\n\"";
  }
  {
    name = "escapeNixIdentifier";
    got = [
      (escapeNixIdentifier "hello")
      (escapeNixIdentifier "0abc")
    ];
    expected = [
      "hello"
      "\"0abc\""
    ];
  }
  {
    name = "toJSON";
    got = [
      (strings.toJSON {
        a = [
          1
          "x"
        ];
      })
      (generators.toJSON { } { b = null; })
    ];
    expected = [
      ''{"a":[1,"x"]}''
      ''{"b":null}''
    ];
  }
  {
    name = "makeBinPath makeSearchPath";
    got = [
      (makeBinPath [
        "/root"
        "/usr"
      ])
      (makeSearchPath "lib" [ "/a" ])
    ];
    expected = [
      "/root/bin:/usr/bin"
      "/a/lib"
    ];
  }
  {
    name = "getName getVersion";
    got = [
      (getName "youtube-dl-2016.01.01")
      (getVersion "youtube-dl-2016.01.01")
      (getName {
        pname = "hello";
        name = "hello-1";
      })
    ];
    expected = [
      "youtube-dl"
      "2016.01.01"
      "hello"
    ];
  }
  {
    name = "nameFromURL";
    got = nameFromURL "https://nixos.org/releases/nix/nix-1.7/nix-1.7-x86_64-linux.tar.bz2" "-";
    expected = "nix";
  }
  {
    name = "isStringLike";
    got = [
      (isStringLike "a")
      (isStringLike ./data)
      (isStringLike { outPath = "x"; })
      (isStringLike 1)
    ];
    expected = [
      true
      true
      true
      false
    ];
  }
  {
    name = "versionAtLeast versionOlder";
    got = [
      (versionAtLeast "1.2" "1.1")
      (versionAtLeast "1.1" "1.1")
      (versionAtLeast "1.1" "1.2")
      (versionOlder "1.1" "1.2")
      (versionOlder "1.1" "1.1")
      (versionOlder "2.0" "10.0")
    ];
    expected = [
      true
      true
      false
      true
      false
      true
    ];
  }
  {
    name = "versions";
    got = [
      (versions.major "1.2.3")
      (versions.minor "1.2.3")
      (versions.majorMinor "1.2.3")
      (splitVersion "1.2-pre")
    ];
    expected = [
      "1"
      "2"
      "1.2"
      [
        "1"
        "2"
        "pre"
      ]
    ];
  }
  {
    name = "toString";
    got = [
      (toString [
        1
        2
      ])
      (toString null)
      (toString true)
      (toString false)
      (toString 5)
    ];
    expected = [
      "1 2"
      ""
      "1"
      ""
      "5"
    ];
  }
  {
    name = "generators.toKeyValue";
    got = generators.toKeyValue { } {
      a = 1;
      b = "x";
      c = true;
    };
    expected = "a=1\nb=x\nc=true\n";
  }
  {
    name = "generators.toINI";
    got = generators.toINI { } {
      s = {
        k = "v";
      };
      t = {
        n = 2;
      };
    };
    expected = "[s]\nk=v\n\n[t]\nn=2\n";
  }
]
