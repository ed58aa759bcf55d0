"""Tests for glm_lsp.context.syntax: grammar lookup, scope at the cursor, syntax checks."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from glm_lsp.context import syntax
from glm_lsp.context.syntax import enclosing_scope, grammar_name, has_syntax_errors

# --------------------------------------------------------------------------- sample files
# Each case is (cursor, expected). A cursor is a line number or a string: the line that
# contains it, with the column at its first character. Expected is None or (first, last),
# each a line number or a string naming the one line that contains it.

PYTHON = """\
import os

@decorator
@other(1)
def outer(x):
    def inner(y):
        return y + 1

    return inner(x)


class Greeter:
    \"\"\"Says hello.\"\"\"

    def greet(self, name):
        message = f"hi {name}"
        return message


RESULT = outer(
    41,
)
"""
PYTHON_CASES = [
    ("message = ", ("def greet", "return message")),  # method body -> the method
    ("class Greeter", ("class Greeter", "return message")),  # class header -> the class
    ('"""Says hello', ("class Greeter", "return message")),
    ("def outer", ("@decorator", "return inner(x)")),  # decorators included
    ("@other", ("@decorator", "return inner(x)")),  # on a decorator line
    ("return y + 1", ("def inner", "return y + 1")),  # nested -> innermost
    ("return inner(x)", ("@decorator", "return inner(x)")),
    (7, ("@decorator", "return inner(x)")),  # blank line inside a function
    ("import os", ("import os", "import os")),
    ("41,", ("RESULT = outer(", 21)),  # multi-line top-level statement
    (1, None),  # blank line between definitions
    (10, None),
]

JAVASCRIPT = """\
import fs from "fs";

class Counter {
  constructor() {
    this.count = 0;
  }

  increment(step) {
    this.count += step;
    return this.count;
  }
}

const double = (x) => {
  return x * 2;
};

function outer() {
  function inner() {
    return 1;
  }
  return inner();
}

items.forEach((item) => {
  use(item);
});

console.log(
  double(2),
);
"""
JAVASCRIPT_CASES = [
    ("this.count += step", ("increment(step)", 10)),
    ("this.count = 0", ("constructor()", 5)),
    ("class Counter", ("class Counter", 11)),
    (6, ("class Counter", 11)),  # blank line inside a class
    ("return x * 2", ("const double", 15)),  # arrow function assigned to a name
    ("return 1;", ("function inner", 20)),
    ("return inner()", ("function outer", 22)),
    ("use(item)", ("use(item)", "use(item)")),  # an unnamed callback is no definition
    ("double(2),", ("console.log(", 30)),
    ("import fs", ("import fs", "import fs")),
    (12, None),
    (1, None),
]

TYPESCRIPT = """\
interface Shape {
  area(): number;
}

export class Circle implements Shape {
  constructor(private r: number) {}

  @memo
  area(): number {
    const r2 = this.r * this.r;
    return Math.PI * r2;
  }
}

enum Color {
  Red,
  Green,
}

export const scale = (s: Shape, k: number): number =>
  s.area() * k;

let total: number = 0;
"""
TYPESCRIPT_CASES = [
    ("const r2", ("@memo", 11)),  # method, with the decorator TypeScript puts beside it
    ("@memo", ("@memo", 11)),
    ("constructor(private", ("constructor(private", "constructor(private")),
    ("export class Circle", ("export class Circle", 12)),
    ("area(): number;", ("interface Shape", 2)),  # a signature is not a definition
    ("Green", ("enum Color", 17)),
    ("s.area() * k", ("export const scale", "s.area() * k")),
    ("let total", ("let total", "let total")),
    (3, None),
    (18, None),
]

TSX = """\
import React from "react";

type Props = { name: string };

export function Hello({ name }: Props) {
  const greeting = `Hello ${name}`;
  return (
    <div className="hello">
      {greeting}
    </div>
  );
}

const App = () => <Hello name="world" />;

export default App;
"""
TSX_CASES = [
    ("{greeting}", ("export function Hello", 11)),
    ("<div", ("export function Hello", 11)),
    ("const App", ("const App", "const App")),
    ("export default App", ("export default App", "export default App")),
    ("type Props", ("type Props", "type Props")),
    (12, None),
]

RUST = """\
use std::fmt;

/// A point.
#[derive(Debug, Clone)]
struct Point {
    x: i32,
    y: i32,
}

impl Point {
    #[inline]
    fn norm(&self) -> i32 {
        let square = |v: i32| {
            v * v
        };
        square(self.x) + square(self.y)
    }
}

fn main() {
    let p = Point { x: 1, y: 2 };
    println!("{}", p.norm());
}

const LIMIT: u32 = 10;
"""
RUST_CASES = [
    ("y: i32", ("#[derive", 7)),  # attributes belong to the item; the doc comment does not
    ("#[derive", ("#[derive", 7)),
    ("square(self.x)", ("#[inline]", 16)),
    ("fn norm", ("#[inline]", 16)),
    ("#[inline]", ("#[inline]", 16)),
    ("v * v", ("let square", 14)),  # a named closure
    ("impl Point", ("impl Point", 17)),
    ("let p = Point", ("fn main", 22)),
    ("const LIMIT", ("const LIMIT", "const LIMIT")),
    ("use std", ("use std", "use std")),
    (1, None),
    (23, None),
]

GO = """\
package main

import "fmt"

type Server struct {
    name string
}

func (s *Server) Start() error {
    handler := func(msg string) {
        fmt.Println(msg)
    }
    handler(s.name)
    return nil
}

func main() {
    s := &Server{name: "x"}
    s.Start()
}

var limits = []int{
    1,
    2,
}
"""
GO_CASES = [
    ("name string", ("type Server", 6)),
    ("fmt.Println", ("handler := func", 11)),  # a func literal given a name
    ("handler(s.name)", ("func (s *Server)", 14)),
    ("func (s *Server)", ("func (s *Server)", 14)),
    ("s.Start()", ("func main", 19)),
    ("    1,", ("var limits", 24)),
    ("import", ("import", "import")),
    (7, None),
    (20, None),
]

JAVA = """\
package demo;

import java.util.List;

@Service
public class Greeter {
    private final String name;

    public Greeter(String name) {
        this.name = name;
    }

    @Override
    public String toString() {
        Runnable r = () -> {
            System.out.println(name);
        };
        return "Greeter(" + name + ")";
    }
}
"""
JAVA_CASES = [
    ("this.name = name", ("public Greeter(", 10)),
    ('return "Greeter("', ("@Override", 18)),
    ("@Override", ("@Override", 18)),
    ("System.out.println", ("Runnable r", 16)),
    ("public class Greeter", ("@Service", 19)),
    ("private final String", ("@Service", 19)),  # a field: the class is the innermost definition
    ("import java", ("import java", "import java")),
    ("package demo", ("package demo", "package demo")),
    (1, None),
]

C = """\
#include <stdio.h>

typedef struct {
    int x;
    int y;
} Point;

static int add(int a, int b) {
    int sum = a + b;
    return sum;
}

int main(void) {
    printf("%d\\n", add(1, 2));
    return 0;
}

int values[] = {
    1, 2,
};
"""
C_CASES = [
    ("int sum", ("static int add", 10)),
    ("int x;", ("typedef struct", "} Point;")),
    ("} Point;", ("typedef struct", "} Point;")),
    ("printf", ("int main", 15)),
    ("1, 2,", ("int values", 19)),
    ("#include", ("#include", "#include")),
    (11, None),
    (1, None),
]

CPP = """\
#include <vector>

namespace geo {

template <typename T>
class Box {
 public:
  T area() const {
    auto mul = [](T a, T b) {
      return a * b;
    };
    return mul(w, h);
  }

 private:
  T w, h;
};

}  // namespace geo

int main() {
  geo::Box<int> b;
  return 0;
}
"""
CPP_CASES = [
    ("return mul", ("T area()", 12)),
    ("return a * b", ("auto mul", 10)),  # a lambda given a name
    ("class Box", ("template <typename T>", 16)),
    ("template <typename T>", ("template <typename T>", 16)),
    ("T w, h;", ("template <typename T>", 16)),
    ("geo::Box<int> b", ("int main", 23)),
    (3, None),  # inside the namespace, outside any definition
    (17, None),
]

LUA = """\
local M = {}

function M.greet(name)
  local msg = "hi " .. name
  return msg
end

local function helper()
  local inner = function(x)
    return x * 2
  end
  return inner(3)
end

M.handlers = {
  click = function() end,
}

return M
"""
LUA_CASES = [
    ("local msg", ("function M.greet", 5)),
    ("return x * 2", ("local inner", 10)),
    ("return inner(3)", ("local function helper", 12)),
    ("click = function", ("click = function", "click = function")),
    ("M.handlers = {", ("M.handlers = {", 16)),
    ("return M", ("return M", "return M")),
    ("local M = {}", ("local M = {}", "local M = {}")),
    (6, None),
]

SAMPLES = {
    "python": (PYTHON, PYTHON_CASES),
    "javascript": (JAVASCRIPT, JAVASCRIPT_CASES),
    "typescript": (TYPESCRIPT, TYPESCRIPT_CASES),
    "typescriptreact": (TSX, TSX_CASES),
    "rust": (RUST, RUST_CASES),
    "go": (GO, GO_CASES),
    "java": (JAVA, JAVA_CASES),
    "c": (C, C_CASES),
    "cpp": (CPP, CPP_CASES),
    "lua": (LUA, LUA_CASES),
}


def _line(lines: list[str], spec: int | str) -> int:
    if isinstance(spec, int):
        return spec
    found = [n for n, text in enumerate(lines) if spec in text]
    assert len(found) == 1, f"{spec!r} is on lines {found}"
    return found[0]


def _cursor(lines: list[str], spec: int | str) -> tuple[int, int]:
    if isinstance(spec, int):
        return spec, 0
    line = _line(lines, spec)
    return line, lines[line].index(spec)


SCOPE_CASES = [
    pytest.param(language, cursor, expected, id=f"{language}-{cursor}")
    for language, (_, cases) in SAMPLES.items()
    for cursor, expected in cases
]


@pytest.mark.parametrize(("language", "cursor", "expected"), SCOPE_CASES)
def test_enclosing_scope(language, cursor, expected):
    source = SAMPLES[language][0]
    lines = source.split("\n")
    line, column = _cursor(lines, cursor)
    if expected is not None:
        expected = (_line(lines, expected[0]), _line(lines, expected[1]))
    assert enclosing_scope(source, language, line, column) == expected


@pytest.mark.parametrize("language", list(SAMPLES))
def test_every_sample_parses(language):
    assert has_syntax_errors(SAMPLES[language][0], language) is False


# --------------------------------------------------------------------------- columns


@pytest.mark.parametrize(
    ("language", "source", "needle", "expected"),
    [
        # str index of `b` lies inside the string's UTF-8 bytes: a byte/char mix-up picks `a`
        ("python", 'a = "日本語🎉"; b = [\n    1,\n]\n', "b = [", (0, 2)),
        ("python", 'a = "日本語🎉"; b = [\n    1,\n]\n', "a = ", (0, 0)),
        ("javascript", 'const s = "こんにちは🎉"; function later() {\n  return s;\n}\n', "function later", (0, 2)),
        ("javascript", 'const s = "こんにちは🎉"; function later() {\n  return s;\n}\n', "const s", (0, 0)),
        ("rust", 'const A: &str = "😀😀😀😀"; fn f() {\n    g();\n}\n', "fn f", (0, 2)),
    ],
)
def test_column_is_a_str_index(language, source, needle, expected):
    line = source.split("\n")[0]
    assert enclosing_scope(source, language, 0, line.index(needle)) == expected


def test_column_in_indentation_or_past_the_end():
    source = "class A:\n    def m(self):\n        return 1\n"
    assert enclosing_scope(source, "python", 1, 0) == (1, 2)  # indentation: the code on the line
    assert enclosing_scope(source, "python", 1, 99) == (1, 2)  # past the end of the line
    assert enclosing_scope(source, "python", 1) == (1, 2)


def test_line_endings_follow_lsp():
    for newline in ("\r\n", "\r"):
        source = newline.join(["x = 1", "", "def f():", "    return 2", ""])
        assert enclosing_scope(source, "python", 3, 4) == (2, 3)
        assert enclosing_scope(source, "python", 1) is None


def test_out_of_range_line_and_unknown_language():
    assert enclosing_scope("x = 1\n", "python", 5) is None
    assert enclosing_scope("x = 1\n", "python", -1) is None
    assert enclosing_scope("x = 1\n", "cobol", 0) is None
    assert enclosing_scope("x = 1\n", "plaintext", 0, uri="file:///a/b.py") == (0, 0)


def test_stray_semicolon_belongs_to_the_code_before():
    source = "struct S {\n    int b;\n};\n"
    assert enclosing_scope(source, "c", 2, 1) == (0, 2)
    assert enclosing_scope(source, "c", 2, 2) == (0, 2)


def test_block_header_is_not_a_statement():
    source = "#ifdef FOO\nint x;\n#endif\n"
    assert enclosing_scope(source, "c", 0, len("#ifdef F")) == (0, 2)


def test_unparsable_line_outside_definitions_is_none():
    source = "x = 1\n)))) ((\ny = 2\n"
    assert enclosing_scope(source, "python", 1) is None  # the caller falls back to indentation
    assert enclosing_scope(source, "python", 2) == (2, 2)


def test_broken_code_still_finds_the_function():
    source = "def f(:\n    return 1\n"
    assert enclosing_scope(source, "python", 1, 4) == (0, 1)


# --------------------------------------------------------------------------- grammar_name


@pytest.mark.parametrize(
    ("language_id", "expected"),
    [
        ("python", "python"),
        ("Python", "python"),
        ("javascript", "javascript"),
        ("javascriptreact", "javascript"),
        ("typescript", "typescript"),
        ("typescriptreact", "tsx"),
        ("rust", "rust"),
        ("go", "go"),
        ("golang", "go"),
        ("java", "java"),
        ("c", "c"),
        ("cpp", "cpp"),
        ("c++", "cpp"),
        ("lua", "lua"),
        ("py", "python"),
        ("cobol", None),
        ("", None),
    ],
)
def test_grammar_name_for_language_ids(language_id, expected):
    assert grammar_name(language_id) == expected


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("file:///src/app.py", "python"),
        ("file:///src/stubs.pyi", "python"),
        ("file:///src/a.js", "javascript"),
        ("file:///src/a.mjs", "javascript"),
        ("file:///src/a.cjs", "javascript"),
        ("file:///src/a.jsx", "javascript"),
        ("file:///src/a.ts", "typescript"),
        ("file:///src/a.tsx", "tsx"),
        ("file:///src/main.rs", "rust"),
        ("file:///src/main.go", "go"),
        ("file:///src/Main.java", "java"),
        ("file:///src/a.c", "c"),
        ("file:///src/a.h", "c"),
        ("file:///src/a.cc", "cpp"),
        ("file:///src/a.cpp", "cpp"),
        ("file:///src/a.cxx", "cpp"),
        ("file:///src/a.hpp", "cpp"),
        ("file:///src/a.hh", "cpp"),
        ("file:///src/init.lua", "lua"),
        ("file:///src/UPPER.PY", "python"),
        ("file:///src/with%20space.rs", "rust"),
        ("/plain/path/x.go", "go"),
        ("untitled:Untitled-1", None),
        ("file:///src/notes.txt", None),
        ("file:///src/Makefile", None),
        ("", None),
    ],
)
def test_grammar_name_for_extensions(uri, expected):
    assert grammar_name("plaintext", uri) == expected


def test_language_id_wins_over_extension():
    assert grammar_name("cpp", "file:///src/a.h") == "cpp"
    assert grammar_name("typescriptreact", "file:///src/a.js") == "tsx"


# --------------------------------------------------------------------------- has_syntax_errors


@pytest.mark.parametrize(
    ("language", "valid", "broken"),
    [
        ("python", "def f(x):\n    return [x]\n", "def f(x):\n    return [x\n"),
        ("javascript", "function f() { return 1; }\n", "function f() { return 1;\n"),
        ("typescript", "const f = (x: number): number => x;\n", "const f = (x: number: number => x;\n"),
        ("typescriptreact", "const a = <div>{x}</div>;\n", "const a = <div>{x</div>;\n"),
        ("rust", "fn main() { let v = vec![1]; }\n", "fn main() { let v = vec![1]; \n"),
        ("go", "package main\nfunc main() { f(1) }\n", "package main\nfunc main() { f(1 }\n"),
        ("java", "class A { void m() { g(); } }\n", "class A { void m() { g(; } }\n"),
        ("c", "int main(void) { return (1); }\n", "int main(void) { return (1; }\n"),
        ("cpp", "int main() { return f(1); }\n", "int main() { return f(1; }\n"),
        ("lua", "local t = { 1, 2 }\n", "local t = { 1, 2\n"),
    ],
)
def test_has_syntax_errors(language, valid, broken):
    assert has_syntax_errors(valid, language) is False
    assert has_syntax_errors(broken, language) is True


def test_has_syntax_errors_without_grammar():
    assert has_syntax_errors("whatever", "cobol") is None
    assert has_syntax_errors("x = (", "plaintext", uri="file:///a.py") is True


def test_missing_grammar_wheel_means_none(monkeypatch):
    monkeypatch.setattr(syntax, "_parser", lambda grammar: None)
    assert enclosing_scope("x = 1\n", "python", 0) is None
    assert has_syntax_errors("x = 1\n", "python") is None


def test_every_grammar_loads():
    for grammar in ("python", "javascript", "typescript", "tsx", "rust", "go", "java", "c", "cpp", "lua"):
        assert syntax._parser(grammar) is not None, grammar


# --------------------------------------------------------------------------- start-up cost


def test_import_does_not_load_tree_sitter():
    code = textwrap.dedent(
        """
        import sys
        import glm_lsp.context.syntax as syntax
        assert syntax.grammar_name("python") == "python"
        loaded = sorted(name for name in sys.modules if name.startswith("tree_sitter"))
        assert not loaded, loaded
        assert syntax.has_syntax_errors("x = 1", "python") is False
        assert "tree_sitter" in sys.modules and "tree_sitter_python" in sys.modules
        assert "tree_sitter_rust" not in sys.modules  # grammars load one by one, on use
        """
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
