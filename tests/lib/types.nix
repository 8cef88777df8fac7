# lib.types: names and descriptions as nixpkgs renders them, payloads, bounds, nested types
# and the shallow `check`.
let
  lib = import ../../src/modules/known/lib.nix { };
  inherit (lib) types;
  # The printable data of a type: everything but functions and nested types.
  data =
    t:
    {
      inherit (t) _type name description;
    }
    // lib.optionalAttrs (t ? payload) { inherit (t) payload; }
    // lib.optionalAttrs (t ? min) { inherit (t) min max; };
  desc = t: t.description;
  # `check` over a fixed set of sample values, as the names of those it accepts.
  samples = {
    str = "a";
    emptyStr = "";
    blank = " \n";
    multiLine = "a\nb";
    int = 3;
    negInt = -3;
    zero = 0;
    big = 70000;
    float = 1.5;
    bool = true;
    null = null;
    list = [ 1 ];
    emptyList = [ ];
    attrs = {
      a = 1;
    };
    function = x: x;
    absPath = /etc;
    absStr = "/etc";
    storeStr = "/nix/store/aaaa-hello";
    drv = {
      type = "derivation";
    };
  };
  accepts = t: builtins.filter (n: t.check samples.${n}) (builtins.attrNames samples);
in
with types;
[
  {
    name = "simple types";
    got = map data [
      str
      bool
      raw
      anything
      unspecified
      attrs
      package
      path
      pathInStore
      float
      optionType
    ];
    expected = [
      {
        _type = "option-type";
        name = "str";
        description = "string";
      }
      {
        _type = "option-type";
        name = "bool";
        description = "boolean";
      }
      {
        _type = "option-type";
        name = "raw";
        description = "raw value";
      }
      {
        _type = "option-type";
        name = "anything";
        description = "anything";
      }
      {
        _type = "option-type";
        name = "unspecified";
        description = "unspecified value";
      }
      {
        _type = "option-type";
        name = "attrs";
        description = "attribute set";
      }
      {
        _type = "option-type";
        name = "package";
        description = "package";
      }
      {
        _type = "option-type";
        name = "path";
        description = "absolute path";
        payload = {
          absolute = true;
          inStore = null;
        };
      }
      {
        _type = "option-type";
        name = "path";
        description = "path in the Nix store";
        payload = {
          absolute = null;
          inStore = true;
        };
      }
      {
        _type = "option-type";
        name = "float";
        description = "floating point number";
        min = null;
        max = null;
      }
      {
        _type = "option-type";
        name = "optionType";
        description = "optionType";
      }
    ];
  }
  {
    name = "string types";
    got = map data [
      singleLineStr
      nonEmptyStr
      (passwdEntry str)
      (strMatching "[a-z]+")
      lines
      commas
      envVar
      (separatedString "")
      (separatedString " ")
    ];
    expected = [
      {
        _type = "option-type";
        name = "singleLineStr";
        description = "(optionally newline-terminated) single-line string";
        payload = "[^\n\r]*\n?";
      }
      {
        _type = "option-type";
        name = "nonEmptyStr";
        description = "non-empty string";
      }
      {
        _type = "option-type";
        name = "passwdEntry str";
        description = "string, not containing newlines or colons";
      }
      {
        _type = "option-type";
        name = "strMatching \"[a-z]+\"";
        description = "string matching the pattern [a-z]+";
        payload = "[a-z]+";
      }
      {
        _type = "option-type";
        name = "separatedString";
        description = "strings concatenated with \"\\n\"";
        payload = "\n";
      }
      {
        _type = "option-type";
        name = "separatedString";
        description = "strings concatenated with \",\"";
        payload = ",";
      }
      {
        _type = "option-type";
        name = "separatedString";
        description = "strings concatenated with \":\"";
        payload = ":";
      }
      {
        _type = "option-type";
        name = "separatedString";
        description = "Concatenated string";
        payload = "";
      }
      {
        _type = "option-type";
        name = "separatedString";
        description = "strings concatenated with \" \"";
        payload = " ";
      }
    ];
  }
  {
    name = "integer types";
    got = map data [
      int
      ints.unsigned
      ints.positive
      (ints.between (-5) 10)
      ints.u8
      ints.u16
      ints.u32
      ints.s8
      ints.s16
      ints.s32
      port
    ];
    expected = [
      {
        _type = "option-type";
        name = "int";
        description = "signed integer";
        min = null;
        max = null;
      }
      {
        _type = "option-type";
        name = "unsignedInt";
        description = "unsigned integer, meaning >=0";
        min = 0;
        max = null;
      }
      {
        _type = "option-type";
        name = "positiveInt";
        description = "positive integer, meaning >0";
        min = 1;
        max = null;
      }
      {
        _type = "option-type";
        name = "intBetween";
        description = "integer between -5 and 10 (both inclusive)";
        min = -5;
        max = 10;
      }
      {
        _type = "option-type";
        name = "unsignedInt8";
        description = "8 bit unsigned integer; between 0 and 255 (both inclusive)";
        min = 0;
        max = 255;
      }
      {
        _type = "option-type";
        name = "unsignedInt16";
        description = "16 bit unsigned integer; between 0 and 65535 (both inclusive)";
        min = 0;
        max = 65535;
      }
      {
        _type = "option-type";
        name = "unsignedInt32";
        description = "32 bit unsigned integer; between 0 and 4294967295 (both inclusive)";
        min = 0;
        max = 4294967295;
      }
      {
        _type = "option-type";
        name = "signedInt8";
        description = "8 bit signed integer; between -128 and 127 (both inclusive)";
        min = -128;
        max = 127;
      }
      {
        _type = "option-type";
        name = "signedInt16";
        description = "16 bit signed integer; between -32768 and 32767 (both inclusive)";
        min = -32768;
        max = 32767;
      }
      {
        _type = "option-type";
        name = "signedInt32";
        description = "32 bit signed integer; between -2147483648 and 2147483647 (both inclusive)";
        min = -2147483648;
        max = 2147483647;
      }
      {
        _type = "option-type";
        name = "unsignedInt16";
        description = "16 bit unsigned integer; between 0 and 65535 (both inclusive)";
        min = 0;
        max = 65535;
      }
    ];
  }
  {
    name = "number types";
    got = map data [
      number
      (numbers.between 0 1.5)
      numbers.nonnegative
      numbers.positive
    ];
    expected = [
      {
        _type = "option-type";
        name = "either";
        description = "signed integer or floating point number";
        min = null;
        max = null;
      }
      {
        _type = "option-type";
        name = "numberBetween";
        description = "integer or floating point number between 0 and 1.5 (both inclusive)";
        min = 0;
        max = 1.5;
      }
      {
        _type = "option-type";
        name = "numberNonnegative";
        description = "nonnegative integer or floating point number, meaning >=0";
        min = 0;
        max = null;
      }
      {
        _type = "option-type";
        name = "numberPositive";
        description = "positive integer or floating point number, meaning >0";
        min = null;
        max = null;
      }
    ];
  }
  {
    name = "ints.between rejects an empty range";
    got = (builtins.tryEval (ints.between 2 1).name).success;
    expected = false;
  }
  {
    name = "enum";
    got = map data [
      (enum [
        "a"
        "b"
      ])
      (enum [
        1
        true
        "x"
      ])
      (enum [ "only" ])
      (enum [ ])
    ];
    expected = [
      {
        _type = "option-type";
        name = "enum";
        description = "one of \"a\", \"b\"";
        payload = [
          "a"
          "b"
        ];
      }
      {
        _type = "option-type";
        name = "enum";
        description = "one of 1, true, \"x\"";
        payload = [
          1
          true
          "x"
        ];
      }
      {
        _type = "option-type";
        name = "enum";
        description = "value \"only\" (singular enum)";
        payload = [ "only" ];
      }
      {
        _type = "option-type";
        name = "enum";
        description = "impossible (empty enum)";
        payload = [ ];
      }
    ];
  }
  {
    name = "composite names";
    got = map (t: t.name) [
      (listOf str)
      (nonEmptyListOf str)
      (attrsOf str)
      (lazyAttrsOf str)
      (nullOr str)
      (either str int)
      (oneOf [
        str
        int
      ])
      (uniq str)
      (unique { message = "m"; } str)
      (functionTo str)
      (coercedTo str lib.toInt int)
      (submodule { })
      (submoduleWith { modules = [ ]; })
      deferredModule
      (deferredModuleWith { staticModules = [ { } ]; })
      (addCheck int (x: x > 0))
    ];
    expected = [
      "listOf"
      "listOf"
      "attrsOf"
      "lazyAttrsOf"
      "nullOr"
      "either"
      "either"
      "unique"
      "unique"
      "functionTo"
      "coercedTo"
      "submodule"
      "submodule"
      "deferredModule"
      "deferredModule"
      "int"
    ];
  }
  {
    name = "composite descriptions";
    got = map desc [
      (listOf str)
      (listOf (listOf int))
      (nonEmptyListOf str)
      (attrsOf (submodule { }))
      (attrsOf attrs)
      (lazyAttrsOf (nullOr str))
      (nullOr str)
      (nullOr (listOf str))
      (nullOr (either str int))
      (either str int)
      (either (listOf str) str)
      (either str (listOf str))
      (either ints.positive str)
      (oneOf [
        str
        int
        (listOf str)
      ])
      (uniq (listOf str))
      (functionTo (attrsOf str))
      (functionTo (nullOr str))
      (coercedTo str lib.toInt int)
      (coercedTo (listOf str) lib.id (nullOr str))
      (submodule { })
      (submoduleWith {
        modules = [ ];
        description = "my things";
      })
      deferredModule
      (passwdEntry (nullOr str))
      (listOf ints.unsigned)
      (attrsOf (enum [
        "a"
        "b"
      ]))
      (listOf (enum [ "a" ]))
    ];
    expected = [
      "list of string"
      "list of list of signed integer"
      "non-empty (list of string)"
      "attribute set of (submodule)"
      "attribute set of (attribute set)"
      "lazy attribute set of (null or string)"
      "null or string"
      "null or (list of string)"
      "null or string or signed integer"
      "string or signed integer"
      "(list of string) or string"
      "string or list of string"
      "positive integer, meaning >0, or string"
      "string or signed integer or list of string"
      "list of string"
      "function that evaluates to a(n) attribute set of string"
      "function that evaluates to a(n) (null or string)"
      "signed integer or string convertible to it"
      "(null or string) or (list of string) convertible to it"
      "submodule"
      "my things"
      "module"
      "(null or string), not containing newlines or colons"
      "list of (unsigned integer, meaning >=0)"
      "attribute set of (one of \"a\", \"b\")"
      "list of value \"a\" (singular enum)"
    ];
  }
  {
    name = "nested types";
    got =
      let
        n = t: t.nestedTypes.elemType.name;
      in
      [
        (n (listOf str))
        (n (nonEmptyListOf int))
        (n (attrsOf bool))
        (n (lazyAttrsOf bool))
        (n (nullOr str))
        (n (uniq str))
        (n (unique { message = ""; } int))
        (n (functionTo str))
        (either str int).nestedTypes.left.name
        (either str int).nestedTypes.right.name
        (coercedTo str lib.toInt int).nestedTypes.coercedType.name
        (coercedTo str lib.toInt int).nestedTypes.finalType.name
        ((coercedTo str lib.toInt int).coerce "42")
        (n (listOf (attrsOf str)).nestedTypes.elemType)
      ];
    expected = [
      "str"
      "int"
      "bool"
      "bool"
      "str"
      "str"
      "int"
      "str"
      "str"
      "int"
      "str"
      "int"
      42
      "str"
    ];
  }
  {
    name = "oneOf is a left fold of either";
    got =
      let
        t = oneOf [
          str
          int
          bool
        ];
      in
      [
        t.nestedTypes.left.name
        t.nestedTypes.left.nestedTypes.left.name
        t.nestedTypes.left.nestedTypes.right.name
        t.nestedTypes.right.name
        (oneOf [ str ]).name
        (builtins.tryEval (oneOf [ ]).name).success
      ];
    expected = [
      "either"
      "str"
      "int"
      "bool"
      "str"
      false
    ];
  }
  {
    name = "submodule data";
    got =
      let
        s = submodule { options = { }; };
        w = submoduleWith {
          modules = [ { a = 1; } ];
          specialArgs = {
            x = 1;
          };
          class = "nixos";
        };
      in
      [
        {
          inherit (s)
            modules
            specialArgs
            shorthandOnlyDefinesConfig
            class
            ;
        }
        {
          inherit (w)
            modules
            specialArgs
            shorthandOnlyDefinesConfig
            class
            ;
        }
        (submodule [
          { a = 1; }
          { b = 2; }
        ]).modules
        deferredModule.staticModules
        (deferredModuleWith { staticModules = [ { c = 3; } ]; }).staticModules
      ];
    expected = [
      {
        modules = [ { options = { }; } ];
        specialArgs = { };
        shorthandOnlyDefinesConfig = true;
        class = null;
      }
      {
        modules = [ { a = 1; } ];
        specialArgs = {
          x = 1;
        };
        shorthandOnlyDefinesConfig = false;
        class = "nixos";
      }
      [
        { a = 1; }
        { b = 2; }
      ]
      [ ]
      [ { c = 3; } ]
    ];
  }
  {
    name = "addCheck keeps the base data";
    got =
      let
        t = addCheck (ints.between 0 10) (x: x != 5);
      in
      (data t)
      // {
        accepts = map t.check [
          4
          5
          11
          "a"
        ];
      };
    expected = {
      _type = "option-type";
      name = "intBetween";
      description = "integer between 0 and 10 (both inclusive)";
      min = 0;
      max = 10;
      accepts = [
        true
        false
        false
        false
      ];
    };
  }
  {
    name = "check of simple types";
    got = {
      str = accepts str;
      bool = accepts bool;
      int = accepts int;
      float = accepts float;
      number = accepts number;
      attrs = accepts attrs;
      raw = builtins.length (accepts raw);
      anything = builtins.length (accepts anything);
      path = accepts path;
      pathInStore = accepts pathInStore;
      package = accepts package;
      optionType = [
        (optionType.check str)
        (optionType.check { })
      ];
    };
    expected = {
      str = [
        "absStr"
        "blank"
        "emptyStr"
        "multiLine"
        "storeStr"
        "str"
      ];
      bool = [ "bool" ];
      int = [
        "big"
        "int"
        "negInt"
        "zero"
      ];
      float = [ "float" ];
      number = [
        "big"
        "float"
        "int"
        "negInt"
        "zero"
      ];
      attrs = [
        "attrs"
        "drv"
      ];
      raw = 19;
      anything = 19;
      path = [
        "absPath"
        "absStr"
        "storeStr"
      ];
      pathInStore = [ "storeStr" ];
      package = [
        "drv"
        "storeStr"
      ];
      optionType = [
        true
        false
      ];
    };
  }
  {
    name = "check of string types";
    got = {
      singleLineStr = accepts singleLineStr;
      nonEmptyStr = accepts nonEmptyStr;
      strMatching = accepts (strMatching "[a-z]+");
      passwdEntry = accepts (passwdEntry str);
      lines = accepts lines;
    };
    expected = {
      singleLineStr = [
        "absStr"
        "blank"
        "emptyStr"
        "storeStr"
        "str"
      ];
      nonEmptyStr = [
        "absStr"
        "multiLine"
        "storeStr"
        "str"
      ];
      strMatching = [ "str" ];
      passwdEntry = [
        "absStr"
        "emptyStr"
        "storeStr"
        "str"
      ];
      lines = [
        "absStr"
        "blank"
        "emptyStr"
        "multiLine"
        "storeStr"
        "str"
      ];
    };
  }
  {
    name = "check of integer types";
    got = {
      unsigned = accepts ints.unsigned;
      positive = accepts ints.positive;
      u8 = accepts ints.u8;
      port = accepts port;
      s8 = accepts ints.s8;
      between = accepts (ints.between (-3) 0);
      nonnegative = accepts numbers.nonnegative;
      numPositive = accepts numbers.positive;
      numBetween = accepts (numbers.between 1 2);
    };
    expected = {
      unsigned = [
        "big"
        "int"
        "zero"
      ];
      positive = [
        "big"
        "int"
      ];
      u8 = [
        "int"
        "zero"
      ];
      port = [
        "int"
        "zero"
      ];
      s8 = [
        "int"
        "negInt"
        "zero"
      ];
      between = [
        "negInt"
        "zero"
      ];
      nonnegative = [
        "big"
        "float"
        "int"
        "zero"
      ];
      numPositive = [
        "big"
        "float"
        "int"
      ];
      numBetween = [ "float" ];
    };
  }
  {
    name = "check of composite types";
    got = {
      listOf = accepts (listOf int);
      nonEmptyListOf = accepts (nonEmptyListOf int);
      attrsOf = accepts (attrsOf int);
      nullOr = accepts (nullOr int);
      either = accepts (either bool float);
      enum = accepts (enum [
        3
        "a"
        null
      ]);
      uniq = accepts (uniq bool);
      functionTo = accepts (functionTo int);
      coercedTo = accepts (coercedTo int builtins.toString str);
      coercedToRejects = (coercedTo str (x: 1) int).check "a";
      submodule = accepts (submodule { });
      deferredModule = accepts deferredModule;
    };
    expected = {
      listOf = [
        "emptyList"
        "list"
      ];
      nonEmptyListOf = [ "list" ];
      attrsOf = [
        "attrs"
        "drv"
      ];
      nullOr = [
        "big"
        "int"
        "negInt"
        "null"
        "zero"
      ];
      either = [
        "bool"
        "float"
      ];
      enum = [
        "int"
        "null"
        "str"
      ];
      uniq = [ "bool" ];
      functionTo = [ "function" ];
      coercedTo = [
        "absStr"
        "big"
        "blank"
        "emptyStr"
        "int"
        "multiLine"
        "negInt"
        "storeStr"
        "str"
        "zero"
      ];
      coercedToRejects = true;
      submodule = [
        "absPath"
        "absStr"
        "attrs"
        "drv"
        "function"
        "storeStr"
      ];
      deferredModule = [
        "absPath"
        "absStr"
        "attrs"
        "drv"
        "function"
        "storeStr"
      ];
    };
  }
  {
    name = "option types are option types";
    got = map (t: lib.isOptionType t) [
      str
      (listOf str)
      (submodule { })
      ints.u8
      { }
    ];
    expected = [
      true
      true
      true
      true
      false
    ];
  }
  {
    name = "mkOptionType";
    got = data (mkOptionType {
      name = "myType";
      check = builtins.isString;
    });
    expected = {
      _type = "option-type";
      name = "myType";
      description = "myType";
    };
  }
  {
    name = "types in lib.types and lib.options";
    got = (lib.mkOption { type = lib.types.listOf lib.types.port; }).type.description;
    expected = "list of 16 bit unsigned integer; between 0 and 65535 (both inclusive)";
  }
]
