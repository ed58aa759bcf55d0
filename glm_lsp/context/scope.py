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


def selected_code(doc: Document, rng, encoding: str) -> tuple[str, int, int]:
    """The text to act on and its first/last line: the range, or the enclosing block if empty."""
    if rng is not None:
        (sl, sc), (el, ec) = rng
        text = doc.get_range((sl, sc), (el, ec), encoding)
        if text.strip():
            return text, min(sl, el), max(sl, el)
        line = sl
    else:
        line = 0
    first, last = enclosing_block(doc, line)
    text = "".join(doc.line_with_ending(n) for n in range(first, last + 1))
    return text, first, last
