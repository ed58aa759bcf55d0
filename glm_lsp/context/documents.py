"""Our own copy of the documents the editor has open.

Why not pygls' workspace document: it splits lines with ``str.splitlines``,
which also breaks at ``\\x0b``, ``\\x0c``, ``\\x1c``-``\\x1e``, ``\\x85``,
U+2028 and U+2029. LSP breaks lines only at ``\\n``, ``\\r\\n`` and ``\\r``,
so on a file holding any of those characters every position after them is
off, and incremental edits corrupt pygls' copy. Here lines are split by the
LSP rule only (:func:`split_lines`).

Positions are ``(line, character)`` pairs where ``character`` counts code
units of the negotiated position encoding (``utf-8``, ``utf-16`` or
``utf-32``); :func:`units_to_index` and :func:`index_to_units` convert them
to and from Python ``str`` indices.

Cost. A :class:`Document` keeps a list of lines (each with its terminator)
and a running character length. :meth:`Document.apply_change` re-splits only
the lines the edit touches and splices them into the list (a C ``memmove``
of pointers), so a keystroke costs O(edit + lines touched), not O(file).
The full text is joined lazily, only when ``.text`` is read after a change.
:meth:`Document.offset_at` (on every completion request) and
:meth:`Document.position_at` add up the lengths of blocks of :data:`_SUM_BLOCK`
lines, kept per block and updated by an edit that leaves the line count alone (a
keystroke): O(blocks + one block's lines).

This module imports only the standard library, so it stays cheap to import
and is testable without an LSP stack.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

__all__ = [
    "ENCODINGS",
    "Document",
    "DocumentStore",
    "UnknownDocumentError",
    "index_to_units",
    "split_lines",
    "units_to_index",
]

ENCODINGS = ("utf-8", "utf-16", "utf-32")

# The only line breaks LSP knows. "\r\n" first so a CRLF is one break.
_BREAK = re.compile(r"(\r\n|\r|\n)")

Position = Sequence[int]  # (line, character)

_SUM_BLOCK = 256  # lines per kept length sum (offset_at, position_at)


def split_lines(text: str) -> list[str]:
    """Split ``text`` at LSP line breaks, keeping each line's terminator.

    The result always ends with the last, unterminated line, which may be
    empty: ``"a\\n"`` -> ``["a\\n", ""]``, ``""`` -> ``[""]``.
    """
    # re.split with a capturing group gives [line, sep, line, sep, ..., line].
    parts = _BREAK.split(text)
    lines = [a + b for a, b in zip(parts[0::2], parts[1::2])]
    lines.append(parts[-1])
    return lines


def _strip_ending(line: str) -> str:
    if line.endswith("\r\n"):
        return line[:-2]
    if line.endswith(("\r", "\n")):
        return line[:-1]
    return line


def _check_encoding(encoding: str) -> None:
    if encoding not in ENCODINGS:
        raise ValueError(f"unknown position encoding {encoding!r}; expected one of {ENCODINGS}")


def _width(ch: str, encoding: str) -> int:
    """Code units of one character (lone surrogates count as surrogatepass encodes them)."""
    cp = ord(ch)
    if encoding == "utf-16":
        return 2 if cp > 0xFFFF else 1
    if cp < 0x80:
        return 1
    if cp < 0x800:
        return 2
    if cp < 0x10000:
        return 3
    return 4


def _units_to_index_slow(line: str, units: int, encoding: str) -> int:
    count = 0
    for i, ch in enumerate(line):
        if count >= units:
            return i
        count += _width(ch, encoding)
        if count > units:  # the position falls inside this character: snap to its start
            return i
    return len(line)


def units_to_index(line: str, units: int, encoding: str) -> int:
    """Convert a character offset in code units of ``encoding`` into a ``str`` index.

    ``line`` is the line text without its terminator. Past the end gives
    ``len(line)``; negative gives 0; a position inside a UTF-16 surrogate
    pair or a multibyte UTF-8 sequence snaps to the start of that character.
    """
    _check_encoding(encoding)
    if units <= 0:
        return 0
    if encoding == "utf-32" or line.isascii():
        return min(units, len(line))
    # Every character is at least one code unit, so the first `units`
    # characters cover the position: encoding only them keeps this O(units).
    head = line[:units]
    codec = "utf-8" if encoding == "utf-8" else "utf-16-le"
    size = 1 if encoding == "utf-8" else 2
    try:
        data = head.encode(codec)
    except UnicodeEncodeError:  # lone surrogates: take the slow, exact path
        return _units_to_index_slow(line, units, encoding)
    # Decoding a truncated prefix with "ignore" drops a cut-off trailing
    # character, which is exactly the snap-to-start rule.
    return len(data[: units * size].decode(codec, "ignore"))


def index_to_units(line: str, index: int, encoding: str) -> int:
    """Convert a ``str`` index in ``line`` into code units of ``encoding``.

    ``index`` is clamped to ``[0, len(line)]``.
    """
    _check_encoding(encoding)
    index = max(0, min(index, len(line)))
    if encoding == "utf-32" or line.isascii():
        return index
    head = line[:index]
    if encoding == "utf-8":
        return len(head.encode("utf-8", "surrogatepass"))
    return len(head.encode("utf-16-le", "surrogatepass")) // 2


class UnknownDocumentError(LookupError):
    """A request named a document the editor has not opened (or has closed)."""

    def __init__(self, uri: str) -> None:
        super().__init__(
            f"{uri} is not open in the editor; glm-lsp only reads documents the editor "
            "has opened (open the file and try again)."
        )
        self.uri = uri


class Document:
    """One open text document, kept as a list of LSP lines (terminators included)."""

    def __init__(self, uri: str, text: str, version: int | None = None, language_id: str = "") -> None:
        self.uri = uri
        self.language_id = language_id
        self.version = version
        self._lines: list[str] = split_lines(text)
        self._length = len(text)
        self._text: str | None = text  # cache; None after a change until asked for
        self._sums: list[int] | None = None  # length of each _SUM_BLOCK lines; None until asked for

    def __repr__(self) -> str:
        return f"Document({self.uri!r}, version={self.version!r}, lines={len(self._lines)}, length={self._length})"

    @property
    def text(self) -> str:
        if self._text is None:
            self._text = "".join(self._lines)
        return self._text

    @property
    def length(self) -> int:
        return self._length

    @property
    def line_count(self) -> int:
        return len(self._lines)

    def line(self, n: int) -> str:
        """Line ``n`` without its terminator."""
        return _strip_ending(self.line_with_ending(n))

    def line_with_ending(self, n: int) -> str:
        if not 0 <= n < len(self._lines):
            raise IndexError(f"line {n} out of range (document has {len(self._lines)} lines)")
        return self._lines[n]

    def _locate(self, line: int, character: int, encoding: str) -> tuple[int, int]:
        """Clamp a client position to ``(line number, str index within that line)``.

        The index never points into or past the line's terminator, except that
        a line past the end maps to the very end of the document.
        """
        _check_encoding(encoding)
        last = len(self._lines) - 1
        line = max(line, 0)
        if line > last:
            return last, len(self._lines[last])
        content = _strip_ending(self._lines[line])
        return line, units_to_index(content, character, encoding)

    def _block_sums(self) -> list[int]:
        if self._sums is None:
            lines = self._lines
            self._sums = [sum(map(len, lines[i : i + _SUM_BLOCK])) for i in range(0, len(lines), _SUM_BLOCK)]
        return self._sums

    def line_start(self, n: int) -> int:
        """The offset in :attr:`text` where line ``n`` starts (``n`` in 0..line_count)."""
        block = n // _SUM_BLOCK
        return sum(self._block_sums()[:block]) + sum(map(len, self._lines[block * _SUM_BLOCK : n]))

    def lines_text(self, first: int, end: int) -> str:
        """Lines ``first``..``end - 1`` with their terminators: a part of :attr:`text` without
        building the whole of it (after a change, joining a big file's lines costs per request)."""
        return "".join(self._lines[first:end])

    def offset_at(self, line: int, character: int, encoding: str = "utf-16") -> int:
        """Absolute ``str`` index in :attr:`text` of a (clamped) client position."""
        n, index = self._locate(line, character, encoding)
        return self.line_start(n) + index

    def position_at(self, offset: int, encoding: str = "utf-16") -> tuple[int, int]:
        """``(line, character in code units)`` of an absolute ``str`` index (clamped)."""
        _check_encoding(encoding)
        lines = self._lines
        offset = max(0, min(offset, self._length))
        # Skip whole blocks of lines by their kept sums (never the last one), then walk one block.
        n = start = 0
        for size in self._block_sums():
            if n + _SUM_BLOCK >= len(lines) or start + size > offset:
                break
            n += _SUM_BLOCK
            start += size
        while n < len(lines) - 1 and start + len(lines[n]) <= offset:
            start += len(lines[n])
            n += 1
        content = _strip_ending(lines[n])
        # min() maps an offset between "\r" and "\n" of a CRLF to the line's end.
        index = min(offset - start, len(content))
        return n, index_to_units(content, index, encoding)

    def get_range(self, start: Position, end: Position, encoding: str = "utf-16") -> str:
        """The text between two client positions (swapped if ``end`` is before ``start``)."""
        (l1, i1), (l2, i2) = sorted((self._locate(*start, encoding), self._locate(*end, encoding)))
        if l1 == l2:
            return self._lines[l1][i1:i2]
        return self._lines[l1][i1:] + "".join(self._lines[l1 + 1 : l2]) + self._lines[l2][:i2]

    def apply_change(
        self,
        text: str,
        range: tuple[Position, Position] | None = None,
        encoding: str = "utf-16",
    ) -> None:
        """Apply one LSP content change: replace ``range`` (or everything) with ``text``."""
        if range is None:
            self._lines = split_lines(text)
            self._length = len(text)
            self._text = text
            self._sums = None
            return

        lines = self._lines
        start, end = range
        (l1, i1), (l2, i2) = sorted((self._locate(*start, encoding), self._locate(*end, encoding)))
        # The spliced piece covers whole lines l1..l2, so it ends with line l2's
        # own terminator (the index never points past the line content).
        piece = lines[l1][:i1] + text + lines[l2][i2:]
        # A piece starting with "\n" after a line ending in a lone "\r" turns
        # the two into one CRLF break: re-split the previous line too.
        if l1 > 0 and piece.startswith("\n") and lines[l1 - 1].endswith("\r"):
            l1 -= 1
            piece = lines[l1] + piece
        # (The other edge is safe: the piece ends with line l2's unchanged
        # terminator, and a line after a lone "\r" never starts with "\n".)
        new_lines = split_lines(piece)
        if l2 < len(lines) - 1:
            # The piece ends with a terminator, so the split ends with an empty
            # line; the real line after it is lines[l2 + 1], which we keep.
            new_lines.pop()
        old_length = sum(map(len, lines[l1 : l2 + 1]))
        if self._sums is not None:
            if len(new_lines) == l2 - l1 + 1 and l1 // _SUM_BLOCK == l2 // _SUM_BLOCK:
                self._sums[l1 // _SUM_BLOCK] += len(piece) - old_length  # (lines stay in their blocks)
            else:
                self._sums = None
        lines[l1 : l2 + 1] = new_lines
        self._length += len(piece) - old_length
        self._text = None


def lines_replaced(doc: Document, changes) -> tuple[int, list[str]] | None:
    """For LSP content changes (``(text, range or None)``, as DocumentStore.change takes them)
    that are one ranged edit, before it is applied to ``doc``: its first line and the lines it
    replaces (with terminators); None for anything else."""
    if len(changes) != 1 or changes[0][1] is None:
        return None
    (start_line, _), (end_line, _) = sorted(changes[0][1])
    first, last = max(0, start_line), min(max(0, end_line), doc.line_count - 1)
    if first > last:
        return None  # (a range past the end, which apply_change moves to the end: left out)
    if "\r" in changes[0][0] or (first and doc.line_with_ending(first - 1).endswith("\r")):
        return None  # (a "\n" after a lone "\r" makes apply_change join the line above: left out)
    return first, [doc.line_with_ending(n) for n in range(first, last + 1)]


class DocumentStore:
    """The documents the editor has open, by URI."""

    def __init__(self) -> None:
        self._docs: dict[str, Document] = {}

    def open(self, uri: str, text: str, version: int | None = None, language_id: str = "") -> Document:
        doc = Document(uri, text, version=version, language_id=language_id)
        self._docs[uri] = doc
        return doc

    def change(
        self,
        uri: str,
        version: int | None,
        changes: list[tuple[str, tuple[Position, Position] | None]],
        encoding: str = "utf-16",
    ) -> Document:
        """Apply LSP content changes in order (each range refers to the result of the previous one)."""
        doc = self.get(uri)
        for text, range_ in changes:
            doc.apply_change(text, range_, encoding)
        doc.version = version
        return doc

    def close(self, uri: str) -> None:
        self._docs.pop(uri, None)

    def get(self, uri: str) -> Document:
        try:
            return self._docs[uri]
        except KeyError:
            raise UnknownDocumentError(uri) from None

    def __contains__(self, uri: object) -> bool:
        return uri in self._docs

    def __iter__(self) -> Iterator[Document]:
        return iter(list(self._docs.values()))

    def __len__(self) -> int:
        return len(self._docs)
