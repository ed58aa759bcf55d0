"""Syntax-aware scopes and syntax checks, by tree-sitter.

When a request comes with only a cursor (an empty range), its target is the
innermost named definition around the cursor (function, method, named
closure, class, struct, enum, trait, interface, impl block), else the
innermost statement on that line. :func:`enclosing_scope` finds it with a
real parser; the caller falls back to indentation blocks
(:mod:`glm_lsp.context.scope`) when it returns ``None``.
:func:`has_syntax_errors` tells whether a text parses cleanly, so that a fix
which breaks the syntax of a file that parsed before can be flagged.

Grammars: Python, JavaScript (with JSX), TypeScript, TSX, Rust, Go, Java, C,
C++ and Lua, each from its own wheel (``tree-sitter-python`` ...). The
``tree_sitter`` package and the grammars are imported on first use, never at
import time, so the server starts light; a missing or incompatible grammar
makes the functions return ``None``, never raise.

Positions. Lines are split by the LSP rule (``\\n``, ``\\r\\n``, ``\\r``) and
the text is handed to tree-sitter with ``\\n`` only, so tree-sitter rows are
LSP lines. ``column`` is a Python ``str`` index within the line; tree-sitter
columns are UTF-8 bytes, converted here.

What counts as a definition, per grammar, is a table of node types
(:data:`_RULES`). Three refinements on top of "the innermost such node":

* an anonymous function (JavaScript arrow function, Java/C++ lambda, Rust
  closure, Go ``func`` literal, Lua ``function ... end``) counts only when
  it is given a name, by a declaration, an assignment, an object/table key
  or a class field; its scope is then the whole declaration
  (``const f = () => {...};``);
* a definition's scope is widened to the nodes that wrap it: decorators
  (Python ``decorated_definition``), ``export``, ``template <...>``,
  ``typedef struct {...} T;``;
* Rust ``#[...]`` attributes and TypeScript method decorators are siblings
  of their item in the tree but belong to it, so the scope starts at the
  first of them, and a cursor on one of them means the item.

A cursor on a line whose only code is unparsable (an ERROR node outside any
definition) gets ``None``, so the caller falls back to indentation.

Comments are never part of a scope (no grammar here puts them in the node).
Python ``lambda`` is not a definition: it is an expression, and the
statement or function around it is the more useful target.
Module-like containers (Rust ``mod``, C++ ``namespace``, TypeScript
``namespace``) are not definitions: they usually span the whole file.
"""

from __future__ import annotations

import functools
import importlib
import logging
import threading
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

if TYPE_CHECKING:  # only for annotations: importing tree_sitter is deferred
    from tree_sitter import Node, Parser, Point

__all__ = ["enclosing_scope", "grammar_name", "has_syntax_errors"]

log = logging.getLogger(__name__)

# grammar name -> (module, function returning the language pointer)
_GRAMMARS: dict[str, tuple[str, str]] = {
    "python": ("tree_sitter_python", "language"),
    "javascript": ("tree_sitter_javascript", "language"),
    "typescript": ("tree_sitter_typescript", "language_typescript"),
    "tsx": ("tree_sitter_typescript", "language_tsx"),
    "rust": ("tree_sitter_rust", "language"),
    "go": ("tree_sitter_go", "language"),
    "java": ("tree_sitter_java", "language"),
    "c": ("tree_sitter_c", "language"),
    "cpp": ("tree_sitter_cpp", "language"),
    "lua": ("tree_sitter_lua", "language"),
}

# LSP languageIds (and aliases editors use) -> grammar name
_LANGUAGE_IDS: dict[str, str] = {
    "python": "python",
    "python3": "python",
    "py": "python",
    "javascript": "javascript",
    "javascriptreact": "javascript",  # tree-sitter-javascript parses JSX
    "js": "javascript",
    "jsx": "javascript",
    "typescript": "typescript",
    "ts": "typescript",
    "typescriptreact": "tsx",
    "tsx": "tsx",
    "rust": "rust",
    "rs": "rust",
    "go": "go",
    "golang": "go",
    "java": "java",
    "c": "c",
    "cpp": "cpp",
    "c++": "cpp",
    "cxx": "cpp",
    "cc": "cpp",
    "lua": "lua",
}

_EXTENSIONS: dict[str, str] = {
    ".py": "python",
    ".pyi": "python",
    ".pyw": "python",
    ".js": "javascript",
    ".mjs": "javascript",
    ".cjs": "javascript",
    ".jsx": "javascript",
    ".ts": "typescript",
    ".mts": "typescript",
    ".cts": "typescript",
    ".tsx": "tsx",
    ".rs": "rust",
    ".go": "go",
    ".java": "java",
    ".c": "c",
    ".h": "c",
    ".cc": "cpp",
    ".cpp": "cpp",
    ".cxx": "cpp",
    ".c++": "cpp",
    ".hpp": "cpp",
    ".hh": "cpp",
    ".hxx": "cpp",
    ".lua": "lua",
}


@dataclass(frozen=True)
class _Rules:
    """Node types that shape scopes in one grammar."""

    definitions: frozenset[str]  # always a named definition
    anonymous: frozenset[str] = frozenset()  # a definition only when named (see naming)
    naming: frozenset[str] = frozenset()  # parents that give an anonymous function a name
    wrappers: frozenset[str] = frozenset()  # parents a definition's scope widens to
    blocks: frozenset[str] = frozenset()  # parents whose children are statements
    needs_body: frozenset[str] = frozenset()  # definitions only with a body (C `struct S *p;` is not)
    attached: frozenset[str] = frozenset()  # preceding siblings that belong to the next definition


def _rules(
    definitions: str,
    anonymous: str = "",
    naming: str = "",
    wrappers: str = "",
    blocks: str = "",
    needs_body: str = "",
    attached: str = "",
) -> _Rules:
    """Build :class:`_Rules` from space-separated lists; naming parents are also wrappers."""
    names = frozenset(naming.split())
    return _Rules(
        definitions=frozenset(definitions.split()),
        anonymous=frozenset(anonymous.split()),
        naming=names,
        wrappers=names | frozenset(wrappers.split()),
        blocks=frozenset(blocks.split()) | {"ERROR"},  # keep statements inside broken code fine-grained
        needs_body=frozenset(needs_body.split()),
        attached=frozenset(attached.split()),
    )


_JS_DEFINITIONS = "function_declaration generator_function_declaration class_declaration method_definition"
_JS_ANONYMOUS = "function_expression function generator_function arrow_function class"
_JS_NAMING = "variable_declarator assignment_expression pair field_definition public_field_definition export_statement"
_JS_WRAPPERS = "lexical_declaration variable_declaration expression_statement export_statement"
_JS_BLOCKS = "program statement_block class_body switch_case switch_default"
_C_DEFINITIONS = "function_definition struct_specifier union_specifier enum_specifier"
_C_WRAPPERS = "type_definition declaration field_declaration"
_C_BLOCKS = (
    "translation_unit compound_statement field_declaration_list case_statement"
    " preproc_if preproc_ifdef preproc_else preproc_elif preproc_elifdef"
)

_RULES: dict[str, _Rules] = {
    "python": _rules(
        "function_definition class_definition",
        wrappers="decorated_definition",
        blocks="module block",
    ),
    "javascript": _rules(_JS_DEFINITIONS, _JS_ANONYMOUS, _JS_NAMING, _JS_WRAPPERS, _JS_BLOCKS),
    "typescript": _rules(
        _JS_DEFINITIONS + " abstract_class_declaration interface_declaration enum_declaration",
        _JS_ANONYMOUS,
        _JS_NAMING,
        _JS_WRAPPERS + " ambient_declaration",
        _JS_BLOCKS,
        attached="decorator",  # TypeScript puts a method's decorators beside it in the class body
    ),
    "rust": _rules(
        "function_item impl_item struct_item enum_item union_item trait_item macro_definition",
        anonymous="closure_expression",
        naming="let_declaration assignment_expression const_item static_item field_initializer",
        wrappers="expression_statement",
        blocks="source_file block declaration_list",
        attached="attribute_item",
    ),
    "go": _rules(
        "function_declaration method_declaration type_declaration type_spec",
        anonymous="func_literal",
        naming="short_var_declaration var_spec const_spec assignment_statement keyed_element",
        wrappers="expression_list var_declaration const_declaration literal_element",
        blocks="source_file block statement_list expression_case type_case default_case communication_case",
    ),
    "java": _rules(
        "class_declaration interface_declaration enum_declaration record_declaration annotation_type_declaration"
        " method_declaration constructor_declaration compact_constructor_declaration",
        anonymous="lambda_expression",
        naming="variable_declarator assignment_expression",
        wrappers="local_variable_declaration field_declaration expression_statement",
        blocks="program block class_body interface_body enum_body enum_body_declarations constructor_body"
        " annotation_type_body switch_block_statement_group",
    ),
    "c": _rules(
        _C_DEFINITIONS,
        wrappers=_C_WRAPPERS,
        blocks=_C_BLOCKS,
        needs_body="struct_specifier union_specifier enum_specifier",
    ),
    "cpp": _rules(
        _C_DEFINITIONS + " class_specifier",
        anonymous="lambda_expression",
        naming="init_declarator assignment_expression field_declaration",
        wrappers=_C_WRAPPERS + " template_declaration expression_statement",
        blocks=_C_BLOCKS + " declaration_list",
        needs_body="struct_specifier union_specifier enum_specifier class_specifier",
    ),
    "lua": _rules(
        "function_declaration",
        anonymous="function_definition",
        naming="assignment_statement field",
        wrappers="expression_list variable_declaration",
        blocks="chunk block",
    ),
}
_RULES["tsx"] = _RULES["typescript"]

# Children of a block that are its header, not statements in it (`#ifdef NAME`, `case VALUE:`)
_HEADER_FIELDS = ("name", "value", "condition", "type")
_WHITESPACE = " \t\f\v"
_parse_lock = threading.Lock()  # a tree-sitter Parser must not be used by two threads at once


# --------------------------------------------------------------------------- public API


def grammar_name(language_id: str, uri: str = "") -> str | None:
    """The grammar for an LSP ``languageId``, else for the file extension of ``uri``; ``None`` if none."""
    grammar = _LANGUAGE_IDS.get((language_id or "").strip().lower())
    if grammar is not None:
        return grammar
    if not uri:
        return None
    path = unquote(urlsplit(uri).path) if "://" in uri else uri
    suffix = PurePosixPath(path.replace("\\", "/")).suffix.lower()
    return _EXTENSIONS.get(suffix)


def enclosing_scope(
    text: str, language_id: str, line: int, column: int = 0, uri: str = ""
) -> tuple[int, int] | None:
    """``(first_line, last_line)``, 0-based inclusive, of the definition or statement at the cursor.

    The innermost named definition containing ``(line, column)``, with its
    decorators / attributes; else the innermost statement at that point.
    ``None`` when there is no grammar for the language, when the line is blank
    and outside any definition, or when the only thing there is unparsable.
    """
    grammar = grammar_name(language_id, uri)
    parser = None if grammar is None else _parser(grammar)
    if parser is None:
        return None
    rules = _RULES[grammar]
    lines = _lsp_lines(text)
    if not 0 <= line < len(lines):
        return None
    root = _parse(parser, "\n".join(lines)).root_node

    here = lines[line]
    content_start = len(here) - len(here.lstrip(_WHITESPACE))
    content_end = len(here.rstrip(_WHITESPACE))
    if content_start >= content_end:  # blank line: only a definition around it counts
        path = _path_to(root, (line, 0))
        return _definition_in(path, rules)

    # The character the cursor is on; from indentation or past the end, the nearest code on the line.
    index = min(max(column, content_start), content_end - 1)
    point = (line, _utf8_len(here[:index]))
    path = _path_to(root, point)
    leaf = path[-1]
    if not leaf.is_named and len(path) > 1 and _is_block(path[-2], rules):
        # A stray token of a block, like the `;` after `struct S {...}`: it belongs to the code before it.
        before = leaf.prev_sibling
        if before is not None and before.end_point[0] == line and before.end_point[1] > 0:
            path = _path_to(root, (line, before.end_point[1] - 1))

    found = _definition_in(path, rules)
    if found is not None:
        return found
    return _statement_in(path, rules)


def has_syntax_errors(text: str, language_id: str, uri: str = "") -> bool | None:
    """True if ``text`` has ERROR or MISSING nodes; ``None`` when there is no grammar for it."""
    grammar = grammar_name(language_id, uri)
    parser = None if grammar is None else _parser(grammar)
    if parser is None:
        return None
    return _parse(parser, "\n".join(_lsp_lines(text))).root_node.has_error


# --------------------------------------------------------------------------- parsing


@functools.cache
def _parser(grammar: str) -> Parser | None:
    """A parser for one grammar, built on first use; ``None`` if its wheel is missing or incompatible."""
    module_name, function = _GRAMMARS[grammar]
    try:
        import tree_sitter

        module = importlib.import_module(module_name)
        return tree_sitter.Parser(tree_sitter.Language(getattr(module, function)()))
    except (ImportError, AttributeError, TypeError, ValueError) as error:
        # ValueError: a grammar built for a newer tree-sitter ABI than the installed bindings
        log.warning("no tree-sitter grammar for %s: %s", grammar, error)
        return None


def _parse(parser: Parser, text: str):
    source = text.encode("utf-8", "surrogatepass")
    with _parse_lock:
        return parser.parse(source)


def _lsp_lines(text: str) -> list[str]:
    """Lines split at ``\\n``, ``\\r\\n`` and ``\\r``, as LSP counts them (tree-sitter counts ``\\n`` only)."""
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def _utf8_len(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


# --------------------------------------------------------------------------- scopes


def _path_to(root: Node, point: tuple[int, int]) -> list[Node]:
    """Nodes from the root down to the smallest one containing the byte at ``point`` (row, byte column)."""
    path = [root]
    node = root
    while True:
        for child in node.children:
            if tuple(child.start_point) <= point < tuple(child.end_point):
                node = child
                path.append(node)
                break
        else:
            return path


def _definition_in(path: list[Node], rules: _Rules) -> tuple[int, int] | None:
    """Lines of the innermost definition along ``path`` (root first), or ``None``."""
    for node in reversed(path):
        if _is_definition(node, rules):
            scope = _widen(node, rules)
            if scope is not None:
                return _lines_of(scope, rules)
        if node.type in rules.wrappers:
            # On a decorator, `export`, `template <...>` or `let x =`: the definition it wraps
            inner = _wrapped_definition(node, rules)
            if inner is not None:
                return _lines_of(inner, rules)
        if node.type in rules.attached and node.parent is not None:
            # On a Rust `#[...]` line: the item it is attached to
            item = node.next_named_sibling
            while item is not None and item.type in rules.attached:
                item = item.next_named_sibling
            if item is not None:
                scope = _wrapped_definition(item, rules) if item.type in rules.wrappers else None
                if scope is None and _is_definition(item, rules):
                    scope = _widen(item, rules)
                if scope is not None:
                    return _lines_of(scope, rules)
    return None


def _is_definition(node: Node, rules: _Rules) -> bool:
    if node.type in rules.definitions:
        return node.type not in rules.needs_body or node.child_by_field_name("body") is not None
    return node.type in rules.anonymous


def _widen(node: Node, rules: _Rules) -> Node | None:
    """The node whose lines are the scope of definition ``node``; ``None`` for an unnamed function.

    Climbs through wrapping parents (decorators, export, declarations...). An
    anonymous function must meet a naming parent on the way (or carry its own
    name, like ``function foo() {}`` used as an expression).
    """
    named = node.type not in rules.anonymous or node.child_by_field_name("name") is not None
    scope = node
    while scope.parent is not None and scope.parent.type in rules.wrappers:
        scope = scope.parent
        named = named or scope.type in rules.naming
    return scope if named else None


def _wrapped_definition(wrapper: Node, rules: _Rules) -> Node | None:
    """The scope of a definition found below ``wrapper`` through wrappers only, if it reaches ``wrapper``."""
    for child in wrapper.named_children:
        if _is_definition(child, rules):
            scope = _widen(child, rules)
        elif child.type in rules.wrappers:
            scope = _wrapped_definition(child, rules)
        else:
            continue
        if scope is not None and scope.start_byte <= wrapper.start_byte and wrapper.end_byte <= scope.end_byte:
            return scope
    return None


def _statement_in(path: list[Node], rules: _Rules) -> tuple[int, int] | None:
    """Lines of the innermost statement along ``path``: a named node directly in a block or the root."""
    for parent, node in zip(reversed(path[:-1]), reversed(path[1:])):
        if node.is_named and _is_block(parent, rules) and not _is_header(node, parent):
            # Unparsable code gives no statement boundaries worth trusting: let the caller fall back.
            return None if node.type == "ERROR" else _lines_of(node, rules)
    return None


def _is_block(node: Node, rules: _Rules) -> bool:
    return node.parent is None or node.type in rules.blocks


def _is_header(node: Node, parent: Node) -> bool:
    return any(parent.child_by_field_name(field) == node for field in _HEADER_FIELDS)


def _lines_of(node: Node, rules: _Rules) -> tuple[int, int]:
    """First and last line of ``node``, including the attributes attached before it."""
    first = node
    previous = node.prev_named_sibling
    while previous is not None and previous.type in rules.attached:
        first = previous
        previous = previous.prev_named_sibling
    return first.start_point[0], _last_line(node)


def _last_line(node: Node) -> int:
    end: Point = node.end_point
    # A node that ends with its newline (a line comment, say) ends at column 0 of the next line
    if end[1] == 0 and end[0] > node.start_point[0]:
        return end[0] - 1
    return end[0]
