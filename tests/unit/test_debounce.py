"""The adaptive debounce of automatic completions follows the user's typing rhythm."""

from __future__ import annotations

import pytest

from glm_lsp.completion.engine import DEBOUNCE_PAUSED, DEBOUNCE_STEADY, DEBOUNCE_TYPING, CompletionEngine

URI = "file:///a.py"


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def type_keys(completion: CompletionEngine, clock: Clock, gaps: list[float]) -> None:
    for gap in gaps:
        clock.now += gap
        completion.keystroke(URI)


def test_a_first_keystroke_with_no_history_is_answered_quickly(clock):
    completion = CompletionEngine(run_upstream=None, clock=clock)
    type_keys(completion, clock, [0])
    assert completion.debounce_for(URI, None) == DEBOUNCE_PAUSED


def test_fast_typing_waits_longest_and_steady_typing_less(clock):
    fast, steady = CompletionEngine(None, clock=clock), CompletionEngine(None, clock=clock)
    type_keys(fast, clock, [0] + [0.06] * 8)
    type_keys(steady, clock, [0] + [0.3] * 8)
    assert fast.debounce_for(URI, None) == DEBOUNCE_TYPING
    assert steady.debounce_for(URI, None) == DEBOUNCE_STEADY


def test_after_a_pause_a_fast_typist_gets_about_two_of_their_gaps(clock):
    completion = CompletionEngine(run_upstream=None, clock=clock)
    type_keys(completion, clock, [0] + [0.05] * 8 + [1.5])  # typed fast, thought, typed one key
    assert completion.debounce_for(URI, None) == pytest.approx(0.1)
    slow = CompletionEngine(run_upstream=None, clock=clock)
    type_keys(slow, clock, [0] + [0.4] * 8 + [1.5])
    assert slow.debounce_for(URI, None) == DEBOUNCE_STEADY  # capped: a pause still means answer soon
    slow_start = CompletionEngine(run_upstream=None, clock=clock)
    type_keys(slow_start, clock, [0] + [0.02] * 8 + [1.5])
    assert slow_start.debounce_for(URI, None) == DEBOUNCE_PAUSED  # never below the paused debounce


def test_the_setting_overrides_the_rhythm(clock):
    completion = CompletionEngine(run_upstream=None, clock=clock)
    type_keys(completion, clock, [0] + [0.06] * 8)
    assert completion.debounce_for(URI, 0) == 0
    assert completion.debounce_for(URI, 250) == 0.25
