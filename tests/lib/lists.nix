# lib.lists: each entry's `expected` is the value nixpkgs documents.
let
  lib = import ../../src/modules/known/lib.nix { };
  inherit (lib) lists;
in
with lib;
[
  {
    name = "optional";
    got = [
      (optional true "foo")
      (optional false "foo")
    ];
    expected = [
      [ "foo" ]
      [ ]
    ];
  }
  {
    name = "optionals";
    got = [
      (optionals true [
        2
        3
      ])
      (optionals false [
        2
        3
      ])
      (lists.optionals false (throw "forced"))
    ];
    expected = [
      [
        2
        3
      ]
      [ ]
      [ ]
    ];
  }
  {
    name = "foldr";
    got = foldr (a: acc: "(${a}${acc})") "z" [
      "a"
      "b"
      "c"
    ];
    expected = "(a(b(cz)))";
  }
  {
    name = "foldr lazy";
    got = foldr (x: acc: x) 0 [
      1
      (throw "lazy")
    ];
    expected = 1;
  }
  {
    name = "fold is foldr";
    got = lists.fold (a: acc: [ a ] ++ acc) [ ] [
      1
      2
    ];
    expected = [
      1
      2
    ];
  }
  {
    name = "foldl";
    got = foldl (acc: a: "(${acc}${a})") "z" [
      "a"
      "b"
      "c"
    ];
    expected = "(((za)b)c)";
  }
  {
    name = "foldl lazy accumulator";
    got = foldl (acc: x: x) (throw "lazy") [ 1 ];
    expected = 1;
  }
  {
    name = "foldl'";
    got = foldl' (acc: x: acc + x) 0 [
      1
      2
      3
    ];
    expected = 6;
  }
  {
    name = "foldl' forces the initial accumulator";
    got = (builtins.tryEval (foldl' (acc: x: x) (throw "forced") [ 1 ])).success;
    expected = false;
  }
  {
    name = "concatMap";
    got = concatMap (x: [
      x
      "-"
    ]) [
      "a"
      "b"
    ];
    expected = [
      "a"
      "-"
      "b"
      "-"
    ];
  }
  {
    name = "concatLists";
    got = concatLists [
      [
        1
        2
      ]
      [ 3 ]
      [ ]
    ];
    expected = [
      1
      2
      3
    ];
  }
  {
    name = "flatten";
    got = [
      (flatten [
        1
        [
          2
          [
            3
            [ ]
          ]
          4
        ]
        5
      ])
      (flatten 1)
    ];
    expected = [
      [
        1
        2
        3
        4
        5
      ]
      [ 1 ]
    ];
  }
  {
    name = "unique keeps first occurrences";
    got = unique [
      3
      2
      3
      4
      2
      1
    ];
    expected = [
      3
      2
      4
      1
    ];
  }
  {
    name = "unique of sets";
    got = lists.unique [
      { a = 1; }
      { a = 1; }
      "x"
    ];
    expected = [
      { a = 1; }
      "x"
    ];
  }
  {
    name = "allUnique";
    got = [
      (allUnique [
        3
        2
        3
      ])
      (allUnique [
        1
        2
      ])
    ];
    expected = [
      false
      true
    ];
  }
  {
    name = "range";
    got = [
      (range 2 4)
      (range 3 2)
      (range 3 1)
      (range 1 1)
      (range (-1) 1)
    ];
    expected = [
      [
        2
        3
        4
      ]
      [ ]
      [ ]
      [ 1 ]
      [
        (-1)
        0
        1
      ]
    ];
  }
  {
    name = "elem any all";
    got = [
      (elem 2 [
        1
        2
      ])
      (elem 3 [ 1 ])
      (any isString [
        1
        "a"
      ])
      (any isString [ ])
      (all (x: x < 3) [
        1
        2
      ])
      (all (x: x < 3) [ ])
      (all (x: x < 3) [
        1
        5
      ])
    ];
    expected = [
      true
      false
      true
      false
      true
      true
      false
    ];
  }
  {
    name = "head tail last init";
    got = [
      (head [
        1
        2
        3
      ])
      (tail [
        1
        2
        3
      ])
      (last [
        1
        2
        3
      ])
      (init [
        1
        2
        3
      ])
    ];
    expected = [
      1
      [
        2
        3
      ]
      3
      [
        1
        2
      ]
    ];
  }
  {
    name = "last of empty list throws";
    got = (builtins.tryEval (last [ ])).success;
    expected = false;
  }
  {
    name = "take drop";
    got = [
      (take 2 [
        "a"
        "b"
        "c"
        "d"
      ])
      (take 2 [ ])
      (take 5 [ 1 ])
      (drop 2 [
        "a"
        "b"
        "c"
        "d"
      ])
      (drop 2 [ ])
      (drop 0 [ 1 ])
    ];
    expected = [
      [
        "a"
        "b"
      ]
      [ ]
      [ 1 ]
      [
        "c"
        "d"
      ]
      [ ]
      [ 1 ]
    ];
  }
  {
    name = "sublist";
    got = [
      (sublist 1 3 [
        "a"
        "b"
        "c"
        "d"
        "e"
      ])
      (sublist 1 3 [ ])
      (sublist 3 10 [
        1
        2
        3
        4
      ])
    ];
    expected = [
      [
        "b"
        "c"
        "d"
      ]
      [ ]
      [ 4 ]
    ];
  }
  {
    name = "reverseList";
    got = [
      (reverseList [
        "b"
        "o"
        "j"
      ])
      (reverseList [ ])
    ];
    expected = [
      [
        "j"
        "o"
        "b"
      ]
      [ ]
    ];
  }
  {
    name = "sort length";
    got = [
      (sort (a: b: a < b) [
        5
        3
        7
      ])
      (length [
        1
        2
      ])
    ];
    expected = [
      [
        3
        5
        7
      ]
      2
    ];
  }
  {
    name = "count";
    got = count (x: x == 1) [
      1
      2
      3
      1
      1
    ];
    expected = 3;
  }
  {
    name = "groupBy";
    got = groupBy (x: boolToString (x > 2)) [
      5
      1
      2
      3
      4
    ];
    expected = {
      true = [
        5
        3
        4
      ];
      false = [
        1
        2
      ];
    };
  }
  {
    name = "groupBy'";
    got = groupBy' builtins.add 0 (x: boolToString (x > 2)) [
      5
      1
      2
      3
      4
    ];
    expected = {
      false = 3;
      true = 12;
    };
  }
  {
    name = "partition";
    got = partition (x: x > 2) [
      5
      1
      2
      3
      4
    ];
    expected = {
      right = [
        5
        3
        4
      ];
      wrong = [
        1
        2
      ];
    };
  }
  {
    name = "findFirst";
    got = [
      (findFirst (x: x > 3) 7 [
        1
        6
        4
      ])
      (findFirst (x: x > 9) 7 [
        1
        6
        4
      ])
    ];
    expected = [
      6
      7
    ];
  }
  {
    name = "findSingle";
    got = [
      (lists.findSingle (x: x == 3) "none" "multiple" [
        1
        3
        3
      ])
      (lists.findSingle (x: x == 3) "none" "multiple" [
        1
        3
      ])
      (lists.findSingle (x: x == 3) "none" "multiple" [ 1 9 ])
    ];
    expected = [
      "multiple"
      3
      "none"
    ];
  }
  {
    name = "imap0 imap1";
    got = [
      (imap0 (i: v: "${v}-${toString i}") [
        "a"
        "b"
      ])
      (imap1 (i: v: "${v}-${toString i}") [
        "a"
        "b"
      ])
    ];
    expected = [
      [
        "a-0"
        "b-1"
      ]
      [
        "a-1"
        "b-2"
      ]
    ];
  }
  {
    name = "ifilter0";
    got = ifilter0 (i: v: i == 0 || v > 2) [
      1
      2
      3
    ];
    expected = [
      1
      3
    ];
  }
  {
    name = "zipLists";
    got = zipLists [
      1
      2
    ] [
      "a"
      "b"
      "c"
    ];
    expected = [
      {
        fst = 1;
        snd = "a";
      }
      {
        fst = 2;
        snd = "b";
      }
    ];
  }
  {
    name = "zipListsWith";
    got = zipListsWith (a: b: a + b) [
      "h"
      "l"
    ] [
      "e"
      "o"
      "x"
    ];
    expected = [
      "he"
      "lo"
    ];
  }
  {
    name = "genList";
    got = genList (x: x * x) 4;
    expected = [
      0
      1
      4
      9
    ];
  }
  {
    name = "subtractLists intersectLists";
    got = [
      (subtractLists [
        3
        2
      ] [
        1
        2
        3
        4
        5
        3
      ])
      (intersectLists [
        1
        2
        3
      ] [
        6
        3
        2
      ])
    ];
    expected = [
      [
        1
        4
        5
      ]
      [
        3
        2
      ]
    ];
  }
  {
    name = "filter map forEach remove";
    got = [
      (filter (x: x != "a") [
        "a"
        "b"
        "a"
      ])
      (map (x: x + 1) [
        1
        2
      ])
      (forEach [
        1
        2
      ] (x: toString x))
      (remove 3 [
        1
        3
        4
        3
      ])
    ];
    expected = [
      [ "b" ]
      [
        2
        3
      ]
      [
        "1"
        "2"
      ]
      [
        1
        4
      ]
    ];
  }
  {
    name = "toList";
    got = [
      (toList [ 1 ])
      (toList 1)
    ];
    expected = [
      [ 1 ]
      [ 1 ]
    ];
  }
  {
    name = "replicate";
    got = replicate 3 "a";
    expected = [
      "a"
      "a"
      "a"
    ];
  }
  {
    name = "takeEnd dropEnd";
    got = [
      (takeEnd 2 [
        1
        2
        3
      ])
      (dropEnd 2 [
        1
        2
        3
      ])
      (takeEnd 5 [ 1 ])
    ];
    expected = [
      [
        2
        3
      ]
      [ 1 ]
      [ 1 ]
    ];
  }
  {
    name = "sortOn";
    got = sortOn stringLength [
      "aaa"
      "b"
      "cc"
    ];
    expected = [
      "b"
      "cc"
      "aaa"
    ];
  }
  {
    name = "mutuallyExclusive";
    got = [
      (mutuallyExclusive [ 1 ] [ 2 ])
      (mutuallyExclusive [
        1
        2
      ] [ 2 ])
    ];
    expected = [
      true
      false
    ];
  }
  {
    name = "intersperse";
    got = intersperse "/" [
      "usr"
      "local"
      "bin"
    ];
    expected = [
      "usr"
      "/"
      "local"
      "/"
      "bin"
    ];
  }
]
