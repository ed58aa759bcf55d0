"""A completion Query holds only the text around the cursor: it must answer as the whole text would."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from glm_lsp.completion.engine import SUFFIX_HEAD, TAIL, Query


def query(text: str, offset: int, start: int = 0) -> Query:
    return Query("file:///a.py", text, offset, False, 1, None, None, start=start)


@st.composite
def windows(draw):
    """(whole text, cursor, window start, window end) with the window around the cursor."""
    size = draw(st.integers(1, 3 * TAIL))
    text = "".join(draw(st.randoms(use_true_random=False)).choices("ab\n", k=size))
    offset = draw(st.integers(0, len(text)))
    start = draw(st.one_of(st.integers(0, max(0, offset - TAIL)), st.integers(0, offset)))  # (often holding a tail)
    end = draw(st.integers(offset, len(text)))
    return text, offset, start, end


@settings(max_examples=100)
@given(windows(), st.data())
def test_a_window_answers_as_the_whole_text_or_not_at_all(window, data):
    text, offset, start, end = window
    whole, part = query(text, offset), query(text[start:end], offset, start)
    spot = data.draw(st.one_of(st.integers(min(offset, start + TAIL), offset), st.integers(0, offset)))
    tail = part.tail(spot)
    if spot - TAIL >= start or start == 0:
        assert tail == whole.tail(spot)
    else:
        assert tail is None  # not held: the spot is not recognised, never wrongly matched
    typed = part.typed_since(spot)
    assert typed == (whole.typed_since(spot) if spot >= start else None)
    if end - offset >= SUFFIX_HEAD or end == len(text):
        assert part.suffix_head() == whole.suffix_head()


def test_the_tail_is_the_text_before_the_spot():
    text = "x" * (TAIL + 10) + "abc" + "y" * 5
    cursor = TAIL + 13
    part = query(text[5:], offset=cursor, start=5)
    assert part.tail() == text[13:cursor] and part.tail().endswith("xxabc")
    assert part.tail(TAIL) is None  # (it would start before the text held)
    assert part.typed_since(TAIL + 10) == "abc"
    assert part.typed_since(4) is None
    assert part.suffix_head() == "yyyyy"


@st.composite
def held_spots(draw):
    """(whole text, cursor, window start, a spot whose tail the window holds), the window not at 0."""
    size = draw(st.integers(TAIL + 2, 3 * TAIL))
    text = "".join(draw(st.randoms(use_true_random=False)).choices("ab\n", k=size))
    start = draw(st.integers(1, size - TAIL - 1))
    offset = draw(st.integers(start + TAIL, size))
    spot = draw(st.integers(start + TAIL, offset))
    return text, offset, start, spot


@given(held_spots())
def test_a_spot_the_window_holds_has_the_whole_texts_tail(case):
    text, offset, start, spot = case
    part = query(text[start:], offset, start)
    assert part.tail(spot) == text[spot - TAIL : spot]
    assert part.typed_since(spot) == text[spot:offset]
