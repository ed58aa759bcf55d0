"""The lines an edit session owns, and the smallest line edits that move them to a new state.

A session replaces the target lines progressively. The region always holds
``written + original[consumed:]``: the new lines decided so far, then the old
lines not yet passed. A new line that equals an old line a little further down
"passes" the old lines before it (they were removed or changed), so a fix that
changes one line of thirty touches only that line, and a full rewrite grows
above the old code, which goes when the stream ends.

Every flush is computed as a line diff (difflib) between what the document holds
in the region and the wanted lines, so the same code serves streaming, the final
state, restoring the original, revert — and rebasing after the user typed, since
the diff is always taken against the document as it is now.

User edits are classified by line numbers only (encoding-independent): above the
region → the region moves; below → nothing; inside → the session must stop.
Pure: no LSP, no HTTP.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

LOOKAHEAD = 8  # how far down an old line may be to count as "passed"


@dataclass(frozen=True, slots=True)
class LineEdit:
    """Replace document lines [start, end) with ``text`` (whole lines, terminators included)."""

    start: int
    end: int
    text: str


def line_edits(current: list[str], wanted: list[str], first_line: int) -> list[LineEdit]:
    """The smallest set of whole-line edits turning ``current`` into ``wanted``."""
    matcher = difflib.SequenceMatcher(None, current, wanted, autojunk=False)
    return [
        LineEdit(first_line + i1, first_line + i2, "".join(wanted[j1:j2]))
        for tag, i1, i2, j1, j2 in matcher.get_opcodes()
        if tag != "equal"
    ]


@dataclass
class Region:
    original: list[str]  # the target's lines when the session started (with terminators)
    start: int  # the region's first line in the document as it is now
    length: int = -1  # lines the region holds in the document now
    written: list[str] = field(default_factory=list)
    consumed: int = 0

    def __post_init__(self) -> None:
        if self.length < 0:
            self.length = len(self.original)

    @property
    def end(self) -> int:
        return self.start + self.length

    # -- what the region should hold -------------------------------------------------

    def add(self, lines: list[str]) -> None:
        """New final lines from the model; pass old lines they show to be gone."""
        for line in lines:
            self.written.append(line)
            rest = self.original[self.consumed : self.consumed + LOOKAHEAD]
            for offset, old in enumerate(rest):
                if old == line and (offset == 0 or line.strip()):
                    self.consumed += offset + 1
                    break

    def wanted(self) -> list[str]:
        return self.written + self.original[self.consumed :]

    def finish(self, lines: list[str]) -> None:
        """The whole answer is known: the region becomes exactly ``lines``."""
        self.written = list(lines)
        self.consumed = len(self.original)

    def restore(self) -> None:
        self.written = []
        self.consumed = 0

    # -- following the document --------------------------------------------------------

    def classify(self, start: tuple[int, int], end: tuple[int, int], text: str) -> str:
        """How one ranged change relates to the region: "above", "below" or "inside".

        Positions are (line, character) before the change. Moves the region for "above".
        """
        (sl, sc), (el, ec) = sorted((start, end))
        added = _count_breaks(text)
        ends_at_region_start = el == self.start and ec == 0 and (text == "" or _ends_with_break(text))
        if el < self.start or ends_at_region_start:
            self.start += added - (el - sl)
            return "above"
        if sl >= self.end and self.length > 0:
            return "below"
        return "inside"  # an empty region (appending) counts anything at its line as inside

    def classify_whole(self, old: list[str], new: list[str]) -> str:
        """Classify a whole-document change by the lines that differ before and after it."""
        limit = min(len(old), len(new))
        prefix = 0
        while prefix < limit and old[prefix] == new[prefix]:
            prefix += 1
        suffix = 0
        while suffix < limit - prefix and old[-1 - suffix] == new[-1 - suffix]:
            suffix += 1
        changed_start, changed_end = prefix, len(old) - suffix  # old lines [start, end) replaced
        if changed_end <= self.start:
            self.start += len(new) - len(old)
            return "above"
        if changed_start >= self.end:
            return "below"
        return "inside"


def _count_breaks(text: str) -> int:
    return text.count("\n") + text.count("\r") - text.count("\r\n")


def _ends_with_break(text: str) -> bool:
    return text.endswith(("\n", "\r"))


def as_lines(text: str) -> list[str]:
    """Text → lines with terminators, without the empty tail ``split_lines`` adds after a final break."""
    from glm_lsp.context.documents import split_lines

    lines = split_lines(text)
    return lines[:-1] if lines and lines[-1] == "" else lines
