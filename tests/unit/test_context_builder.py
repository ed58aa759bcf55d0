"""ContextBuilder: definitions from the current file while the user types."""

from __future__ import annotations

import pytest

from glm_lsp.context.builder import ContextBuilder
from glm_lsp.context.documents import Document, DocumentStore
from glm_lsp.settings import Settings

URI = "file:///w/main.py"
CODE = (
    "def shipping_quote(order_lines):\n"
    "    return sum(line.weight for line in order_lines)\n"
    "\n"
    "\n"
    "def checkout(cart):\n"
    "    total = 0\n"
)


def definitions(builder, documents, query: str) -> dict[str, int]:
    """name -> first line of each definition snippet chosen for ``query``."""
    context = builder.build(documents, documents.get(URI), query, 2000, None, Settings())
    return {s.reason.split(":")[0]: s.first_line for s in context.snippets if s.source == "definition"}


def type_at(documents, version: int, line: int, column: int, text: str) -> None:
    documents.change(URI, version, [(text, ((line, column), (line, column)))], "utf-16")


def test_typing_keeps_the_definitions_and_moved_lines_are_read_again():
    builder, documents = ContextBuilder(), DocumentStore()
    documents.open(URI, CODE, 1, "python")
    query = "    total = shipping_quote(cart.lines)"
    assert definitions(builder, documents, query) == {"shipping_quote": 0}
    type_at(documents, 2, 5, 13, " + 1")  # typing in checkout: a new version, the same lines
    assert definitions(builder, documents, query) == {"shipping_quote": 0}
    type_at(documents, 3, 0, 0, "import math\n\n")  # two lines above the definition
    assert definitions(builder, documents, query) == {"shipping_quote": 2}


def test_a_deleted_definition_is_noticed_at_once():
    builder, documents = ContextBuilder(), DocumentStore()
    documents.open(URI, CODE, 1, "python")
    query = "    total = shipping_quote(cart.lines)"
    assert definitions(builder, documents, query) == {"shipping_quote": 0}
    documents.change(URI, 2, [("def quote_for(order_lines):", ((0, 0), (0, 32)))], "utf-16")
    assert definitions(builder, documents, query) == {}


def test_a_definition_added_away_from_the_cursor_is_found_when_idle():
    builder, documents = ContextBuilder(), DocumentStore()
    documents.open(URI, CODE, 1, "python")
    query = "    total = shipping_quote(cart.lines) + handling_fee(cart)"
    assert definitions(builder, documents, query) == {"shipping_quote": 0}
    type_at(documents, 2, 3, 0, "def handling_fee(cart):\n    return 5\n")
    # while typing, the names read before are kept (the keystroke moved no line they are on)
    assert definitions(builder, documents, query) == {"shipping_quote": 0}
    builder.prepare(documents.get(URI))  # the idle pass (RedactedViews) reads the file again
    assert definitions(builder, documents, query) == {"shipping_quote": 0, "handling_fee": 3}


def test_the_indentation_unit_is_read_again_when_idle():
    builder, documents = ContextBuilder(), DocumentStore()
    doc = documents.open(URI, "def f():\n  return 1\n", 1, "python")
    assert builder.indent_unit(doc) == "  "
    documents.change(URI, 2, [("def f():\n    return 1\n", None)], "utf-16")
    assert builder.indent_unit(doc) == "  "  # typing: the unit read before
    builder.prepare(doc)
    assert builder.indent_unit(doc) == "    "


def test_an_import_typed_in_counts_once_the_editor_is_idle():
    builder, documents = ContextBuilder(), DocumentStore()
    documents.open("file:///w/pricing.py", "def discount_rate(customer):\n    return 0.1\n", 1, "python")
    current = documents.open(URI, "def final_price(order):\n    return discount_rate(order)\n", 1, "python")
    query = "    return discount_rate(order)"

    def imported_definitions() -> list[str]:
        context = builder.build(documents, current, query, 2000, None, Settings())
        return [s.path for s in context.snippets if s.reason.endswith("defined in a file this one imports")]

    assert imported_definitions() == []
    type_at(documents, 2, 0, 0, "from pricing import discount_rate\n")
    assert imported_definitions() == []  # while typing: the imports read before
    builder.prepare(current)
    assert imported_definitions() == ["pricing.py"]


@pytest.mark.parametrize("code,line,expected", [
    # a method: its own body, not the methods after it
    ("class Cart:\n    def total(self):\n        return sum(self.lines)\n\n    def tax(self):\n        return 0\n",
     1, "    def total(self):\n        return sum(self.lines)\n"),
    # a signature over several lines, closed at the definition's own indentation
    ("def quote(\n    lines,\n) -> int:\n    return len(lines)\nx = 1\n", 0,
     "def quote(\n    lines,\n) -> int:\n    return len(lines)\n"),
    # braces: the closing one is kept, the enclosing class's is not
    ("class A {\n  total() {\n    return 1;\n  }\n}\n", 1, "  total() {\n    return 1;\n  }\n"),
])
def test_a_definition_is_its_own_block(code, line, expected):
    from glm_lsp.context.builder import _definition

    assert _definition(Document("file:///w/a.py", code, 1, "python"), line) == expected
