"""A chat model's raw answer → exactly the text to insert at the cursor, decided while it streams.

Why: GLM-5.1 is a chat model. Asked to fill the hole at the cursor with a
fill-in-the-middle prompt, it reasons when it should answer, wraps the code in a
fence, adds prose, repeats the text before the cursor, repeats the text after it,
runs past the line and drifts in indentation. The editor needs exactly the text to
insert — and since we wait on (and pay for) every token, we want to know as early as
possible that more tokens cannot change that text, so the stream can be cancelled.

How: one forward pass over the stream, in stages that each decide on whole lines
(a partial line is only looked at where its first characters already settle the
question)::

    raw text → reasoning removed   <think>…</think>; a lone </think> drops all before it
             → lines               CRLF, CR or LF (a "\\r\\n" may be split between deltas)
             → the answer's code   chat lead-ins dropped, the first fenced block or bare lines
             → echo of the prefix  dropped (rules below)
             → the suggestion      one line, or a block body up to its end; re-indented
             → polished            repeated suffix cut, rejections, ctx.newline

The pass stops at the point where the suggestion is complete; nothing after it is
read. ``clean(raw)`` runs the same pass over the whole answer, so a suggestion that
``Progressive.feed`` reported complete is exactly what ``finish()`` and ``clean()``
return, whatever came after, and any split of the same answer gives the same result.

Rules, and the decisions taken where they leave room:

* Reasoning: ``<think>``/``<thinking>`` blocks (any case) are removed wherever they
  stand; an unclosed one hides the rest of the answer. A ``</think>`` that nothing
  opened means everything before it was reasoning: it is dropped, unless the
  suggestion was already complete (then the tag is never read).
* Lead-in: before any code, blank lines and chat lines ("Sure!", "Here is the
  completion:", "The missing code is:") are dropped. In code (not in a comment, a
  string or a prose language) English sentences ("The user wants the sum.") are
  dropped too — that is what reasoning without its opening tag looks like — so an
  answer that is only sentences gives "".
* Fences: the content of the first fenced block (``` or ~~~, language tag ignored,
  an empty block skipped) is the code; the block ends at a line starting with the
  fence, or at a code line ending with it. ```` ```x``` ```` on one line is inline
  code. Bare lines that are followed by a *tagged* fence (```` ```python ````) were
  prose: the fence wins; a bare ```` ``` ```` after bare code just ends it. In
  single-line mode bare code is complete at its line break, so a later fence is
  never read.
* Echo of the prefix. The answer's start is dropped when it repeats, in order of
  preference (the longest that holds wins; while a longer one could still hold,
  nothing is decided):

  1. whole lines of the prefix ending with the cursor's line: the last k lines
     before the cursor (compared without their indentation; together ≥ 3
     characters), then the text of the cursor's line before the cursor;
  2. the text of the cursor's line before the cursor (without its indentation;
     any length): prefix ``"    ret"`` + answer ``"return x"`` → ``"urn x"``;
  3. a tail of that text which starts at a token boundary, is ≥ 3 characters and
     holds punctuation as well as a word — more than a word: prefix
     ``"y = compute(a, "`` + answer ``"compute(a, b)"`` → ``"b)"``;
  4. the member name being typed after ``.``, ``->`` or ``::``: prefix
     ``"self.comp"`` + answer ``"compute()"`` → ``"ute()"``.

  An answer that merely starts with the same word as the prefix's last word is
  kept whole: prefix ``"x = foo"`` + answer ``"foo_bar()"`` → ``"foo_bar()"``; the
  model may be starting a new token, and only the repetitions above are evidence
  of an echo. A trailing space before the cursor matches any spacing in the echo.
* Length. Single-line: the first line with text; it is complete at its line break.
  A line break right at the start is kept only when the cursor ends a non-blank line
  and the model itself began with it (not after reasoning, prose or a fence), or
  after an echo of the whole line: ``"def f(x):"`` + ``"\\n    return x"``. After a
  line that opens a block, a first line indented deeper than it (``"    return x"``
  out of a fence) goes on a new line too.
  Multi-line (``ctx.multiline``, or decided: a blank cursor line after a block opener
  or before a dedent) ends before: a line indented less than the body (the first
  line's column, or the cursor line's indentation when the cursor is mid-line), a
  line at or left of the block opener after a blank line, two blank lines, a
  sentence after a blank line, or line 21. A dedent is known from the line's first
  non-blank character, so completion does not wait for the rest of that line.
* Indentation: the answer's lines are read in the model's columns (a tab counts
  ``len(indent_unit)`` columns, 4 in a tab-indented file) and written in the file's
  style. When the cursor stands in indentation, the first line starts at the cursor
  — or deeper, if the model indented it deeper — and the lines after it move by the
  same amount (a model that answered at column 0 gets the cursor's indentation).
  When the model echoed the cursor's whole line, its indentation of that line maps
  to the real one. Otherwise later lines keep the model's columns.
* Repeated suffix: trailing lines equal to the lines below the cursor (ignoring
  indentation, so a "}" the model wrote at the body's column still counts) are cut,
  and so is the end of the last line from where it repeats the rest of the cursor's
  line (")", ");", "a, b)"); either cut is made only where it leaves no bracket or
  double quote of the suggestion open ("f(a)" before ")" stays whole, and so does a
  nested block's own "}"). The whitespace before such a cut is kept.
* Rejected (""): no code, only whitespace, a whole suggestion identical to the text
  that follows the cursor (whole lines: with the same indentation), or one that only
  repeats the prefix (the echo was all of it, or whole lines equal to those just above).
* Trailing whitespace is removed from every line; line breaks become ``ctx.newline``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["CompletionContext", "Suggestion", "clean", "Progressive"]

MAX_LINES = 20  # the longest multi-line suggestion
_ECHO_LINES = 50  # how many prefix lines an echo may repeat
_ECHO_CHARS = 200  # how much of the cursor's line an echo tail may repeat
_WINDOW = 16_384  # characters of prefix/suffix read for lines; only the ends near the cursor matter

_BREAK = re.compile(r"\r\n|\r|\n")
_NO_SPACE_BEFORE = frozenset(")]},;:.")  # a suffix starting with one of these wants no space before it
_TAG = re.compile(r"<(/?)think(?:ing)?>", re.IGNORECASE)
_CLOSE_TAG = re.compile(r"</think(?:ing)?>", re.IGNORECASE)
_TAGS = ("<think>", "<thinking>", "</think>", "</thinking>")
_CLOSE_TAGS = ("</think>", "</thinking>")
_FENCE = re.compile(r"([ \t]*)(`{3,}|~{3,})(.*)")
_WORD = re.compile(r"\w")
_MEMBER = re.compile(r"(?:\.|->|::)([A-Za-z_]\w*)$")
_OPENER = re.compile(r"(?::|\{|\(|\[|=>|\bthen|\bdo|\bdo\s*\|[^|]*\|)$")
_LINE_COMMENT = re.compile(r"(?:^|\s)(?:#|//)")
_COMMENT_STARTS = ("/*", "*", "--", ";", "%", "<!--")
_PROSE_LANGUAGES = {
    "markdown", "plaintext", "text", "latex", "tex", "bibtex", "restructuredtext",
    "asciidoc", "org", "git-commit", "git-rebase",
}

# Chat lead-ins. Words that could be identifiers ("ok", "yes") need punctuation after them.
_ALONE = r"(?:sure|certainly|of course|absolutely|alright|all right|understood|got it|no problem)\W*"
_INTERJECTION = r"(?:sure|certainly|of course|absolutely|alright|all right|okay|ok|yes|great|understood|got it)"
_PREAMBLE = re.compile(
    rf"{_ALONE}"
    rf"|{_INTERJECTION}[!.,]\W*"
    rf"|{_INTERJECTION}\b[^=;{{}}]*[:.!]"
    r"|(?:here|below|the following|this|i'll|i will|i'd|let me|to complete|completing|filling in"
    r"|the (?:completion|completed|missing|code|rest|answer|result|output|suggestion))\b[^=;{}]*:",
    re.IGNORECASE,
)
# A capitalised English sentence: three words or more, no code punctuation, final stop.
_SENTENCE = re.compile(r"[A-Z][\w'’]*(?:[ \t]+[^\s=;{}\[\]<>|&#$@\\]+){2,}[.:!?]")


@dataclass(frozen=True)
class CompletionContext:
    """Where the suggestion goes: the document around the cursor and its conventions."""

    prefix: str  # document text before the cursor (may be long; only the tail matters)
    suffix: str  # document text after the cursor
    language: str = ""  # LSP languageId
    newline: str = "\n"
    indent_unit: str = "    "
    # None = decide: allowed on a blank line after a block opener or before a dedent.
    multiline: bool | None = None


@dataclass(frozen=True)
class Suggestion:
    text: str  # what to insert at the cursor ("" = nothing to suggest)
    complete: bool  # True when more model output cannot change `text` (stop reading)


def clean(raw: str, ctx: CompletionContext) -> str:
    """The final suggestion from a whole answer ("" when rejected)."""
    progressive = Progressive(ctx)
    progressive.feed(raw)
    return progressive.finish()


# --------------------------------------------------------------------------- context


def _ws(line: str) -> str:
    return line[: len(line) - len(line.lstrip(" \t"))]


def _opens(line: str) -> bool:
    """Whether a line opens a block: ends with ":", "{", "(", "[", "=>", "then" or "do"."""
    m = _LINE_COMMENT.search(line)
    code = line[: m.start()] if m else line
    return bool(_OPENER.search(code.rstrip()))


def _split_lines(text: str) -> list[str]:
    """``_BREAK.split``, by str.split when there is no "\\r" (several times faster)."""
    return text.split("\n") if "\r" not in text else _BREAK.split(text)


def _in_text(line: str, prefix: str) -> bool:
    """Whether the cursor is in a comment or a string, where sentences are the content."""
    s = line.lstrip()
    if s.startswith(_COMMENT_STARTS) or _LINE_COMMENT.search(line):
        return True
    if any((line.count(q) - line.count("\\" + q)) % 2 for q in ('"', "'", "`")):
        return True
    return bool(prefix.count('"""') % 2 or prefix.count("'''") % 2 or prefix.rfind("/*") > prefix.rfind("*/"))


def _is_preamble(s: str) -> bool:
    return bool(_PREAMBLE.fullmatch(s))


def _is_sentence(s: str) -> bool:
    return bool(_SENTENCE.fullmatch(s))


def _unbalanced(text: str) -> bool:
    """Whether the text leaves a bracket or a double quote open."""
    depth = 0
    for ch in text:
        if ch in "([{":
            depth += 1
        elif ch in ")]}" and depth:
            depth -= 1
    return depth > 0 or (text.count('"') - text.count('\\"')) % 2 == 1


class _View:
    """What the pass needs to know about the cursor's surroundings, computed once."""

    def __init__(self, ctx: CompletionContext) -> None:
        self.newline = ctx.newline or "\n"
        unit = ctx.indent_unit or "    "
        self.tabs = "\t" in unit
        self.tab = 4 if self.tabs else len(unit)  # columns per tab

        before = _split_lines(ctx.prefix[-_WINDOW:])
        if len(ctx.prefix) > _WINDOW and len(before) > 1:
            before = before[1:]  # the first line was cut by the window
        self.line = before[-1]  # the cursor's line, up to the cursor
        self.text = self.line.lstrip(" \t")  # the same without its indentation
        self.core = self.text.rstrip(" \t")
        self.col = self.width(_ws(self.line))
        prev = before[:-1][-_ECHO_LINES:]
        self.prev_stripped = [p.strip() for p in prev]
        self.above = [p.rstrip() for p in prev if p.strip()]

        after = _split_lines(ctx.suffix[:_WINDOW])
        if len(ctx.suffix) > _WINDOW and len(after) > 1:
            after = after[:-1]
        self.rest = after[0].rstrip()  # the rest of the cursor's line
        self.below = [a.rstrip() for a in after[1:] if a.strip()][: MAX_LINES + 1]
        self.below_stripped = [b.strip() for b in self.below]

        self.whole_line = not self.text  # the cursor stands in indentation: the answer writes whole lines
        self.keep_break = bool(self.text) and not self.rest  # a leading line break may be meant
        self.code_context = ctx.language.lower() not in _PROSE_LANGUAGES and not _in_text(self.line, ctx.prefix)

        prev_nonblank = next((p for p in reversed(prev) if p.strip()), None)
        if self.whole_line and not self.rest:  # a blank line
            opener = prev_nonblank if prev_nonblank is not None and _opens(prev_nonblank) else None
            dedent = self.width(_ws(self.below[0])) < self.col if self.below else self.col > 0
            auto = opener is not None or dedent
        else:
            opener = self.line if _opens(self.line) else None
            auto = False
        self.opener_col = self.width(_ws(opener)) if opener is not None else None
        self.multiline = auto if ctx.multiline is None else ctx.multiline

        # Echo candidates, longest first: k whole lines before the cursor's line ...
        self.spans: list[int] = []
        chars = len("".join(self.core.split()))
        for k in range(1, len(prev) + 1):
            chars += len("".join(prev[-k].split()))
            if prev[-k].strip() and chars >= 3:
                self.spans.append(k)
        self.spans.reverse()
        self.span_firsts = [(k, self.prev_stripped[-k]) for k in self.spans]  # (span, the line it starts with)
        # ... tails of the cursor's line that are more than a word ...
        self.tails: list[str] = []
        text = self.text[-_ECHO_CHARS:]
        is_word = [bool(_WORD.match(ch)) for ch in text]
        # a tail holds a word character / punctuation iff it starts at or before the last one
        last_word = max((i for i, w in enumerate(is_word) if w), default=-1)
        last_mark = max((i for i, ch in enumerate(text) if not is_word[i] and not ch.isspace()), default=-1)
        for start in range(1, len(text) - 2):  # tails of len(text) - 1 down to 3 characters
            boundary = not (is_word[start] and is_word[start - 1])
            if boundary and start <= last_mark and start <= last_word:
                self.tails.append(text[start:])
        # ... and the member name being typed.
        m = _MEMBER.search(self.line)
        self.member = m.group(1) if m else ""

    def width(self, ws: str) -> int:
        return len(ws) + ws.count("\t") * (self.tab - 1)

    def pad(self, start: int, end: int) -> str:
        """Whitespace from column ``start`` to column ``end``, in the file's style."""
        n = max(end - start, 0)
        return "\t" * (n // 4) + " " * (n % 4) if self.tabs else " " * n

    def reindent(self, line: str, shift: int) -> str:
        if not line.strip():
            return ""
        ws = _ws(line)
        return self.pad(0, self.width(ws) + shift) + line[len(ws) :]


# --------------------------------------------------------------------------- reasoning and lines

_TEXT, _GAP, _RESET = "text", "gap", "reset"


def _tag_start(buf: str, pos: int, tags: tuple[str, ...]) -> str:
    """The tail of ``buf`` that could still grow into one of ``tags`` ("" if none)."""
    k = buf.rfind("<", pos)
    if k < 0:
        return ""
    tail = buf[k:].lower()
    return buf[k:] if any(tag.startswith(tail) for tag in tags) else ""


class _Reasoning:
    """Removes reasoning from text arriving in pieces; a tag may be split between pieces.

    ``feed`` returns events: visible text, a gap (a think block was removed here) or
    a reset (a lone ``</think>``: everything before it was reasoning).
    """

    def __init__(self) -> None:
        self._inside = False
        self._pending = ""  # a tail that may be the start of a tag

    def feed(self, text: str) -> list[tuple[str, str]]:
        buf, self._pending = self._pending + text, ""
        events: list[tuple[str, str]] = []
        pos = 0
        while True:
            if self._inside:
                m = _CLOSE_TAG.search(buf, pos)
                if m is None:
                    self._pending = _tag_start(buf, pos, _CLOSE_TAGS)
                    return events
                self._inside, pos = False, m.end()
                continue
            m = _TAG.search(buf, pos)
            if m is None:
                self._pending = _tag_start(buf, pos, _TAGS)
                visible = buf[pos : len(buf) - len(self._pending)]
                if visible:
                    events.append((_TEXT, visible))
                return events
            if m.start() > pos:
                events.append((_TEXT, buf[pos : m.start()]))
            if m.group(1):
                events.append((_RESET, ""))
            else:
                events.append((_GAP, ""))
                self._inside = True
            pos = m.end()

    def flush(self) -> list[tuple[str, str]]:
        """At the end: a held "<thi…" was text after all; unclosed reasoning is dropped."""
        text = "" if self._inside else self._pending
        self._pending = ""
        return [(_TEXT, text)] if text else []


class _Lines:
    """Whole lines out of text arriving in pieces; CRLF, CR and LF all end a line."""

    def __init__(self) -> None:
        self.partial = ""
        self._skip_lf = False  # the last piece ended in "\r": a "\n" next belongs to it

    def feed(self, text: str) -> list[str]:
        if self._skip_lf and text:
            self._skip_lf = False
            if text.startswith("\n"):
                text = text[1:]
        lines, pos = [], 0
        for m in _BREAK.finditer(text):
            lines.append(self.partial + text[pos : m.start()])
            self.partial, pos = "", m.end()
        self.partial += text[pos:]
        if text:
            self._skip_lf = text.endswith("\r")
        return lines

    def reset(self) -> None:
        self.partial, self._skip_lf = "", False


# --------------------------------------------------------------------------- the answer's code

_LEAD, _FENCED, _BARE, _END = "lead", "fenced", "bare", "end"


class _Answer:
    """Visible lines in; the answer's code lines out (``code``), and whether they ended.

    LEAD (blank lines, lead-ins) → FENCED (inside the first fence) or BARE (code
    without a fence) → END (the fence closed). Decides on whole lines only.
    """

    def __init__(self, view: _View) -> None:
        self._view = view
        self._fresh = True  # nothing seen or dropped yet: a leading line break is the model's own
        self._start()

    def _start(self) -> None:
        self.state = _LEAD
        self.code: list[str] = []
        self.ended = False
        self.leading_break = False
        self._fence = ""
        self._indent = ""

    def reset(self) -> None:
        """A lone ``</think>``: what came before was reasoning."""
        self._start()
        self._fresh = False

    def gap(self) -> None:
        """A think block was removed: line breaks after it separate, they are not code."""
        if self.state == _LEAD:
            self._fresh = self.leading_break = False

    def push(self, line: str) -> None:
        if self.state == _LEAD:
            self._lead(line)
        elif self.state == _FENCED:
            self._fenced(line)
        elif self.state == _BARE:
            self._bare(line)

    def growing(self, partial: str) -> tuple[str | None, bool]:
        """The unfinished last line as far as it can be judged (None: not yet), and whether it closes the fence."""
        s = partial.lstrip(" \t")
        if self.state == _FENCED:
            if s.startswith(self._fence):
                return None, any(line.strip() for line in self.code)
            if s and self._fence.startswith(s):
                return None, False
            return self._dedent(partial), False
        if self.state == _BARE:
            # "```" may still become "```python" (prose before it) or stay a bare close.
            if s and (s.startswith(("```", "~~~")) or "```".startswith(s) or "~~~".startswith(s)):
                return None, False
            return partial, False
        return None, False

    def _lead(self, line: str) -> None:
        fresh, self._fresh = self._fresh, False
        s = line.strip()
        if not s:
            self.leading_break = self.leading_break or (fresh and self._view.keep_break)
            return
        self.leading_break, leading_break = False, self.leading_break
        m = _FENCE.fullmatch(line)
        if m:
            self._open(m)
        elif not (_is_preamble(s) or (self._view.code_context and _is_sentence(s))):
            self.state = _BARE
            self.code = [""] if leading_break else []
            self.code.append(line)

    def _open(self, m: re.Match[str]) -> None:
        indent, fence, info = m.groups()
        if fence in info:  # "```x```": inline code on the opener's line
            content = info[: info.index(fence)].strip()
            if content:
                self.code, self.ended, self.state = [content], True, _END
            else:
                self._start()
            return
        self.state, self.code = _FENCED, []
        self._fence, self._indent = fence, indent

    def _fenced(self, line: str) -> None:
        if line.lstrip(" \t").startswith(self._fence):
            self._close()
            return
        body = self._dedent(line).rstrip()
        closing = len(body) - len(body.rstrip(self._fence[0]))
        if closing >= len(self._fence) and body.strip(self._fence[0]).strip():  # "return x```"
            self.code.append(body[:-closing])
            self._close()
            return
        self.code.append(self._dedent(line))

    def _close(self) -> None:
        if any(line.strip() for line in self.code):
            self.ended, self.state = True, _END
        else:
            self._start()  # an empty block: the answer goes on

    def _bare(self, line: str) -> None:
        m = _FENCE.fullmatch(line)
        if m is None:
            self.code.append(line)
        elif m.group(3).strip():  # a tagged fence: the bare lines were prose
            self._open(m)
        else:  # a stray closing fence ends the bare code
            self.ended, self.state = True, _END

    def _dedent(self, line: str) -> str:
        """A model that indented the fence indented its content as much."""
        indent = self._indent
        if not indent:
            return line
        if line.startswith(indent):
            return line[len(indent) :]
        return line[min(len(_ws(line)), len(indent)) :]


# --------------------------------------------------------------------------- the suggestion

_PENDING, _HOLDS, _DEAD = "pending", "holds", "dead"

Row = tuple[str, bool]  # a code line, and whether it is complete (its line break arrived)


def _row(rows: list[Row], i: int) -> Row | None:
    return rows[i] if i < len(rows) else None


def _unknown(final: bool) -> str:
    return _DEAD if final else _PENDING


def _span_status(view: _View, k: int, rows: list[Row], final: bool) -> str:
    """Whether the answer starts with the k prefix lines before the cursor's line (indentation ignored)."""
    for i, target in enumerate(view.prev_stripped[-k:]):
        row = _row(rows, i)
        if row is None:
            return _unknown(final)
        s = row[0].strip()
        if row[1]:
            if s != target:
                return _DEAD
        else:
            return _PENDING if target.startswith(s) else _DEAD
    return _current_status(view, rows, k, final)[0]


def _current_status(view: _View, rows: list[Row], i: int, final: bool) -> tuple[str, int]:
    """Whether row i starts with the cursor line's text, and how many characters that is."""
    if not view.text:
        return _HOLDS, 0
    row = _row(rows, i)
    if row is None:
        return _unknown(final), 0
    text, done = row
    a = text.lstrip(" \t")
    if a.startswith(view.core):
        drop = len(text) - len(a) + len(view.core)
        if view.text != view.core:  # the cursor follows a space: any spacing in the echo matches it
            while drop < len(text) and text[drop] in " \t":
                drop += 1
        return _HOLDS, drop
    return (_PENDING if not done and view.core.startswith(a) else _DEAD), 0


def _starts_status(rows: list[Row], s: str, final: bool) -> str:
    row = _row(rows, 0)
    if row is None:
        return _unknown(final)
    if row[0].startswith(s):
        return _HOLDS
    return _PENDING if not row[1] and s.startswith(row[0]) else _DEAD


def _echo(view: _View, rows: list[Row], final: bool) -> tuple[int, int, int | None] | None:
    """(first row after the echo, characters of it dropped, the model's column of the cursor's line).

    None while a longer echo could still turn out to hold.
    """
    spans = view.spans
    if rows:  # (only spans whose first line the answer's first row matches can hold or be pending)
        first, done = rows[0][0].strip(), rows[0][1]
        spans = [k for k, line in view.span_firsts if (line == first if done else line.startswith(first))]
    for k in spans:
        status = _span_status(view, k, rows, final)
        if status == _PENDING:
            return None
        if status == _HOLDS:
            _, drop = _current_status(view, rows, k, final)
            row = _row(rows, k)
            col = view.width(_ws(row[0])) if view.text and row is not None else None
            return k, drop, col
    if not view.text:
        return 0, 0, None
    status, drop = _current_status(view, rows, 0, final)
    if status == _PENDING:
        return None
    if status == _HOLDS:
        return 0, drop, view.width(_ws(rows[0][0]))
    for tail in (*view.tails, view.member):
        if not tail:
            continue
        status = _starts_status(rows, tail, final)
        if status == _PENDING:
            return None
        if status == _HOLDS:
            return 0, len(tail), None
    return 0, 0, None


def _select(
    view: _View, rows: list[Row], model_col: int | None, in_word: bool, final: bool
) -> tuple[list[str], bool]:
    """The suggestion's lines (first one continues the cursor's line), and whether they are final.

    ``model_col``: the model's indentation of the cursor's line, when it echoed that line;
    ``in_word``: the echo was a tail of the line, so the first row continues it.
    """
    c = view.col
    i = 0
    if view.whole_line:
        while i < len(rows) and not rows[i][0].strip():
            if not rows[i][1]:
                return [], False
            i += 1
        if i == len(rows):
            return [], final
        text, done = rows[i]
        ws = _ws(text)
        m0 = view.width(ws)
        a0 = max(c, m0)  # the model's first column, but never left of the cursor
        lines = [view.pad(c, a0) + text[len(ws) :]]
        shift, body = a0 - m0, a0
        i += 1
    else:
        shift = c - model_col if model_col is not None else 0
        body = c
        keep_break = view.keep_break and not in_word
        text, done = rows[0]
        i = 1
        if not text.strip():  # the answer ends the cursor's line here
            if not done:
                return [], False
            while i < len(rows) and not rows[i][0].strip():
                if not rows[i][1]:
                    return [], False
                i += 1
            if i == len(rows):
                return [], final
            text, done = rows[i]
            i += 1
            lines = ["", view.reindent(text, shift)] if keep_break else [text.lstrip(" \t")]
        elif (
            keep_break
            and model_col is None
            and view.opener_col is not None
            and view.width(_ws(text)) >= c + 2
        ):
            # "def f(x):" + "    return x" (the fence or think tag ate the line break): the next line.
            lines = ["", view.reindent(text, 0)]
        else:
            lines = [text]
    if not view.multiline or not done:
        return lines, done or final

    blanks = 0
    for text, done in rows[i:]:
        if len(lines) >= MAX_LINES:
            return lines, True
        if not text.strip():
            if not done:
                return lines, final
            blanks += 1
            if blanks >= 2:
                return lines, True
            lines.append("")
            continue
        col = view.width(_ws(text)) + shift
        if (
            col < body  # dedent below the body
            or (blanks and view.opener_col is not None and col <= view.opener_col)
            or (blanks and done and view.code_context and _is_sentence(text.strip()))  # prose after the code
        ):
            return lines, True
        blanks = 0
        lines.append(view.reindent(text, shift))
        if not done:
            return lines, final
    return lines, final


def _polish(view: _View, lines: list[str]) -> str:
    """Cut what repeats the text after the cursor, reject what is no suggestion, join."""
    lines = [line.rstrip() for line in lines]
    while len(lines) > 1 and not lines[-1]:
        lines.pop()
    if not any(line.strip() for line in lines):
        return ""

    # Trailing lines that are the lines below the cursor.
    if len(lines) > 1 or view.whole_line:
        for j in range(0 if view.whole_line else 1, len(lines)):
            if not lines[j].strip():
                continue
            if j == 0:  # the whole suggestion: compare real lines, indentation included
                real = [line for line in [view.line + lines[0], *lines[1:]] if line.strip()]
                repeats = real == view.below[: len(real)]
            else:
                tail = [line.strip() for line in lines[j:] if line.strip()]
                repeats = tail == view.below_stripped[: len(tail)] and not _unbalanced("\n".join(lines[:j]))
            if repeats:
                lines = lines[:j]
                break
        while len(lines) > 1 and not lines[-1]:
            lines.pop()
        if not lines or not any(line.strip() for line in lines):
            return ""

    # The end of the last line that is the rest of the cursor's line.
    rest = view.rest
    if rest.strip():
        last, head = lines[-1], "\n".join(lines[:-1])
        for i in range(len(last)):
            tail = last[i:]
            if rest.startswith(tail) or (len(rest.strip()) >= 3 and tail.startswith(rest)):
                if not _unbalanced(head + last[:i]):
                    # Whitespace before the cut separates the suggestion from the suffix ("x > 0 " +
                    # "and y"), but not before a closing bracket or a separator ("x " + ")").
                    lines[-1] = last[:i].rstrip() if rest.lstrip()[:1] in _NO_SPACE_BEFORE else last[:i]
                    break
        if not lines[-1].strip():
            lines.pop()
        while len(lines) > 1 and not lines[-1]:
            lines.pop()
        if not any(line.strip() for line in lines):
            return ""

    if view.whole_line:  # the lines just above, again
        real = [line for line in [view.line + lines[0], *lines[1:]] if line.strip()]
        if real == view.above[-len(real) :]:
            return ""
    return view.newline.join(lines)


def _shape(view: _View, code: list[str], growing: str | None, final: bool) -> tuple[str, bool]:
    """(suggestion, complete) from the code lines so far and the judged part of the unfinished line."""
    rows: list[Row] = [(line, True) for line in code]
    if growing is not None and not final:
        rows.append((growing, False))
    echo = _echo(view, rows, final)
    if echo is None:
        return "", False
    start, drop, model_col = echo
    rows = rows[start:]
    if not rows:
        return "", final
    rows[0] = (rows[0][0][drop:], rows[0][1])
    lines, complete = _select(view, rows, model_col, drop > 0 and model_col is None, final)
    return (_polish(view, lines) if lines else ""), complete


# --------------------------------------------------------------------------- streaming


class Progressive:
    """Feed the answer as it streams; know the suggestion, and when it is complete.

    Once ``feed`` reports ``complete``, its text is final: later deltas are ignored
    and ``finish()`` returns the same text. Before that, ``text`` is a preview
    (what the answer so far would give), which may still change.
    """

    def __init__(self, ctx: CompletionContext) -> None:
        self._view = _View(ctx)
        self._reasoning = _Reasoning()
        self._lines = _Lines()
        self._answer = _Answer(self._view)
        self._text: str | None = None  # the final suggestion, once known
        self._preview = ""

    def feed(self, delta: str) -> Suggestion:
        """After each streamed delta: the suggestion so far, and whether it is complete."""
        if self._text is None:
            for kind, text in self._reasoning.feed(delta):
                if self._event(kind, text):
                    break
        if self._text is not None:
            return Suggestion(self._text, True)
        return Suggestion(self._preview, False)

    def finish(self) -> str:
        """The final suggestion (== ``clean`` of all text fed)."""
        if self._text is None:
            for kind, text in self._reasoning.flush():
                if self._event(kind, text):
                    break
        if self._text is None:
            last = self._lines.partial
            self._lines.reset()
            if last:
                self._answer.push(last)
            self._text = _shape(self._view, self._answer.code, None, final=True)[0]
        return self._text

    def _event(self, kind: str, text: str) -> bool:
        """Process one event; True once the suggestion is complete."""
        if kind == _RESET:
            self._lines.reset()
            self._answer.reset()
            return False
        if kind == _GAP:
            self._answer.gap()
            return False
        for line in self._lines.feed(text):
            # The line as it stood just before its break, then the line itself: the same
            # checks a character-by-character stream would have made, so splits don't matter.
            if self._check(line):
                return True
            self._answer.push(line)
            if self._check(""):
                return True
        return self._check(self._lines.partial)

    def _check(self, partial: str) -> bool:
        answer = self._answer
        if answer.ended:
            self._text = _shape(self._view, answer.code, None, final=True)[0]
            return True
        if answer.state == _LEAD:
            # Nothing is decided before the code starts; preview a line that looks like code.
            s = partial.lstrip(" \t")
            code = [""] if answer.leading_break else []
            codeish = s and s[0] not in "`~<"
            self._preview = _shape(self._view, code, partial, final=False)[0] if codeish else ""
            return False
        growing, closing = answer.growing(partial)
        if closing:
            self._text = _shape(self._view, answer.code, None, final=True)[0]
            return True
        text, complete = _shape(self._view, answer.code, growing, final=False)
        if complete:
            self._text = text
            return True
        self._preview = text
        return False
