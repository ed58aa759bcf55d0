"""Tests for the simulated editor of tests/lsp/editor.py: positions, bottom-up edits, version decisions, echoes."""

from __future__ import annotations

import asyncio
import random
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lsprotocol import types

from tests.lsp.editor import (
    REFUSED_REASON,
    STALE_REASON,
    Editor,
    EditorModel,
    LineIndex,
    OverlappingEditsError,
    apply_splices,
    echo_changes,
    offset_at,
    position_at,
    ranged_changes,
    replay_changes,
    resolve_edits,
    split_lines,
    unit_width,
    version_ok,
)
from tests.unit.test_documents import ref_apply, ref_content, ref_lines, ref_offset, ref_width

ENCODINGS = ("utf-8", "utf-16", "utf-32")
ALPHABET = ["a", "b", " ", "é", "中", "😀", "\n", "\r", "\r\n", "\x0c", "\u2028", "\x85", "\t"]
texts = st.lists(st.sampled_from(ALPHABET), max_size=40).map("".join)
U = "file:///nonexistent-dir-glm-editor-test/a.py"
V = "file:///nonexistent-dir-glm-editor-test/b.py"


# --------------------------------------------------------------------------- helpers


def edit(start, end, text) -> types.TextEdit:
    return types.TextEdit(
        range=types.Range(start=types.Position(*start), end=types.Position(*end)), new_text=text
    )


def ins(at, text) -> types.TextEdit:
    return edit(at, at, text)


def doc_edit(uri, version, *edits) -> types.TextDocumentEdit:
    return types.TextDocumentEdit(
        text_document=types.OptionalVersionedTextDocumentIdentifier(uri=uri, version=version), edits=list(edits)
    )


def wedit(*document_changes) -> types.WorkspaceEdit:
    return types.WorkspaceEdit(document_changes=list(document_changes))


def ref_position(text: str, offset: int, encoding: str) -> tuple[int, int]:
    """Scan from the start: the position of a code-point offset that is not inside a line break."""
    start = 0
    for line, raw in enumerate(ref_lines(text)):
        content = ref_content(raw)
        if offset <= start + len(content):
            return line, sum(ref_width(ch, encoding) for ch in content[: offset - start])
        start += len(raw)
    raise AssertionError("offset inside a line break")


def ref_apply_all(text: str, edits, encoding: str) -> str:
    """All edits relative to ``text``: order by (start, end, array index), splice front to back."""
    items = []
    for n, e in enumerate(edits):
        a = ref_offset(text, e.range.start.line, e.range.start.character, encoding)
        b = ref_offset(text, e.range.end.line, e.range.end.character, encoding)
        items.append((min(a, b), max(a, b), n, e.new_text))
    items.sort()
    out, cursor = [], 0
    for a, b, _, new in items:
        assert a >= cursor, "overlap"
        out.append(text[cursor:a] + new)
        cursor = b
    return "".join(out) + text[cursor:]


def ref_replay(text: str, changes, encoding: str) -> str:
    for c in changes:
        if getattr(c, "range", None) is None:
            text = c.text
        else:
            r = c.range
            text = ref_apply(text, c.text, ((r.start.line, r.start.character), (r.end.line, r.end.character)), encoding)
    return text


def rng_of(change) -> tuple[tuple[int, int], tuple[int, int]]:
    r = change.range
    return (r.start.line, r.start.character), (r.end.line, r.end.character)


# --------------------------------------------------------------------------- lines and positions


@pytest.mark.parametrize(
    "text",
    ["", "a", "a\n", "a\r\n", "a\r", "a\r\nb\rc\nd", "\n\n", "\r\r\n", "\n\r", "a\x0cb\x0bc\x85d\u2028e\u2029f",
     "x\x0c\ny\u2028\r\nz"],
)
def test_split_lines_breaks_only_at_lsp_line_breaks(text):
    assert split_lines(text) == ref_lines(text)
    assert "".join(split_lines(text)) == text


@pytest.mark.parametrize(
    "ch, utf8, utf16, utf32",
    [("a", 1, 1, 1), ("é", 2, 1, 1), ("中", 3, 1, 1), ("😀", 4, 2, 1), ("\U0010ffff", 4, 2, 1), ("\u07ff", 2, 1, 1)],
)
def test_unit_width(ch, utf8, utf16, utf32):
    assert (unit_width(ch, "utf-8"), unit_width(ch, "utf-16"), unit_width(ch, "utf-32")) == (utf8, utf16, utf32)
    with pytest.raises(ValueError):
        unit_width(ch, "latin-1")


@pytest.mark.parametrize(
    "text, pos, encoding, offset",
    [
        ("a中b😀c", (0, 2), "utf-16", 2),
        ("a中b😀c", (0, 3), "utf-16", 3),  # the emoji starts at unit 3
        ("a中b😀c", (0, 4), "utf-16", 3),  # inside the surrogate pair: its start
        ("a中b😀c", (0, 5), "utf-16", 4),
        ("a中b😀c", (0, 4), "utf-8", 2),  # 1 + 3 bytes
        ("a中b😀c", (0, 2), "utf-8", 1),  # inside 中: its start
        ("a中b😀c", (0, 5), "utf-8", 3),
        ("a中b😀c", (0, 9), "utf-8", 4),
        ("a中b😀c", (0, 4), "utf-32", 4),
        ("a中b😀c", (0, 99), "utf-16", 5),  # past the end of the line: its end
        ("ab\r\ncd", (0, 9), "utf-16", 2),  # clamps before \r\n
        ("ab\rcd", (0, 9), "utf-16", 2),  # before a lone \r
        ("ab\rcd", (1, 1), "utf-16", 4),
        ("ab\r\ncd", (1, 0), "utf-16", 4),
        ("ab\n", (1, 0), "utf-16", 3),
        ("ab\n", (1, 5), "utf-16", 3),
        ("ab\n", (7, 0), "utf-16", 3),  # past the last line: end of document
        ("a\x0cb\u2028c\nd", (0, 5), "utf-16", 5),  # form feed and U+2028 do not break lines
    ],
)
def test_offset_at(text, pos, encoding, offset):
    assert offset_at(text, *pos, encoding) == offset == ref_offset(text, *pos, encoding)


@settings(max_examples=200, deadline=None)
@given(text=texts, data=st.data())
def test_offsets_and_positions_match_the_reference(text, data):
    index = LineIndex(text)
    lines = ref_lines(text)
    for _ in range(10):
        encoding = data.draw(st.sampled_from(ENCODINGS))
        line = data.draw(st.integers(0, len(lines) + 1))
        character = data.draw(st.integers(0, 12))
        offset = index.offset_at(line, character, encoding)
        assert offset == ref_offset(text, line, character, encoding)
        assert index.position_at(offset, encoding) == ref_position(text, offset, encoding)
        assert index.offset_at(*index.position_at(offset, encoding), encoding) == offset


def test_position_inside_a_crlf_maps_to_the_line_end():
    assert position_at("ab\r\ncd", 3, "utf-16") == (0, 2)
    assert position_at("ab\r\ncd", 4, "utf-16") == (1, 0)
    assert position_at("a😀\nx", 2, "utf-16") == (0, 3)
    assert position_at("a😀\nx", 2, "utf-8") == (0, 5)
    assert position_at("a😀\nx", 99, "utf-8") == (1, 1)


# --------------------------------------------------------------------------- applying one TextDocumentEdit


def apply(text, edits, encoding="utf-16"):
    return apply_splices(text, resolve_edits(text, edits, encoding))


def test_several_edits_apply_relative_to_the_original_text():
    text = "one\ntwo\nthree\n"
    edits = [ins((0, 0), "# "), edit((1, 0), (1, 3), "TWO"), edit((2, 0), (3, 0), ""), ins((3, 0), "end\n")]
    expected = "# one\nTWO\nend\n"
    assert apply(text, edits) == expected
    for order in ([3, 2, 1, 0], [1, 3, 0, 2], [2, 0, 3, 1]):
        assert apply(text, [edits[i] for i in order]) == expected


def test_splices_come_bottom_up():
    text = "abc\ndef\n"
    splices = resolve_edits(text, [ins((0, 1), "X"), edit((1, 0), (1, 2), "Y"), ins((0, 3), "Z")], "utf-16")
    assert [s.start for s in splices] == [4, 3, 1]
    assert [s.index for s in splices] == [1, 2, 0]


def test_inserts_at_one_position_keep_their_array_order():
    assert apply("ab", [ins((0, 1), "1"), ins((0, 1), "2"), ins((0, 1), "3")]) == "a123b"
    # an insert at p goes before a replacement starting at p, whatever the array order
    assert apply("abcd", [edit((0, 1), (0, 3), "R"), ins((0, 1), "I")]) == "aIRd"
    assert apply("abcd", [ins((0, 1), "I"), edit((0, 1), (0, 3), "R")]) == "aIRd"
    # and after one ending at p
    assert apply("abcd", [ins((0, 3), "I"), edit((0, 1), (0, 3), "R")]) == "aRId"


def test_overlapping_edits_are_rejected():
    with pytest.raises(OverlappingEditsError):
        resolve_edits("abcdef", [edit((0, 0), (0, 3), "x"), edit((0, 2), (0, 4), "y")], "utf-16")
    # overlapping only after clamping: both ranges end past the line end
    with pytest.raises(OverlappingEditsError):
        resolve_edits("ab\ncd", [edit((0, 1), (0, 50), "x"), edit((0, 0), (0, 9), "y")], "utf-16")


def test_reversed_range_is_swapped():
    assert apply("hello\nworld", [edit((1, 2), (0, 3), "")]) == "helrld"


@pytest.mark.parametrize(
    "encoding, edits, expected",
    [
        ("utf-16", [edit((0, 3), (0, 5), "E"), ins((1, 1), "!")], "a中bEc\n中!😀"),
        ("utf-8", [edit((0, 5), (0, 9), "E"), ins((1, 3), "!")], "a中bEc\n中!😀"),
        ("utf-32", [edit((0, 3), (0, 4), "E"), ins((1, 1), "!")], "a中bEc\n中!😀"),
        # inside the emoji / the CJK character: their starts
        ("utf-16", [ins((0, 4), "E")], "a中bE😀c\n中😀"),
        ("utf-16", [edit((0, 4), (0, 5), "E")], "a中bEc\n中😀"),
        ("utf-8", [edit((1, 1), (1, 2), "E")], "a中b😀c\nE中😀"),
        ("utf-16", [ins((1, 99), "!")], "a中b😀c\n中😀!"),
    ],
)
def test_edits_with_cjk_and_emoji(encoding, edits, expected):
    text = "a中b😀c\n中😀"
    assert apply(text, edits, encoding) == expected == ref_apply_all(text, edits, encoding)


@pytest.mark.parametrize(
    "text, edits, expected",
    [
        ("ab\r\ncd\r\n", [ins((0, 99), "X"), ins((1, 99), "Y")], "abX\r\ncdY\r\n"),
        ("ab\rcd\r", [ins((0, 99), "X"), ins((1, 99), "Y")], "abX\rcdY\r"),
        ("ab\r\ncd", [edit((0, 2), (1, 0), "\n")], "ab\ncd"),
        ("a\rb", [ins((1, 0), "\n")], "a\r\nb"),  # a \n after a lone \r merges into \r\n
        ("ab\r\ncd", [edit((0, 1), (5, 0), "")], "a"),  # past the last line: the end of the document
        ("ab\ncd", [ins((10, 0), "!"), ins((0, 0), "^")], "^ab\ncd!"),
    ],
)
def test_edits_with_crlf_lone_cr_and_past_the_end(text, edits, expected):
    assert apply(text, edits) == expected == ref_apply_all(text, edits, "utf-16")


# --------------------------------------------------------------------------- the didChange echo


def random_edits(text: str, encoding: str, rand: random.Random, count: int) -> list[types.TextEdit]:
    """Non-overlapping edits at random (possibly past-the-end, inside-a-character) positions, shuffled."""
    lines = ref_lines(text)
    positions = [(rand.randint(0, len(lines)), rand.randint(0, 8)) for _ in range(2 * count)]
    positions.sort(key=lambda p: (ref_offset(text, *p, encoding), p))
    pieces = ["", "x", "中", "😀", "\n", "\r", "\r\n", "yz\n", "\u2028"]
    edits = [edit(positions[2 * i], positions[2 * i + 1], rand.choice(pieces)) for i in range(count)]
    rand.shuffle(edits)
    return edits


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=texts, seed=st.integers(0, 10**9), encoding=st.sampled_from(ENCODINGS), count=st.integers(1, 6))
def test_incremental_changes_replay_to_the_applied_result(text, seed, encoding, count):
    edits = random_edits(text, encoding, random.Random(seed), count)
    splices = resolve_edits(text, edits, encoding)
    after = apply_splices(text, splices)
    assert after == ref_apply_all(text, edits, encoding)
    changes = echo_changes(text, after, splices, encoding, "incremental")
    assert ref_replay(text, changes, encoding) == after
    assert replay_changes(text, changes, encoding) == after
    assert all(hasattr(c, "range") for c in changes)  # always ranged: never the whole-document safety net
    assert changes == ranged_changes(text, splices, encoding)
    assert len(changes) <= len(splices)
    full = echo_changes(text, after, splices, encoding, "full")
    assert len(full) == 1 and full[0].text == after and not hasattr(full[0], "range")


def test_incremental_changes_are_bottom_up_with_exact_ranges():
    text = "a😀b\nxyz\n"
    edits = [ins((0, 99), "!"), edit((0, 1), (0, 3), "E"), edit((1, 0), (1, 3), "Q")]
    splices = resolve_edits(text, edits, "utf-16")
    after = apply_splices(text, splices)
    changes = echo_changes(text, after, splices, "utf-16", "incremental")
    assert [(rng_of(c), c.text) for c in changes] == [
        (((1, 0), (1, 3)), "Q"),
        (((0, 4), (0, 4)), "!"),  # 99 clamped to the line end in the echo
        (((0, 1), (0, 3)), "E"),
    ]
    assert ref_replay(text, changes, "utf-16") == after == "aEb!\nQ\n"


def test_echo_merges_edits_whose_boundary_a_crlf_swallows():
    # X before the \r, then \n after it: the \r and \n merge but X's range ends before the \r
    text = "a\rb"
    edits = [ins((0, 1), "X"), ins((1, 0), "\n")]
    splices = resolve_edits(text, edits, "utf-16")
    after = apply_splices(text, splices)
    assert after == "aX\r\nb" == ref_apply_all(text, edits, "utf-16")
    changes = echo_changes(text, after, splices, "utf-16", "incremental")
    assert [(rng_of(c), c.text) for c in changes] == [(((1, 0), (1, 0)), "\n"), (((0, 1), (0, 1)), "X")]
    assert ref_replay(text, changes, "utf-16") == after
    # an edit ending right after the \r, then a \n inserted there: no position lies between \r and \n,
    # so the two edits go out as one change
    edits = [edit((0, 0), (1, 0), "Y\r"), ins((1, 0), "\n")]
    splices = resolve_edits(text, edits, "utf-16")
    after = apply_splices(text, splices)
    changes = echo_changes(text, after, splices, "utf-16", "incremental")
    assert after == "Y\r\nb"
    assert [(rng_of(c), c.text) for c in changes] == [(((0, 0), (1, 0)), "Y\r\n")]
    assert ref_replay(text, changes, "utf-16") == after
    # the same with a deletion that brings a \n next to the \r
    text = "a\rZ\nb"
    edits = [edit((0, 0), (1, 0), "Q\r"), edit((1, 0), (1, 1), "")]
    splices = resolve_edits(text, edits, "utf-16")
    after = apply_splices(text, splices)
    changes = echo_changes(text, after, splices, "utf-16", "incremental")
    assert after == "Q\r\nb" == ref_replay(text, changes, "utf-16")
    assert len(changes) == 1


# --------------------------------------------------------------------------- version decisions


@pytest.mark.parametrize(
    "behaviour, edit_version, current, first, ok",
    [
        ("vscode", None, 3, True, True),
        ("vscode", 3, 3, True, True),
        ("vscode", 2, 3, True, False),
        ("vscode", 4, 3, True, False),
        ("vscode", 2, 3, False, False),
        ("vscode", 1, None, True, False),  # versioned edit to a document that is not open
        ("vscode", None, None, True, True),
        ("helix", 3, 3, True, True),
        ("helix", 2, 3, False, False),
        ("helix", None, 9, True, True),
        ("neovim", 3, 3, True, True),
        ("neovim", 2, 3, True, False),  # buffer newer than the edit: skipped
        ("neovim", 4, 3, True, True),  # only a newer buffer is stale to Neovim
        ("neovim", 2, 3, False, True),  # only the first entry is checked
        ("neovim", 0, 3, True, True),  # version 0 is never checked
        ("neovim", 2, None, True, True),
        ("neovim", None, 3, True, True),
    ],
)
def test_version_ok(behaviour, edit_version, current, first, ok):
    assert version_ok(behaviour, edit_version, current, first=first) is ok


def test_unknown_behaviour_rejected():
    with pytest.raises(ValueError):
        version_ok("emacs", 1, 1)
    with pytest.raises(ValueError):
        EditorModel("utf-16", "emacs")


# --------------------------------------------------------------------------- the model


def model(behaviour="vscode", encoding="utf-16", **docs) -> EditorModel:
    m = EditorModel(encoding, behaviour, read_file=lambda uri: "")
    m.open(U, "abc\n")
    m.open(V, "xyz\n")
    return m


def test_model_applies_and_bumps_the_version():
    m = model()
    outcome = m.apply_workspace_edit(wedit(doc_edit(U, 1, ins((0, 3), "!"), ins((0, 0), "^"))))
    assert outcome.applied and not outcome.stale and not outcome.skipped
    assert m.text(U) == "^abc!\n" and m.version(U) == 2
    (result,) = outcome.results
    assert (result.uri, result.version, result.open, result.before, result.after) == (U, 2, True, "abc\n", "^abc!\n")
    assert outcome.versions_before == {U: 1}
    assert outcome.result() == types.ApplyWorkspaceEditResult(applied=True)


@pytest.mark.parametrize("behaviour", ["vscode", "helix", "neovim"])
def test_stale_single_edit_per_behaviour(behaviour):
    m = model(behaviour)
    before, _ = m.type(U, (0, 0), "typed ")
    assert before == "abc\n" and m.version(U) == 2
    outcome = m.apply_workspace_edit(wedit(doc_edit(U, 1, ins((0, 3), "!"))))
    assert outcome.stale
    assert m.text(U) == "typed abc\n" and m.version(U) == 2  # nothing applied anywhere
    assert outcome.results == []
    if behaviour == "neovim":
        assert outcome.applied and outcome.skipped and outcome.failure_reason is None
    else:
        assert not outcome.applied and not outcome.skipped
        assert outcome.failure_reason == STALE_REASON and outcome.failed_change == 0


def test_vscode_refuses_the_whole_edit_helix_keeps_what_came_before():
    for behaviour, expected_v in (("vscode", "xyz\n"), ("helix", "Vxyz\n")):
        m = model(behaviour)
        m.type(U, (0, 0), "t")
        outcome = m.apply_workspace_edit(wedit(doc_edit(V, 1, ins((0, 0), "V")), doc_edit(U, 1, ins((0, 0), "U"))))
        assert not outcome.applied and outcome.failed_change == 1
        assert m.text(V) == expected_v and m.text(U) == "tabc\n"


def test_neovim_checks_only_the_first_entry():
    m = model("neovim")
    m.type(U, (0, 0), "t")
    m.type(V, (0, 0), "t")
    outcome = m.apply_workspace_edit(wedit(doc_edit(U, 1, ins((0, 0), "U")), doc_edit(V, 1, ins((0, 0), "V"))))
    assert outcome.applied and outcome.skipped and outcome.stale
    assert m.text(U) == "tabc\n" and m.text(V) == "Vtxyz\n" and m.version(V) == 3


def test_two_entries_for_one_document_apply_in_sequence():
    m = model("vscode")
    outcome = m.apply_workspace_edit(wedit(doc_edit(U, 1, ins((0, 0), "1")), doc_edit(U, 1, ins((0, 0), "2"))))
    assert outcome.applied and m.text(U) == "21abc\n" and m.version(U) == 3
    assert [r.version for r in outcome.results] == [2, 3]
    m = model("helix")  # Helix checks each entry against the document as it is by then
    outcome = m.apply_workspace_edit(wedit(doc_edit(U, 1, ins((0, 0), "1")), doc_edit(U, 1, ins((0, 0), "2"))))
    assert not outcome.applied and outcome.failed_change == 1 and m.text(U) == "1abc\n"


def test_unversioned_edits_always_apply():
    for behaviour in ("vscode", "helix", "neovim"):
        m = model(behaviour)
        m.type(U, (0, 0), "t")
        outcome = m.apply_workspace_edit(wedit(doc_edit(U, None, ins((0, 99), "!"))))
        assert outcome.applied and not outcome.stale and m.text(U) == "tabc!\n" and m.version(U) == 3
        changes = types.WorkspaceEdit(changes={U: [ins((1, 0), "more")], V: [ins((0, 0), ">")]})
        outcome = m.apply_workspace_edit(changes)
        assert outcome.applied and m.text(U) == "tabc!\nmore" and m.text(V) == ">xyz\n"
        assert m.version(U) == 4 and m.version(V) == 2


def test_edits_to_documents_that_are_not_open_go_to_files(tmp_path):
    on_disk = tmp_path / "notes.md"
    on_disk.write_bytes("# Notes\r\nold\r\n".encode())
    disk_uri, new_uri = on_disk.as_uri(), (tmp_path / "new.md").as_uri()
    m = EditorModel("utf-16", "vscode")
    outcome = m.apply_workspace_edit(
        wedit(doc_edit(disk_uri, None, edit((1, 0), (1, 99), "new")), doc_edit(new_uri, None, ins((0, 0), "hello\n")))
    )
    assert outcome.applied
    assert m.files == {disk_uri: "# Notes\r\nnew\r\n", new_uri: "hello\n"}
    assert m.text(new_uri) == "hello\n" and all(not r.open and r.version is None for r in outcome.results)
    m.apply_workspace_edit(wedit(doc_edit(new_uri, None, ins((1, 0), "more"))))
    assert m.files[new_uri] == "hello\nmore"
    assert on_disk.read_bytes() == "# Notes\r\nold\r\n".encode()  # the disk is never written
    untitled = "untitled:Untitled-1"
    m.apply_workspace_edit(wedit(doc_edit(untitled, None, ins((0, 0), "x"))))
    assert m.files[untitled] == "x"
    # versioned edits to a document that is not open: stale to VS Code, applied by Neovim
    assert not m.apply_workspace_edit(wedit(doc_edit(new_uri, 3, ins((0, 0), "v")))).applied
    nvim = EditorModel("utf-16", "neovim", read_file=lambda uri: "")
    assert nvim.apply_workspace_edit(wedit(doc_edit(new_uri, 3, ins((0, 0), "v")))).applied
    assert nvim.files[new_uri] == "v"


def test_resource_operations_are_ignored_with_a_note():
    m = model()
    outcome = m.apply_workspace_edit(
        wedit(types.CreateFile(uri="file:///tmp/x.py"), doc_edit(U, 1, ins((0, 0), "^")))
    )
    assert outcome.applied and m.text(U) == "^abc\n"
    assert any("ignored resource operation #0" in note and "create" in note for note in outcome.notes)
    assert outcome.notes[0] in m.notes


def test_overlapping_edits_refuse_the_request():
    m = model()
    outcome = m.apply_workspace_edit(wedit(doc_edit(U, 1, edit((0, 0), (0, 2), "x"), edit((0, 1), (0, 3), "y"))))
    assert not outcome.applied and outcome.failure_reason.startswith("overlapping edits")
    assert m.text(U) == "abc\n" and m.version(U) == 1


def test_annotated_and_snippet_edits():
    m = model()
    annotated = types.AnnotatedTextEdit(
        range=types.Range(start=types.Position(0, 0), end=types.Position(0, 1)), new_text="A", annotation_id="x"
    )
    snippet = types.SnippetTextEdit(
        range=types.Range(start=types.Position(0, 3), end=types.Position(0, 3)), snippet=types.StringValue(value="$0")
    )
    outcome = m.apply_workspace_edit(wedit(doc_edit(U, 1, annotated, snippet)))
    assert outcome.applied and m.text(U) == "Abc$0\n"
    assert any("snippet" in n for n in outcome.notes)


def test_empty_edit_list_changes_nothing():
    m = model()
    outcome = m.apply_workspace_edit(wedit(doc_edit(U, 1)))
    assert outcome.applied and m.version(U) == 1 and m.text(U) == "abc\n"


def test_user_typing_in_client_units():
    m = EditorModel("utf-8", "neovim")
    m.open(U, "a😀b\n")
    m.type(U, (0, 5), "X")  # after the 4-byte emoji
    m.type(U, (0, 1), "", end=(0, 5))  # delete the emoji
    assert m.text(U) == "aXb\n" and m.version(U) == 3


# --------------------------------------------------------------------------- the LSP-bound editor, on a fake client


class FakeClient:
    """Just what Editor uses of a pytest-lsp LanguageClient; records notifications and the reply order."""

    def __init__(self) -> None:
        self.protocol = SimpleNamespace(fm=SimpleNamespace(features={}))
        self.recorder = SimpleNamespace(applied_edits=[])
        self.log: list[tuple[str, object]] = []

    def text_document_did_open(self, params):
        self.log.append(("didOpen", params))

    def text_document_did_change(self, params):
        self.log.append(("didChange", params))

    def text_document_did_close(self, params):
        self.log.append(("didClose", params))

    def server_request(self, method, params):
        """Like pygls: call the handler, then 'send' the reply at once."""
        result = self.protocol.fm.features[method](params)
        self.log.append(("reply", result))
        return result


def apply_params(*document_changes) -> types.ApplyWorkspaceEditParams:
    return types.ApplyWorkspaceEditParams(edit=wedit(*document_changes))


def replay_server_copy(log, uri, encoding):
    """What a server that trusts the echoes holds for ``uri``."""
    text, version = None, None
    for kind, params in log:
        if kind == "didOpen" and params.text_document.uri == uri:
            text, version = params.text_document.text, params.text_document.version
        elif kind == "didChange" and params.text_document.uri == uri:
            assert params.text_document.version > version, "didChange versions out of order"
            text, version = ref_replay(text, params.content_changes, encoding), params.text_document.version
    return text, version


@pytest.mark.parametrize("sync", ["incremental", "full"])
def test_echo_before_the_reply(sync):
    client = FakeClient()
    editor = Editor(client, encoding="utf-16", behaviour="vscode", echo="before", sync=sync)
    assert set(client.protocol.fm.features) == {types.WORKSPACE_APPLY_EDIT, types.WINDOW_SHOW_MESSAGE_REQUEST}
    editor.open(U, "abc\n")
    result = client.server_request(types.WORKSPACE_APPLY_EDIT, apply_params(doc_edit(U, 1, ins((0, 3), "😀"))))
    assert result.applied
    assert [kind for kind, _ in client.log] == ["didOpen", "didChange", "reply"]
    change = client.log[1][1]
    assert change.text_document.version == 2
    if sync == "full":
        assert change.content_changes == [types.TextDocumentContentChangeWholeDocument(text="abc😀\n")]
    else:
        assert [(rng_of(c), c.text) for c in change.content_changes] == [(((0, 3), (0, 3)), "😀")]
    assert replay_server_copy(client.log, U, "utf-16") == ("abc😀\n", 2) == (editor.text(U), editor.version(U))
    (applied,) = editor.applied
    assert applied.result.applied and not applied.stale and applied.uri_versions == {U: 1}
    assert client.recorder.applied_edits == [applied.params]


async def test_echo_after_the_reply_keeps_typing_in_order():
    client = FakeClient()
    editor = Editor(client, encoding="utf-8", behaviour="neovim", echo="after", sync="incremental")
    editor.open(U, "中\n")
    typed = []

    def on_apply(applied):
        if not typed:
            typed.append(applied)
            editor.type(U, (0, 3), "!")  # the user types while the echo is still held back

    editor.on_apply = on_apply
    result = client.server_request(types.WORKSPACE_APPLY_EDIT, apply_params(doc_edit(U, 1, ins((1, 0), "x"))))
    assert result.applied
    assert [kind for kind, _ in client.log] == ["didOpen", "reply"]
    stale = client.server_request(types.WORKSPACE_APPLY_EDIT, apply_params(doc_edit(U, 2, ins((0, 0), "late"))))
    assert stale.applied  # Neovim answers true and skips it
    assert editor.applied[1].stale and editor.applied[1].skipped and editor.applied[1].uri_versions == {U: 3}
    await editor.wait_idle(timeout=2, quiet=0.05)
    assert [kind for kind, _ in client.log] == ["didOpen", "reply", "reply", "didChange", "didChange"]
    assert [p.text_document.version for k, p in client.log if k == "didChange"] == [2, 3]
    assert editor.text(U) == "中!\nx" and editor.version(U) == 3
    assert replay_server_copy(client.log, U, "utf-8") == ("中!\nx", 3)


def test_refuse_next_and_stale_vscode():
    client = FakeClient()
    editor = Editor(client, behaviour="vscode")
    editor.open(U, "abc\n")
    editor.refuse_next = 1
    first = client.server_request(types.WORKSPACE_APPLY_EDIT, apply_params(doc_edit(U, 1, ins((0, 0), "x"))))
    assert not first.applied and first.failure_reason == REFUSED_REASON
    assert editor.applied[0].refused and editor.text(U) == "abc\n" and editor.refuse_next == 0
    editor.type(U, (0, 0), "t")
    second = client.server_request(types.WORKSPACE_APPLY_EDIT, apply_params(doc_edit(U, 1, ins((0, 0), "x"))))
    assert not second.applied and second.failure_reason == STALE_REASON
    assert editor.applied[1].stale and not editor.applied[1].skipped
    third = client.server_request(types.WORKSPACE_APPLY_EDIT, apply_params(doc_edit(U, 2, ins((0, 99), "!"))))
    assert third.applied and editor.text(U) == "tabc!\n"
    assert [kind for kind, _ in client.log] == ["didOpen", "reply", "didChange", "reply", "didChange", "reply"]
    editor.close(U)
    assert client.log[-1][0] == "didClose"


def test_files_get_no_did_change():
    client = FakeClient()
    editor = Editor(client, behaviour="helix")
    md = "file:///nonexistent-dir-glm-editor-test/NOTES.md"
    result = client.server_request(types.WORKSPACE_APPLY_EDIT, apply_params(doc_edit(md, None, ins((0, 0), "# x"))))
    assert result.applied and editor.files == {md: "# x"} and editor.text(md) == "# x"
    assert [kind for kind, _ in client.log] == ["reply"]


async def test_show_message_request_and_errors():
    client = FakeClient()
    editor = Editor(client)
    handler = client.protocol.fm.features[types.WINDOW_SHOW_MESSAGE_REQUEST]
    params = types.ShowMessageRequestParams(
        type=types.MessageType.Info, message="Apply?", actions=[types.MessageActionItem(title="Yes")]
    )
    assert handler(params) is None
    editor.message_request_answer = "Yes"
    assert handler(params) == types.MessageActionItem(title="Yes")
    assert editor.message_requests == [params, params]
    editor.open(U, "abc")
    editor.on_apply = lambda applied: 1 / 0
    assert client.server_request(types.WORKSPACE_APPLY_EDIT, apply_params(doc_edit(U, 1, ins((0, 0), "x")))).applied
    with pytest.raises(AssertionError, match="ZeroDivisionError"):
        await editor.wait_idle(timeout=2, quiet=0.01)


async def test_wait_idle_times_out_while_edits_keep_coming():
    client = FakeClient()
    editor = Editor(client)
    editor.open(U, "")

    async def stream():
        for i in range(40):
            client.server_request(types.WORKSPACE_APPLY_EDIT, apply_params(doc_edit(U, None, ins((0, 99), "x"))))
            await asyncio.sleep(0.02)

    task = asyncio.ensure_future(stream())
    with pytest.raises(asyncio.TimeoutError):
        await editor.wait_idle(timeout=0.3, quiet=0.1)
    await task
    await editor.wait_idle(timeout=2, quiet=0.05)
    assert editor.text(U) == "x" * 40 and editor.version(U) == 41
