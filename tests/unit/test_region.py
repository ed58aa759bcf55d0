"""The region an edit session owns: alignment of streamed lines, minimal edits, user-edit classification."""

from __future__ import annotations

import pytest

from glm_lsp.edits.region import LineEdit, Region, as_lines, line_edits


def apply(lines: list[str], edits: list[LineEdit], first: int = 0) -> list[str]:
    out = list(lines)
    for e in sorted(edits, key=lambda e: e.start, reverse=True):
        out[e.start - first:e.end - first] = as_lines(e.text) if e.text else []
    return out


@pytest.mark.parametrize("current,wanted,expected", [
    (["a\n", "b\n", "c\n"], ["a\n", "B\n", "c\n"], [LineEdit(1, 2, "B\n")]),
    (["a\n", "b\n"], ["a\n", "b\n"], []),
    (["a\n", "c\n"], ["a\n", "b\n", "c\n"], [LineEdit(1, 1, "b\n")]),
    (["a\n", "b\n", "c\n"], ["a\n", "c\n"], [LineEdit(1, 2, "")]),
])
def test_line_edits_touch_only_changed_lines(current, wanted, expected):
    assert line_edits(current, wanted, 0) == expected
    assert apply(current, line_edits(current, wanted, 0)) == wanted


def test_line_edits_are_offset_by_the_first_line():
    assert line_edits(["x\n"], ["y\n"], 10) == [LineEdit(10, 11, "y\n")]


def test_streamed_fix_of_one_line_passes_unchanged_lines():
    old = ["def f(x):\n", "    y = x +\n", "    return y\n"]
    region = Region(old, 5)
    region.add(["def f(x):\n"])
    assert region.wanted() == old  # unchanged line: nothing to edit
    region.add(["    y = x + 1\n"])
    assert region.wanted() == ["def f(x):\n", "    y = x + 1\n", "    y = x +\n", "    return y\n"]
    region.add(["    return y\n"])  # passes the old changed line: it goes
    assert region.wanted() == ["def f(x):\n", "    y = x + 1\n", "    return y\n"]


def test_a_full_rewrite_grows_above_the_old_code_until_the_end():
    region = Region(["a\n", "b\n"], 0)
    region.add(["x\n"])
    assert region.wanted() == ["x\n", "a\n", "b\n"]
    region.finish(["x\n", "y\n"])
    assert region.wanted() == ["x\n", "y\n"]
    region.restore()
    assert region.wanted() == ["a\n", "b\n"]


def test_blank_lines_only_match_in_place():
    region = Region(["a\n", "\n", "b\n"], 0)
    region.add(["\n"])  # a blank line does not pass "a"
    assert region.consumed == 0


@pytest.mark.parametrize("start,end,text,where,new_start", [
    ((0, 0), (0, 3), "xyz", "above", 10),        # typing on a line above
    ((2, 0), (2, 0), "new\n", "above", 11),       # a line added above
    ((1, 0), (3, 0), "", "above", 8),             # two lines deleted above
    ((10, 0), (10, 0), "new line\n", "above", 11),  # a whole line inserted right before the region
    ((10, 0), (10, 0), "x", "inside", 10),        # typing at the start of the region's first line
    ((11, 4), (11, 4), "x", "inside", 10),        # typing in the region
    ((9, 2), (10, 1), "", "inside", 10),          # a deletion reaching into the region
    ((13, 0), (13, 0), "below\n", "below", 10),   # right after the region
    ((20, 1), (20, 2), "", "below", 10),
])
def test_classify_user_edits(start, end, text, where, new_start):
    region = Region(["l10\n", "l11\n", "l12\n"], 10)
    assert region.classify(start, end, text) == where
    assert region.start == new_start


def test_classify_whole_document_changes():
    old = ["a\n", "b\n", "T1\n", "T2\n", "c\n"]
    region = Region(["T1\n", "T2\n"], 2)
    assert region.classify_whole(old, ["new\n", *old]) == "above" and region.start == 3
    region = Region(["T1\n", "T2\n"], 2)
    assert region.classify_whole(old, [*old[:4], "x\n", old[4]]) == "below" and region.start == 2
    assert region.classify_whole(old, ["a\n", "b\n", "T1 typed\n", "T2\n", "c\n"]) == "inside"


def test_as_lines():
    assert as_lines("a\nb\n") == ["a\n", "b\n"]
    assert as_lines("a\r\nb") == ["a\r\n", "b"]
    assert as_lines("") == []
