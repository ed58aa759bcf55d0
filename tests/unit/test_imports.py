"""Tests for glm_lsp.context.imports: imported paths, lexical resolution to open files, definitions."""

from __future__ import annotations

import textwrap
import time

import pytest

from glm_lsp.context.imports import defined_names, imported_paths, resolves_to


def src(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


# --------------------------------------------------------------------------- imported_paths

IMPORTS = [
    # Python
    ("python", "import os\nimport a.b as c, d.e\n", ["os", "a.b", "d.e"]),
    ("python", "from a.b import c\n", ["a.b", "a.b.c"]),
    ("python", "from . import x, y as z\n", [".", ".x", ".y"]),
    ("python", "from .mod import thing\nfrom ..pkg.sub import *\n", [".mod", ".mod.thing", "..pkg.sub"]),
    ("python", "from pkg import (\n    one,  # comment\n    two as deux,\n)\n", ["pkg", "pkg.one", "pkg.two"]),
    ("python", "def f():\n    import json; import csv\n", ["json", "csv"]),
    ("python", "from a import \\\n    b\n", ["a", "a.b"]),
    ("python", "important = 1\nx = 'from here import there'\n# import nothing\n", []),
    ("python", "import os\nimport os\n", ["os"]),
    # JavaScript / TypeScript
    ("typescript", 'import React, { useState } from "react";\n', ["react"]),
    ("typescript", "import type { A } from './types';\nimport * as ns from '../ns';\n", ["./types", "../ns"]),
    ("javascript", 'import "./side-effect.css";\nimport x from "./x.css?inline";\n', ["./side-effect.css", "./x.css"]),
    ("javascript", 'const z = require("./z");\nconst lazy = await import("./lazy");\n', ["./z", "./lazy"]),
    ("typescriptreact", 'export * from "./all";\nexport {\n  a,\n  b as c,\n} from "./ab";\n', ["./all", "./ab"]),
    ("javascriptreact", 'export const label = "from here";\nexport default function f() {}\n', []),
    # Go
    ("go", 'package main\n\nimport "fmt"\n', ["fmt"]),
    ("go", 'import (\n\t"net/http"\n\tlog "example.com/app/log" // "not/this"\n\t_ "example.com/app/db"\n)\n', ["net/http", "example.com/app/log", "example.com/app/db"]),
    # Rust
    ("rust", "use crate::a::b;\nuse std::io::{self, Read};\n", ["crate::a::b", "std::io", "std::io::Read"]),
    ("rust", "use crate::c::{d, e::{f, self}, g as h};\n", ["crate::c::d", "crate::c::e::f", "crate::c::e", "crate::c::g"]),
    ("rust", "pub mod parser;\nmod tests {\n}\npub(crate) use super::*;\nextern crate serde;\n", ["self::parser", "super", "serde"]),
    ("rust", "use ::other::{\n    x,\n    y,\n};\n", ["other::x", "other::y"]),
    # C / C++
    ("c", '#include <stdio.h>\n#include "util.h"\n#  include "sub/dir.h"\n', ["util.h", "sub/dir.h"]),
    ("cpp", '#import "legacy.h"\n#include <vector>\n', ["legacy.h"]),
    # Java
    ("java", "import a.b.C;\nimport static a.b.D.method;\nimport a.c.*;\n", ["a.b.C", "a.b.D", "a.c.*"]),
    # Lua
    ("lua", "local x = require(\"a.b\")\nlocal y = require 'c'\nrequire \"d.e\"\n", ["a.b", "c", "d.e"]),
    # unknown language, empty text
    ("plaintext", "import os\n", []),
    ("python", "", []),
]


@pytest.mark.parametrize(("language", "text", "expected"), IMPORTS)
def test_imported_paths(language, text, expected):
    assert imported_paths(text, language) == expected


def test_imported_paths_with_crlf_and_cr_line_breaks():
    assert imported_paths("import a\r\nfrom b import c\rimport d", "python") == ["a", "b", "b.c", "d"]


# --------------------------------------------------------------------------- resolves_to

RESOLVES = [
    # Python: absolute, package __init__, stub, beside the importer, relative
    ("a.b", "file:///p/main.py", "file:///p/a/b.py", True),
    ("a.b", "file:///p/main.py", "file:///p/src/a/b.py", True),
    ("a.b", "file:///p/main.py", "file:///p/a/b/__init__.py", True),
    ("a.b", "file:///p/main.py", "file:///p/a/b.pyi", True),
    ("a.b", "file:///p/tools/main.py", "file:///p/tools/b.py", True),
    ("glm_lsp.context.documents", "file:///w/tests/test_x.py", "file:///w/glm_lsp/context/documents.py", True),
    (".mod", "file:///p/pkg/main.py", "file:///p/pkg/mod.py", True),
    (".", "file:///p/pkg/main.py", "file:///p/pkg/__init__.py", True),
    ("..util", "file:///p/pkg/sub/main.py", "file:///p/pkg/util.py", True),
    ("..util", "file:///p/pkg/sub/main.py", "file:///p/pkg/util/__init__.py", True),
    ("a.b", "file:///p/main.py", "file:///p/xa/b.py", False),
    ("a.b", "file:///p/main.py", "file:///p/a/b.js", False),
    ("a.b", "file:///p/main.py", "file:///p/a/c.py", False),
    (".mod", "file:///p/pkg/main.py", "file:///p/other/mod.py", False),
    ("..util", "file:///p/pkg/sub/main.py", "file:///p/pkg/sub/util.py", False),
    (".", "file:///p/pkg/main.py", "file:///p/__init__.py", False),
    (".mod", "untitled:Untitled-1", "file:///p/mod.py", False),
    ("a.b", "file:///p/a/b.py", "file:///p/a/b.py", False),  # never itself
    # JS/TS
    ("./x", "file:///w/src/app.ts", "file:///w/src/x.ts", True),
    ("./x", "file:///w/src/app.ts", "file:///w/src/x.tsx", True),
    ("./x", "file:///w/src/app.js", "file:///w/src/x/index.js", True),
    ("./x.js", "file:///w/src/app.ts", "file:///w/src/x.ts", True),
    ("../lib/y", "file:///w/src/app.ts", "file:///w/lib/y.d.ts", True),
    ("./styles.css", "file:///w/src/app.tsx", "file:///w/src/styles.css", True),
    ("@/lib/util", "file:///w/src/app.ts", "file:///w/src/lib/util.ts", True),
    ("src/lib/util", "file:///w/web/app.ts", "file:///w/src/lib/util.ts", True),
    ("./x", "file:///w/src/app.ts", "file:///w/x.ts", False),
    ("./x", "file:///w/src/app.ts", "file:///w/src/x.css", False),
    ("./x", "file:///w/src/app.ts", "file:///w/src/xy.ts", False),
    ("react", "file:///w/src/app.ts", "file:///w/src/react.ts", False),
    ("node:fs", "file:///w/src/app.ts", "file:///w/src/fs.ts", False),
    # Go
    ("example.com/app/store", "file:///g/cmd/main.go", "file:///g/store/db.go", True),
    ("example.com/app/store", "file:///g/cmd/main.go", "file:///g/internal/store/db_test.go", True),
    ("example.com/app/store", "file:///g/cmd/main.go", "file:///g/storage/db.go", False),
    ("example.com/app/store", "file:///g/cmd/main.go", "file:///g/store/db.py", False),
    ("errors", "file:///g/cmd/main.go", "file:///g/errors/errors.go", False),  # standard library
    # Rust
    ("crate::a::b", "file:///r/src/main.rs", "file:///r/src/a/b.rs", True),
    ("crate::a::b", "file:///r/src/x/y.rs", "file:///r/src/a/b/mod.rs", True),
    ("crate::a::b", "file:///r/src/main.rs", "file:///r/src/a.rs", True),  # b: an item of a
    ("crate::a::b", "file:///r/src/main.rs", "file:///r/src/a/mod.rs", True),
    ("crate::Thing", "file:///r/src/a/b.rs", "file:///r/src/lib.rs", True),
    ("self::parser", "file:///r/src/lib.rs", "file:///r/src/parser.rs", True),
    ("self::parser", "file:///r/src/net.rs", "file:///r/src/net/parser.rs", True),
    ("self::parser", "file:///r/src/net/mod.rs", "file:///r/src/net/parser/mod.rs", True),
    ("super::util", "file:///r/src/net/http.rs", "file:///r/src/net/util.rs", True),
    ("super::Thing", "file:///r/src/net/http.rs", "file:///r/src/net.rs", True),
    ("super::util", "file:///r/src/net/mod.rs", "file:///r/src/util.rs", True),
    ("parser::Token", "file:///r/src/lib.rs", "file:///r/src/parser.rs", True),
    ("my_core::model", "file:///ws/app/src/main.rs", "file:///ws/my-core/src/model.rs", True),
    ("crate::a::b", "file:///r/src/main.rs", "file:///r/src/b.rs", False),
    ("crate::a::b", "file:///r/src/main.rs", "file:///other/src/a/b.rs", False),
    ("self::parser", "file:///r/src/net.rs", "file:///r/src/parser.rs", False),
    ("std::io", "file:///r/src/main.rs", "file:///r/src/std/io.rs", False),
    # C / C++
    ("util.h", "file:///c/src/main.c", "file:///c/src/util.h", True),
    ("util.h", "file:///c/src/main.c", "file:///c/include/util.h", True),
    ("sub/dir.h", "file:///c/src/main.cpp", "file:///c/include/sub/dir.h", True),
    ("../inc/x.h", "file:///c/src/main.c", "file:///c/inc/x.h", True),
    ("util.h", "file:///c/src/main.c", "file:///c/src/util.c", False),
    ("sub/dir.h", "file:///c/src/main.cpp", "file:///c/include/dir.h", False),
    ("util.h", "file:///c/src/main.c", "file:///c/src/myutil.h", False),
    # Java
    ("a.b.C", "file:///j/src/main/java/x/Main.java", "file:///j/src/main/java/a/b/C.java", True),
    ("a.b.C.Inner", "file:///j/Main.java", "file:///j/a/b/C.java", True),
    ("a.b.*", "file:///j/Main.java", "file:///j/a/b/D.java", True),
    ("a.b.C", "file:///j/Main.java", "file:///j/a/C.java", False),
    ("a.b.*", "file:///j/Main.java", "file:///j/a/b/c/D.java", False),
    # Lua
    ("a.b", "file:///l/init.lua", "file:///l/a/b.lua", True),
    ("a.b", "file:///l/init.lua", "file:///l/lua/a/b/init.lua", True),
    ("a/b", "file:///l/main.lua", "file:///l/a/b.lua", True),
    ("a.b", "file:///l/init.lua", "file:///l/b.lua", False),
    # URIs: percent-encoding, Windows drive letters, no extension on the importer
    ("./my file", "file:///w/src/app.ts", "file:///w/src/my%20file.ts", True),
    ("./x", "file:///c%3A/w/app.ts", "file:///c%3A/w/x.ts", True),
    ("a.b", "untitled:Untitled-1", "file:///p/a/b.py", True),
    ("", "file:///p/main.py", "file:///p/a.py", False),
]


@pytest.mark.parametrize(("reference", "importer", "candidate", "expected"), RESOLVES)
def test_resolves_to(reference, importer, candidate, expected):
    assert resolves_to(reference, importer, candidate) is expected


def test_imported_paths_resolve_to_the_files_they_name():
    text = "from glm_lsp.context import documents\nfrom .scope import enclosing_block\n"
    importer = "file:///w/glm_lsp/context/neighbors.py"
    open_files = [
        "file:///w/glm_lsp/context/documents.py",
        "file:///w/glm_lsp/context/scope.py",
        "file:///w/glm_lsp/context/syntax.py",
        "file:///w/glm_lsp/context/__init__.py",
    ]
    refs = imported_paths(text, "python")
    hit = [f for f in open_files if any(resolves_to(r, importer, f) for r in refs)]
    assert hit == open_files[:2] + open_files[3:]  # the package __init__ too: `from glm_lsp.context import`


# --------------------------------------------------------------------------- defined_names

DEFINITIONS = [
    (
        "python",
        """
        import os

        LIMIT = 10
        config: dict[str, int] = {}

        class Store(Base):
            def load(self, key):
                def helper():
                    pass
                return key

        async def main():
            x = 1
        if LIMIT == 3:
            pass
        """,
        {"LIMIT": 2, "config": 3, "Store": 5, "load": 6, "main": 11},
    ),
    (
        "typescript",
        """
        export function parse(text: string): Node {
          return null;
        }
        export default class Parser extends Base {}
        const render = (node: Node): string => "";
        export const load = async (path) => read(path);
        let handler = function (event) {};
        const single = x => x + 1;
        const value = compute(1);
        export interface Options { a: number }
        type Alias<T> = T[];
        export enum Color { Red }
        function* walk() {}
        """,
        {"parse": 0, "Parser": 3, "render": 4, "load": 5, "handler": 6, "single": 7, "Options": 9, "Alias": 10, "Color": 11, "walk": 12},
    ),
    (
        "go",
        """
        package store

        type Store struct {
        \tdb *sql.DB
        }

        func New(db *sql.DB) *Store {
        \treturn &Store{db}
        }

        func (s *Store) Get(key string) (string, error) {
        \treturn "", nil
        }
        """,
        {"Store": 2, "New": 6, "Get": 10},
    ),
    (
        "rust",
        """
        pub struct Parser<'a> {
            text: &'a str,
        }

        impl<'a> Parser<'a> {
            pub fn new(text: &'a str) -> Self {
                Self { text }
            }
            pub(crate) async fn parse(&self) {}
        }

        impl fmt::Display for Token {
        }
        pub enum Token { A }
        trait Visit {}
        mod tests;
        macro_rules! check {
            () => {};
        }
        unsafe extern "C" fn callback() {}
        """,
        {"Parser": 0, "new": 5, "parse": 8, "Token": 11, "Visit": 14, "tests": 15, "check": 16, "callback": 19},
    ),
    (
        "c",
        """
        #include "x.h"

        static int helper(int a);

        struct point {
            int x, y;
        };

        static int
        helper(int a)
        {
            if (a) {
                return call(a);
            }
            return 0;
        }

        int main(int argc, char **argv) {
            while (argc) { argc--; }
            return helper(argc);
        }
        typedef struct node node_t;
        """,
        {"point": 4, "helper": 9, "main": 17},
    ),
    (
        "cpp",
        """
        namespace app {
        class Widget : public Base {
          public:
            void draw() const {
            }
            int size() const;
        };

        Widget::Widget(int w) : width(w) {
        }

        void Widget::resize(int w)
        {
        }
        }
        """,
        {"Widget": 1, "draw": 3, "resize": 11},
    ),
    (
        "java",
        """
        package a.b;

        import java.util.List;

        public final class Store implements Closeable {
            private final List<String> items;

            public Store(List<String> items) {
                this.items = items;
            }

            @Override
            public void close() {
            }

            static <T> List<T> copy(List<T> in) {
                return in;
            }

            abstract int size();

            interface Listener {}
        }
        """,
        {"Store": 4, "close": 12, "copy": 15, "Listener": 21},
    ),
    (
        "lua",
        """
        local M = {}

        function M.setup(opts)
        end

        local function helper()
        end

        M.run = function()
        end

        function M:method()
        end

        return M
        """,
        {"setup": 2, "helper": 5, "run": 8, "method": 11},
    ),
]


@pytest.mark.parametrize(("language", "text", "expected"), DEFINITIONS)
def test_defined_names(language, text, expected):
    assert defined_names(src(text), language) == expected


def test_defined_names_unknown_language_and_line_breaks():
    assert defined_names("def f(): pass", "plaintext") == {}
    assert defined_names("", "python") == {}
    assert defined_names("x = 1\r\ndef f():\r    pass\rdef g(): pass", "python") == {"x": 0, "f": 1, "g": 3}


def test_cpp_class_with_bases_on_several_lines():
    assert defined_names("class A : public B,\n    public C {\n};\nstruct X\n{\n};\nstruct Y;\n", "cpp") == {"A": 0, "X": 3}


# --------------------------------------------------------------------------- cost
# Unfinished statements by the thousand (a half-typed or generated file) must not make the
# scan quadratic: each case took seconds to minutes with whole-text regular expressions.

PATHOLOGICAL = [
    ("typescript", "import " * 20000),
    ("typescript", "import {\n" * 20000),
    ("typescript", "const f = (\n" * 20000),
    ("python", "from a import (\n" * 20000),
    ("go", "import (\n" * 20000),
    ("rust", "use a::{\n" * 20000),
    ("rust", "use a::" + "{" * 5000 + "b" + "}" * 5000 + ";"),
    ("cpp", "class A :\n" * 20000),
    ("c", "int f(\n" * 20000),
    ("java", "public static <" * 20000),
    ("lua", "require(" * 30000),
]


@pytest.mark.parametrize(("language", "text"), PATHOLOGICAL)
def test_pathological_text_is_scanned_in_linear_time(language, text):
    started = time.perf_counter()
    imported_paths(text, language)
    defined_names(text, language)
    assert time.perf_counter() - started < 2.0  # the worst case takes about 0.1 s on the dev machine
