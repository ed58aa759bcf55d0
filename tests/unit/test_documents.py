"""Tests for glm_lsp.context.documents: LSP line splitting, position encodings, incremental edits."""

from __future__ import annotations

import random
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from glm_lsp.context import documents
from glm_lsp.context.documents import (
    ENCODINGS,
    Document,
    DocumentStore,
    UnknownDocumentError,
    index_to_units,
    split_lines,
    units_to_index,
)

# --------------------------------------------------------------------------- reference model
# Slow and obviously correct: a character-by-character scan of the whole string.


def ref_lines(text: str) -> list[str]:
    """LSP lines with terminators, by scanning one character at a time."""
    lines, current, i = [], "", 0
    while i < len(text):
        ch = text[i]
        if ch == "\r" and i + 1 < len(text) and text[i + 1] == "\n":
            lines.append(current + "\r\n")
            current, i = "", i + 2
        elif ch in "\r\n":
            lines.append(current + ch)
            current, i = "", i + 1
        else:
            current += ch
            i += 1
    lines.append(current)
    return lines


def ref_content(line: str) -> str:
    return line.rstrip("\r\n")  # at most one terminator per line, so this is exact


def ref_width(ch: str, encoding: str) -> int:
    if encoding == "utf-32":
        return 1
    if encoding == "utf-16":
        return len(ch.encode("utf-16-le")) // 2
    return len(ch.encode("utf-8"))


def ref_offset(text: str, line: int, character: int, encoding: str) -> int:
    lines = ref_lines(text)
    line, character = max(line, 0), max(character, 0)
    if line >= len(lines):
        return len(text)
    start = sum(len(x) for x in lines[:line])
    units = 0
    for i, ch in enumerate(ref_content(lines[line])):
        w = ref_width(ch, encoding)
        if units + w > character:  # at or inside this character: its start
            return start + i
        units += w
    return start + len(ref_content(lines[line]))


def ref_apply(text: str, new: str, rng, encoding: str) -> str:
    a = ref_offset(text, *rng[0], encoding)
    b = ref_offset(text, *rng[1], encoding)
    a, b = min(a, b), max(a, b)
    return text[:a] + new + text[b:]


def assert_matches(doc: Document, reference: str) -> None:
    assert doc.text == reference
    assert doc.length == len(reference)
    lines = ref_lines(reference)
    assert doc.line_count == len(lines)
    for i, line in enumerate(lines):
        assert doc.line_with_ending(i) == line
        assert doc.line(i) == ref_content(line)


# --------------------------------------------------------------------------- split_lines


@pytest.mark.parametrize(
    "text, expected",
    [
        ("", [""]),
        ("a", ["a"]),
        ("a\n", ["a\n", ""]),
        ("a\r\n", ["a\r\n", ""]),
        ("a\r", ["a\r", ""]),
        ("a\r\nb\rc\nd", ["a\r\n", "b\r", "c\n", "d"]),
        ("\n\n", ["\n", "\n", ""]),
        ("\r\r\n", ["\r", "\r\n", ""]),
        ("\n\r", ["\n", "\r", ""]),
        ("\r\n\r\n", ["\r\n", "\r\n", ""]),
        ("a\x0cb", ["a\x0cb"]),
        ("a\x0bb", ["a\x0bb"]),
        ("a\x1cb\x1dc\x1ed", ["a\x1cb\x1dc\x1ed"]),
        ("a\x85b", ["a\x85b"]),
        ("a\u2028b\u2029c", ["a\u2028b\u2029c"]),
        ("x\x0c\ny\u2028\r\nz", ["x\x0c\n", "y\u2028\r\n", "z"]),
    ],
)
def test_split_lines(text, expected):
    assert split_lines(text) == expected
    assert split_lines(text) == ref_lines(text)
    assert "".join(split_lines(text)) == text


# --------------------------------------------------------------------------- unit conversions

EMOJI = "😀"  # 4 UTF-8 bytes, 2 UTF-16 units, 1 code point
CJK = "中"  # 3 UTF-8 bytes, 1 UTF-16 unit


@pytest.mark.parametrize(
    "line, units, encoding, index",
    [
        ("abc", 0, "utf-16", 0),
        ("abc", 2, "utf-16", 2),
        ("abc", 99, "utf-16", 3),
        ("abc", -5, "utf-8", 0),
        # CJK: 1 UTF-16 unit, 3 UTF-8 bytes
        ("a中b", 1, "utf-16", 1),
        ("a中b", 2, "utf-16", 2),
        ("a中b", 3, "utf-16", 3),
        ("a中b", 4, "utf-8", 2),
        ("a中b", 5, "utf-8", 3),
        ("a中b", 2, "utf-8", 1),  # inside the 3-byte sequence: snaps to its start
        ("a中b", 3, "utf-8", 1),
        ("a中b", 2, "utf-32", 2),
        # emoji: 2 UTF-16 units, 4 UTF-8 bytes, 1 code point
        ("a😀b", 3, "utf-16", 2),
        ("a😀b", 2, "utf-16", 1),  # inside the surrogate pair: snaps to its start
        ("a😀b", 4, "utf-16", 3),
        ("a😀b", 5, "utf-8", 2),
        ("a😀b", 2, "utf-8", 1),
        ("a😀b", 4, "utf-8", 1),
        ("a😀b", 6, "utf-8", 3),
        ("a😀b", 2, "utf-32", 2),
        ("a😀b", 9, "utf-32", 3),
        ("😀😀", 1, "utf-16", 0),
        ("😀😀", 3, "utf-16", 1),
        ("😀😀", 7, "utf-8", 1),
        ("😀😀", 100, "utf-8", 2),
        ("é", 1, "utf-8", 0),
        ("é", 2, "utf-8", 1),
        ("\ud800x", 1, "utf-16", 1),  # lone surrogate: one UTF-16 unit
        ("\ud800x", 3, "utf-8", 1),  # ... and three bytes as surrogatepass encodes it
    ],
)
def test_units_to_index(line, units, encoding, index):
    assert units_to_index(line, units, encoding) == index


@pytest.mark.parametrize(
    "line, index, encoding, units",
    [
        ("abc", 2, "utf-8", 2),
        ("abc", 9, "utf-16", 3),
        ("abc", -1, "utf-16", 0),
        ("a中b", 2, "utf-8", 4),
        ("a中b", 2, "utf-16", 2),
        ("a中b", 3, "utf-8", 5),
        ("a😀b", 2, "utf-16", 3),
        ("a😀b", 2, "utf-8", 5),
        ("a😀b", 2, "utf-32", 2),
        ("a😀b", 3, "utf-16", 4),
        ("\ud800x", 1, "utf-8", 3),
    ],
)
def test_index_to_units(line, index, encoding, units):
    assert index_to_units(line, index, encoding) == units


@given(st.text(alphabet="ab é中😀\t\x0c"), st.sampled_from(ENCODINGS))
def test_units_round_trip(line, encoding):
    for i in range(len(line) + 1):
        assert units_to_index(line, index_to_units(line, i, encoding), encoding) == i


def test_unknown_encoding_rejected():
    with pytest.raises(ValueError):
        units_to_index("abc", 1, "latin-1")
    with pytest.raises(ValueError):
        Document("u", "abc").offset_at(0, 1, "utf8")


# --------------------------------------------------------------------------- offsets and positions


def test_offset_at_clamps():
    doc = Document("u", "ab\r\ncd\n😀x")
    assert doc.offset_at(0, 0) == 0
    assert doc.offset_at(0, 2) == 2
    assert doc.offset_at(0, 99) == 2  # past the line's end: before its CRLF
    assert doc.offset_at(1, 0) == 4
    assert doc.offset_at(1, 99) == 6
    assert doc.offset_at(2, 1) == 7  # inside the surrogate pair
    assert doc.offset_at(2, 2) == 8
    assert doc.offset_at(2, 99) == 9
    assert doc.offset_at(3, 0) == 9  # past the last line: end of text
    assert doc.offset_at(99, 5) == 9
    assert doc.offset_at(-1, -1) == 0
    assert doc.offset_at(1, -3) == 4
    assert doc.offset_at(2, 4, "utf-8") == 8
    assert doc.offset_at(2, 3, "utf-8") == 7  # inside the 4-byte sequence
    assert doc.offset_at(2, 5, "utf-8") == 9
    assert doc.offset_at(2, 1, "utf-32") == 8


def test_offset_at_trailing_terminator():
    doc = Document("u", "a\n")
    assert doc.line_count == 2
    assert doc.offset_at(1, 0) == 2
    assert doc.offset_at(5, 0) == 2


def test_position_at():
    doc = Document("u", "ab\r\ncd\r😀x")
    assert doc.position_at(0) == (0, 0)
    assert doc.position_at(2) == (0, 2)
    assert doc.position_at(3) == (0, 2)  # between "\r" and "\n" of the CRLF
    assert doc.position_at(4) == (1, 0)
    assert doc.position_at(6) == (1, 2)
    assert doc.position_at(7) == (2, 0)
    assert doc.position_at(8) == (2, 2)
    assert doc.position_at(8, "utf-8") == (2, 4)
    assert doc.position_at(8, "utf-32") == (2, 1)
    assert doc.position_at(9) == (2, 3)
    assert doc.position_at(99) == (2, 3)
    assert doc.position_at(-4) == (0, 0)
    assert Document("u", "a\n").position_at(2) == (1, 0)
    assert Document("u", "").position_at(0) == (0, 0)


def test_position_offset_round_trip():
    text = "a中\r\n😀b\rc\x0cd\u2028e\n\n"
    doc = Document("u", text)
    for enc in ENCODINGS:
        for off in range(len(text) + 1):
            if 0 < off < len(text) and text[off - 1 : off + 1] == "\r\n":
                continue
            assert doc.offset_at(*doc.position_at(off, enc), enc) == off


def test_position_at_many_lines():
    # More lines than position_at sums in one block, with every kind of ending.
    rnd = random.Random(7)
    text = "".join(rnd.choice(["", "a", "中", "😀é"]) + rnd.choice(["\n", "\r\n", "\r"]) for _ in range(5000)) + "end"
    doc = Document("u", text)
    offsets = list(range(0, 40)) + [rnd.randrange(len(text) + 1) for _ in range(300)] + [len(text) - 1, len(text)]
    for off in offsets:
        for enc in ENCODINGS:
            line, units = doc.position_at(off, enc)
            if 0 < off < len(text) and text[off - 1 : off + 1] == "\r\n":
                off -= 1  # between CR and LF: the end of that line
            assert (line, units) == _fast_ref_position(text, off, enc)
            assert doc.offset_at(line, units, enc) == off


def test_lines_and_index_error():
    doc = Document("u", "a\x0cb\r\nc\u2028d\re\x85")
    assert doc.line_count == 3
    assert doc.line(0) == "a\x0cb"
    assert doc.line_with_ending(0) == "a\x0cb\r\n"
    assert doc.line(1) == "c\u2028d"
    assert doc.line(2) == "e\x85"
    with pytest.raises(IndexError):
        doc.line(3)
    with pytest.raises(IndexError):
        doc.line(-1)


def test_get_range():
    doc = Document("u", "ab\r\ncd\r😀x")
    assert doc.get_range((0, 1), (1, 1)) == "b\r\nc"
    assert doc.get_range((1, 1), (0, 1)) == "b\r\nc"  # swapped
    assert doc.get_range((0, 0), (99, 0)) == doc.text
    assert doc.get_range((2, 0), (2, 2)) == "😀"
    assert doc.get_range((2, 0), (2, 4), "utf-8") == "😀"
    assert doc.get_range((0, 5), (1, 0)) == "\r\n"


# --------------------------------------------------------------------------- edits at CR/LF boundaries


def check_edit(text, new, rng, encoding="utf-16"):
    doc = Document("u", text)
    doc.apply_change(new, rng, encoding)
    assert_matches(doc, ref_apply(text, new, rng, encoding))
    return doc


def test_delete_between_cr_and_lf_merges_into_crlf():
    doc = check_edit("a\rb\nc", "", ((1, 0), (1, 1)))
    assert doc.text == "a\r\nc"
    assert doc.line_count == 2


def test_insert_lf_after_lone_cr_merges():
    doc = check_edit("a\rb", "\n", ((1, 0), (1, 0)))
    assert doc.text == "a\r\nb"
    assert doc.line_count == 2
    assert doc.line(0) == "a"


def test_insert_lf_after_lone_cr_on_last_empty_line():
    doc = check_edit("a\r", "\n", ((1, 0), (1, 0)))
    assert doc.text == "a\r\n"
    assert doc.line_count == 2


def test_insert_cr_before_line_starting_with_lf():
    doc = check_edit("a\n\nb", "\r", ((1, 0), (1, 0)))
    assert doc.text == "a\n\r\nb"
    assert doc.line_count == 3
    doc = check_edit("a\nb", "\r", ((0, 1), (0, 1)))
    assert doc.text == "a\r\nb"
    assert doc.line_count == 2


def test_delete_text_between_cr_and_crlf_lines():
    doc = check_edit("x\ry\r\nz", "", ((1, 0), (1, 1)))
    assert doc.text == "x\r\r\nz"
    assert doc.line_count == 3


def test_delete_across_lines_brings_lf_next_to_cr():
    doc = check_edit("a\rb\nc\nd", "", ((1, 0), (2, 1)))
    assert doc.text == "a\r\nd"
    assert doc.line_count == 2


def test_replace_crlf_splits_into_two_breaks():
    doc = check_edit("a\r\nb", "\rX\n", ((0, 1), (1, 0)))
    assert doc.text == "a\rX\nb"
    assert doc.line_count == 3


def test_insert_multiple_lines_in_middle():
    check_edit("one\ntwo\r\nthree", "A\r\nB\rC\nD", ((1, 1), (1, 2)))


def test_edit_with_end_before_start_swaps():
    doc = check_edit("hello\nworld", "", ((1, 2), (0, 3)))
    assert doc.text == "helrld"


def test_edit_past_end_appends():
    doc = check_edit("ab\ncd", "!", ((10, 0), (20, 3)))
    assert doc.text == "ab\ncd!"


def test_edits_in_other_encodings():
    doc = check_edit("a😀b\n中x", "Z", ((0, 5), (1, 3)), "utf-8")
    assert doc.text == "a😀Zx"
    doc = check_edit("a😀b", "Z", ((0, 1), (0, 2)), "utf-32")
    assert doc.text == "aZb"


def test_whole_document_change():
    doc = Document("u", "old\ntext", version=1)
    doc.apply_change("new\r\ncontent\u2028here\r")
    assert_matches(doc, "new\r\ncontent\u2028here\r")
    doc.apply_change("", None)
    assert_matches(doc, "")
    doc.apply_change("x", ((0, 0), (0, 0)))
    assert_matches(doc, "x")


# --------------------------------------------------------------------------- property test

ALPHABET = ["a", "b", " ", "é", "中", "😀", "\n", "\r", "\r\n", "\x0c", "\u2028", "\x85", "\t"]
texts = st.lists(st.sampled_from(ALPHABET), max_size=40).map("".join)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(start=texts, data=st.data(), sum_block=st.sampled_from([1, 2, 3, 256]))
def test_random_edits_match_reference(start, data, sum_block):
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(documents, "_SUM_BLOCK", sum_block)  # small blocks: edits cross their edges
        _random_edits_match_reference(start, data)


def _random_edits_match_reference(start, data):
    doc = Document("file:///t", start)
    reference = start
    assert_matches(doc, reference)
    for _ in range(data.draw(st.integers(1, 30), label="edits")):
        lines = ref_lines(reference)
        widest = max(len(line.encode("utf-8")) for line in lines)  # >= units in any encoding

        def position():
            return (
                data.draw(st.integers(-1, len(lines) + 1)),
                data.draw(st.integers(-1, widest + 2)),
            )

        encoding = data.draw(st.sampled_from(ENCODINGS))
        rng = (position(), position())
        new = data.draw(texts.filter(lambda s: len(s) <= 12) | st.just(""))
        expected = ref_apply(reference, new, rng, encoding)
        before = [doc.line_with_ending(n) for n in range(doc.line_count)]
        replaced = documents.lines_replaced(doc, [(new, rng)])
        doc.apply_change(new, rng, encoding)
        reference = expected
        assert_matches(doc, reference)
        if replaced is not None:  # the lines around the ones it names are the same, moved
            first, old = replaced
            after = [doc.line_with_ending(n) for n in range(doc.line_count)]
            moved = len(after) - len(before)
            assert old == before[first : first + len(old)]
            assert after[:first] == before[:first]
            assert after[first + len(old) + moved :] == before[first + len(old) :]
        # Absolute offsets agree with the reference too (the kept block sums follow the edits).
        assert doc.offset_at(*rng[0], encoding) == ref_offset(reference, *rng[0], encoding)
        for line in range(doc.line_count):
            assert doc.offset_at(line, 0, encoding) == ref_offset(reference, line, 0, encoding)
            assert doc.position_at(ref_offset(reference, line, 0, encoding), encoding) == (line, 0)


# --------------------------------------------------------------------------- store


def test_store_open_change_close():
    store = DocumentStore()
    uri = "file:///a.py"
    assert uri not in store and len(store) == 0
    doc = store.open(uri, "x = 1\n", version=1, language_id="python")
    assert uri in store and len(store) == 1
    assert store.get(uri) is doc
    assert doc.language_id == "python" and doc.version == 1
    assert list(store) == [doc]

    changed = store.change(
        uri,
        2,
        [("y", ((0, 0), (0, 1))), ("\nz = 2", ((1, 0), (1, 0))), ("!", ((0, 0), (0, 0)))],
    )
    assert changed is doc
    assert doc.version == 2
    assert doc.text == "!y = 1\n\nz = 2"
    store.change(uri, 3, [("whole", None)])
    assert doc.text == "whole" and doc.version == 3
    store.change(uri, 4, [("é", ((0, 2), (0, 3)))], encoding="utf-8")
    assert doc.text == "whéle"

    store.close(uri)
    assert uri not in store and len(store) == 0
    store.close(uri)  # closing twice is a no-op
    store.close("file:///never-opened")


def test_store_unknown_document():
    store = DocumentStore()
    uri = "file:///missing.py"
    with pytest.raises(UnknownDocumentError) as info:
        store.get(uri)
    assert info.value.uri == uri
    assert str(info.value) == (
        f"{uri} is not open in the editor; glm-lsp only reads documents the editor has opened "
        "(open the file and try again)."
    )
    assert isinstance(info.value, LookupError)
    with pytest.raises(UnknownDocumentError, match="missing.py"):
        store.change(uri, 1, [("x", None)])


def test_store_reopen_replaces():
    store = DocumentStore()
    store.open("u", "one", version=1)
    doc = store.open("u", "two", version=5)
    assert store.get("u") is doc and doc.text == "two" and len(store) == 1


# --------------------------------------------------------------------------- large document


def _make_big_text(rnd: random.Random, target: int) -> str:
    words = ["alpha", "beta", "中文字符", "😀", "é", "x = 1", "\t", "\x0c", "\u2028"]
    endings = ["\n", "\r\n", "\r"]
    pool = [" ".join(rnd.choices(words, k=rnd.randint(0, 12))) + rnd.choice(endings) for _ in range(5000)]
    average = sum(map(len, pool)) / len(pool)
    return "".join(rnd.choices(pool, k=int(target / average) + 1))


def _fast_ref_position(text: str, offset: int, encoding: str) -> tuple[int, int]:
    """(line, units) of an offset not inside a CRLF, from counts on the prefix (C speed, independent of the module)."""
    line = text.count("\n", 0, offset) + text.count("\r", 0, offset) - text.count("\r\n", 0, offset)
    start = max(text.rfind("\n", 0, offset), text.rfind("\r", 0, offset)) + 1
    head = text[start:offset]
    if encoding == "utf-8":
        units = len(head.encode("utf-8"))
    elif encoding == "utf-16":
        units = len(head.encode("utf-16-le")) // 2
    else:
        units = len(head)
    return line, units


def test_big_document_random_single_char_edits(monkeypatch):
    rnd = random.Random(1234)
    reference = _make_big_text(rnd, 5_000_000)
    doc = Document("file:///big.txt", reference)
    assert doc.length == len(reference)

    # Edits must only re-split what they touch, never the whole document.
    split_sizes = []
    real_split = documents.split_lines

    def spy(text):
        split_sizes.append(len(text))
        return real_split(text)

    monkeypatch.setattr(documents, "split_lines", spy)

    def boundary(offset):
        if 0 < offset < len(reference) and reference[offset - 1] == "\r" and reference[offset] == "\n":
            offset -= 1  # not addressable by a position: step back before the CRLF
        return offset

    for _ in range(200):
        encoding = rnd.choice(ENCODINGS)
        start = boundary(rnd.randint(0, len(reference)))
        if rnd.random() < 0.5:
            end, new = start, rnd.choice(["a", "中", "😀", "\n", "\r", "\x0c", "é"])
        else:
            end = start + 1 if start < len(reference) else start
            if reference[start:end] == "\r" and reference[end : end + 1] == "\n":
                end += 1
            new = rnd.choice(["", "b", "\r", "\n"])
        rng = (_fast_ref_position(reference, start, encoding), _fast_ref_position(reference, end, encoding))
        doc.apply_change(new, rng, encoding)
        reference = reference[:start] + new + reference[end:]

    assert max(split_sizes) < 1000
    assert doc.length == len(reference)
    assert doc.text == reference
    assert doc.line_count == len(re.findall(r"\r\n|\r|\n", reference)) + 1
    assert "".join(doc.line_with_ending(i) for i in range(doc.line_count)) == reference
    # a few lines checked against the slow reference
    for n in rnd.sample(range(doc.line_count), 20):
        expected = _fast_ref_position(reference, doc.offset_at(n, 0), "utf-16")
        assert expected == (n, 0)
