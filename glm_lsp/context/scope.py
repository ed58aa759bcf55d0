"""The code a request is about: the selection, or the block around an empty range.

The block is found by indentation (a fallback that works for any language): the
nearest line above with less indentation opens it, and it runs while lines are
blank or indented deeper than that opener.
"""

from __future__ import annotations

from glm_lsp.context.documents import Document

MAX_BLOCK_LINES = 200


def _indent(line: str) -> int | None:
    stripped = line.lstrip(" \t")
    return None if not stripped else len(line) - len(stripped)


def enclosing_block(doc: Document, line: int) -> tuple[int, int]:
    """(first, last) line numbers of the indentation block around ``line``."""
    line = max(0, min(line, doc.line_count - 1))
    here = _indent(doc.line(line))
    probe = line
    while here is None and probe > 0:  # on a blank line: use the code above
        probe -= 1
        here = _indent(doc.line(probe))
    if here is None:
        return line, line
    start = probe
    if here > 0:
        for n in range(probe - 1, max(-1, probe - MAX_BLOCK_LINES), -1):
            indent = _indent(doc.line(n))
            if indent is not None and indent < here:
                start = n
                break
    opener = _indent(doc.line(start)) or 0
    end = max(start, probe)
    for n in range(max(start, probe) + 1, min(doc.line_count, start + MAX_BLOCK_LINES)):
        indent = _indent(doc.line(n))
        if indent is not None and indent <= opener:
            break
        if indent is not None:
            end = n
    return start, end


_CLOSERS = (")", "]", "}")


def block_opened_by(doc: Document, line: int, max_lines: int) -> int:
    """The last line of the block ``line`` opens (a definition and its body): the lines after
    it that are blank or indented deeper, and a closing line at its own indentation (``}``,
    ``) -> int:``); trailing blank lines left out, at most ``max_lines`` lines in all."""
    opener = _indent(doc.line(line)) or 0
    last = line
    for n in range(line + 1, min(doc.line_count, line + max_lines)):
        text = doc.line(n)
        indent = _indent(text)
        if indent is None:
            continue
        if indent < opener or (indent == opener and not text.lstrip(" \t").startswith(_CLOSERS)):
            break
        last = n
    return last


def selected_code(doc: Document, rng, encoding: str) -> tuple[str, int, int]:
    """The text to act on and its first/last line: the range, or the enclosing block if empty."""
    if rng is not None:
        (sl, sc), (el, ec) = sorted(rng)
        text = doc.get_range((sl, sc), (el, ec), encoding)
        if text.strip():
            last = el - 1 if ec == 0 and sl < el < doc.line_count else el  # column 0: stops before that line
            return text, sl, min(last, doc.line_count - 1)
        line = sl
    else:
        line = 0
    first, last = enclosing_block(doc, line)
    text = "".join(doc.line_with_ending(n) for n in range(first, last + 1))
    return text, first, last


def target_lines(doc: Document, rng, encoding: str) -> tuple[int, int]:
    """(first, last) lines an edit replaces: the selection's lines, or the enclosing scope.

    A selection ending at column 0 of a line does not take that line. An empty range
    takes the innermost function/class/statement found by tree-sitter, else the
    indentation block.
    """
    if rng is not None:
        (sl, sc), (el, ec) = sorted(rng)
        if (sl, sc) != (el, ec):
            if ec == 0 and sl < el < doc.line_count:
                el -= 1  # a selection ending at column 0 of a line does not take that line
            return min(sl, doc.line_count - 1), min(el, doc.line_count - 1)
        line, column = sl, sc
    else:
        line, column = 0, 0
    from glm_lsp.context.documents import units_to_index
    from glm_lsp.context.syntax import enclosing_scope

    line = max(0, min(line, doc.line_count - 1))
    found = enclosing_scope(doc.text, doc.language_id, line, units_to_index(doc.line(line), column, encoding), doc.uri)
    if found is not None:
        return found
    return enclosing_block(doc, line)


def newline_of(doc: Document, near: int) -> str:
    """The line ending the file uses (looking at the line near the target first)."""
    for n in [near, *range(min(doc.line_count, 200))]:
        if n < doc.line_count:
            line = doc.line_with_ending(n)
            for ending in ("\r\n", "\n", "\r"):
                if line.endswith(ending):
                    return ending
    return "\n"


def indent_unit(doc: Document) -> str:
    """The file's indentation unit: a tab, or the smallest step of leading spaces seen."""
    tabs = spaces = 0
    steps: dict[int, int] = {}
    previous = 0
    for n in range(min(doc.line_count, 500)):
        line = doc.line(n)
        if not line.strip():
            continue
        if line.startswith("\t"):
            tabs += 1
            continue
        width = len(line) - len(line.lstrip(" "))
        if width:
            spaces += 1
        if width > previous:
            steps[width - previous] = steps.get(width - previous, 0) + 1
        previous = width
    if tabs > spaces:
        return "\t"
    if not steps:
        return "    "
    return " " * max(steps, key=lambda step: (steps[step], -step))
