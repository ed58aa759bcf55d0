"""The replacement text inside a chat model's answer, found while the answer streams.

Asked to "fix this code", GLM-5.1 answers like a chat model: prose around a
markdown fence (with or without a language tag, sometimes several fences),
reasoning in ``<think>`` tags, the line above or below the target repeated,
CRLF line endings, tabs where the file uses spaces, the snippet dedented to
column 0. The editor needs exactly the text that replaces the target range, in
the file's own indentation and line endings — and, while the answer is still
arriving, whole lines that are already final, so they can go into the buffer at
once and never be taken back.

The stages, each holding back only what a later character could still change::

    model text → reasoning removed            (<think>…</think>; all before a lone </think>)
               → lines                        (CRLF, CR or LF; a "\\r\\n" may be split)
               → code lines of the FIRST fence (prose and later fences ignored)
               → leading echo of ``before`` and leading blank lines dropped
               → tabs/spaces and base indentation fixed, line by line
               → a possible trailing echo of ``after`` / trailing blank lines held
               → lines ending in ``ctx.newline``

Decisions where the rules leave room:

* Reasoning tags count only until the first fence opens. From then on the text
  is committed code: a literal ``<think>`` in it stays, and a late lone
  ``</think>`` cannot retract lines that were already streamed.
* Inside a fence, a line that is only a fence of the same character and at
  least as long (any indentation, trailing spaces) closes it, even if the code
  meant it as text in a string; ```` ```python ```` with a tag never closes.
  Nesting needs a longer outer fence (````), as in Markdown.
* With no fence anywhere, the whole answer (reasoning removed, blank lines
  trimmed) is the code; nothing is streamed for it, ``finish()`` returns it.
* Spaces from the model in a tab-indented file: the model's unit is its
  smallest indentation, known only at the end, so from the first such line on
  everything is held until the code ends.
* Blank lines at the start (end) of the code are kept only if the original's
  first (last) line is blank; otherwise they are dropped. Lines that hold only
  whitespace are never re-indented.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = ["ExtractContext", "StreamExtractor", "extract"]

_BREAK = re.compile(r"\r\n|\r|\n")
_BREAK_CHAR = re.compile(r"[\r\n]")
_TAG = re.compile(r"<(/?)think(?:ing)?>", re.IGNORECASE)
_CLOSE_TAG = re.compile(r"</think(?:ing)?>", re.IGNORECASE)
_TAGS = ("<think>", "<thinking>", "</think>", "</thinking>")
_CLOSE_TAGS = ("</think>", "</thinking>")
_OPEN_FENCE = re.compile(r"(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>.*)")
_CLOSE_FENCE = re.compile(r"[ \t]*(?P<fence>`{3,}|~{3,})[ \t]*")


@dataclass
class ExtractContext:
    """What the extractor knows about the target range and its file."""

    original: str  # the target's text: whole lines with terminators (the last may lack one)
    before: list[str] = field(default_factory=list)  # up to 3 lines above, nearest last
    after: list[str] = field(default_factory=list)  # up to 3 lines below, nearest first
    newline: str = "\n"  # the file's line ending
    indent_unit: str = "    "  # N spaces or "\t"


def extract(answer: str, ctx: ExtractContext) -> str:
    """The replacement text in a complete answer (the same as streaming it in one piece)."""
    extractor = StreamExtractor(ctx)
    extractor.feed(answer)
    return extractor.finish()


def _leading_ws(line: str) -> str:
    return line[: len(line) - len(line.lstrip(" \t"))]


def _space_run(line: str) -> int:
    """How many spaces the line starts with."""
    return len(line) - len(line.lstrip(" "))


def _nonblank(lines: list[str]) -> list[str]:
    """The non-blank lines, stripped: what echo detection compares."""
    return [line.strip() for line in lines if line.strip()]


def _tag_start(buf: str, pos: int, tags: tuple[str, ...]) -> str:
    """The tail of ``buf`` that could still grow into one of ``tags`` ("" if none)."""
    k = buf.rfind("<", pos)  # a tag holds one "<", so only the last one can start it
    if k < 0:
        return ""
    tail = buf[k:].lower()
    return buf[k:] if any(tag.startswith(tail) for tag in tags) else ""


class _ThinkStripper:
    """Removes reasoning from text that arrives in pieces; a tag may be split between pieces."""

    def __init__(self) -> None:
        self._inside = False
        self._pending = ""  # a tail that may be the start of a tag

    def feed(self, text: str) -> tuple[str, bool]:
        """The visible text, and whether a lone ``</think>`` discarded everything before it."""
        buf, self._pending = self._pending + text, ""
        out: list[str] = []
        reset, pos = False, 0
        while True:
            if self._inside:
                m = _CLOSE_TAG.search(buf, pos)
                if m is None:  # the reasoning goes on: drop it, keep a possible "</thi"
                    self._pending = _tag_start(buf, pos, _CLOSE_TAGS)
                    return "".join(out), reset
                self._inside, pos = False, m.end()
                continue
            m = _TAG.search(buf, pos)
            if m is None:
                self._pending = _tag_start(buf, pos, _TAGS)
                out.append(buf[pos : len(buf) - len(self._pending)])
                return "".join(out), reset
            if m.group(1):  # "</think>" that nothing opened: all before it was reasoning
                out, reset = [], True
            else:
                out.append(buf[pos : m.start()])
                self._inside = True
            pos = m.end()

    def flush(self) -> str:
        """At the end: a held "<thi…" was text after all; unclosed reasoning is dropped."""
        text = "" if self._inside else self._pending
        self._pending = ""
        return text


class _LineSplitter:
    """Whole lines out of text arriving in pieces; CRLF, CR and LF all end a line."""

    def __init__(self) -> None:
        self._partial = ""
        self._skip_lf = False  # the last piece ended in "\r": a "\n" next belongs to it

    def feed(self, text: str) -> list[str]:
        if not text:
            return []
        if self._skip_lf:
            self._skip_lf = False
            if text.startswith("\n"):
                text = text[1:]
        lines, pos = [], 0
        for m in _BREAK.finditer(text):
            lines.append(self._partial + text[pos : m.start()])
            self._partial, pos = "", m.end()
        self._partial += text[pos:]
        self._skip_lf = text.endswith("\r")
        return lines

    def flush(self) -> str:
        """The unterminated last line ("" if none)."""
        fragment, self._partial = self._partial, ""
        return fragment

    def reset(self) -> None:
        self._partial, self._skip_lf = "", False


class _Code:
    """Code lines in (no terminators); out come lines no later code line can change.

    ``push`` returns the lines that are final now; ``close`` returns the rest.
    Stages, in order: head (leading echo, leading blanks), indentation, tail
    (trailing echo, trailing blanks), last line (an original without a final
    terminator must not have its last line streamed with one).
    """

    def __init__(self, ctx: ExtractContext) -> None:
        self._before = _nonblank(ctx.before)
        self._after = _nonblank(ctx.after)
        self._terminated = ctx.original.endswith(("\n", "\r"))
        original = _BREAK.split(ctx.original) if ctx.original else []
        if self._terminated:
            original.pop()  # the empty text after the last terminator is no line
        self._keep_leading_blank = bool(original) and not original[0].strip()
        self._keep_trailing_blank = bool(original) and not original[-1].strip()
        self._base = next((_leading_ws(line) for line in original if line.strip()), "")
        self._tabs = "\t" in ctx.indent_unit
        self._unit = ctx.indent_unit or "    "

        self._head: list[str] | None = []  # None once the leading echo is decided
        self._prefix: str | None = None  # added to every non-blank line; known at the first one
        self._space_unit = 4  # the model's indentation unit when it uses spaces in a tab file
        self._deferred: list[str] | None = None  # tab file: lines from the first space-indented one
        self._tail: list[str] = []  # might still be a trailing echo or trailing blank lines
        self._code_kept = False  # a non-blank line has left the tail for good
        self._last: list[str] = []  # unterminated original: from the newest non-blank line on

    def push(self, line: str) -> list[str]:
        if self._head is None:
            lines = [line]
        else:
            self._head.append(line)
            k = self._leading_echo(final=False)
            if k is None:
                return []
            lines = self._drop_head(k)
        return self._hold_last(self._hold_tail(self._fix(lines)))

    def close(self) -> list[str]:
        lines = self._drop_head(self._leading_echo(final=True)) if self._head is not None else []
        fixed = self._fix(lines) + self._flush_deferred()
        out = self._last + self._hold_tail(fixed) + self._close_tail()
        self._last = []
        return out

    # --- head: leading echo of `before`, leading blank lines

    def _leading_echo(self, final: bool) -> int | None:
        """How many non-blank lines echo the end of ``before``; None while more lines could change it."""
        assert self._head is not None
        seen, before = _nonblank(self._head), self._before
        if not seen:
            return 0 if final else None

        def fits(k: int) -> bool:  # seen so far agrees with the last k lines of `before`
            n = min(k, len(seen))
            return seen[:n] == before[len(before) - k :][:n]

        # A longer echo could still complete, or a full match still needs a line after it.
        if not final and any(fits(k) for k in range(len(seen), len(before) + 1)):
            return None
        # k < len(seen): never drop the echo when nothing would be left.
        return max((k for k in range(1, min(len(seen), len(before) + 1)) if fits(k)), default=0)

    def _drop_head(self, k: int) -> list[str]:
        head, self._head = self._head or [], None
        if not any(line.strip() for line in head):
            return []  # no code at all
        if k:
            nonblank = [i for i, line in enumerate(head) if line.strip()]
            head = head[nonblank[k - 1] + 1 :]
        if not self._keep_leading_blank:
            while head and not head[0].strip():
                head = head[1:]
        return head

    # --- indentation: tabs vs spaces, then the base indentation

    def _fix(self, lines: list[str]) -> list[str]:
        out = []
        for line in lines:
            if self._deferred is None and self._tabs and line.strip() and line.startswith(" "):
                self._deferred = []  # the space unit is unknown until the end
            if self._deferred is not None:
                self._deferred.append(line)
            else:
                out.append(self._reindent(line))
        return out

    def _flush_deferred(self) -> list[str]:
        deferred, self._deferred = self._deferred or [], None
        runs = [_space_run(line) for line in deferred if line.strip()]
        self._space_unit = min((n for n in runs if n), default=4)
        return [self._reindent(line) for line in deferred]

    def _reindent(self, line: str) -> str:
        if not line.strip():
            return line  # whitespace-only lines stay as the model wrote them
        ws = _leading_ws(line)
        rest = line[len(ws) :]
        if self._tabs:
            spaces = _space_run(ws)
            unit = self._space_unit
            ws = "\t" * (spaces // unit) + " " * (spaces % unit) + ws[spaces:]
        else:
            ws = ws.replace("\t", self._unit)
        if self._prefix is None:  # the first code line tells how far the model dedented
            self._prefix = self._base[len(ws) :] if len(ws) < len(self._base) else ""
        return self._prefix + ws + rest

    # --- tail: trailing echo of `after`, trailing blank lines

    def _hold_tail(self, lines: list[str]) -> list[str]:
        released = []
        for line in lines:
            self._tail.append(line)
            # Keep the longest suffix whose non-blank lines start `after`; release the rest.
            while self._tail and _nonblank(self._tail) != self._after[: len(_nonblank(self._tail))]:
                gone = self._tail.pop(0)
                released.append(gone)
                self._code_kept = self._code_kept or bool(gone.strip())
        return released

    def _close_tail(self) -> list[str]:
        tail, self._tail = self._tail, []
        held = _nonblank(tail)
        keep = len(held)
        for j in range(len(held), 0, -1):  # the longest echo that leaves some code
            if held[len(held) - j :] == self._after[:j] and (self._code_kept or j < len(held)):
                keep = len(held) - j
                break
        if keep < len(held):
            nonblank = [i for i, line in enumerate(tail) if line.strip()]
            tail = tail[: nonblank[keep]]
        if not self._keep_trailing_blank:
            while tail and not tail[-1].strip():
                tail.pop()
        return tail

    # --- last line: without a final terminator in the original, it is written only by finish()

    def _hold_last(self, lines: list[str]) -> list[str]:
        if self._terminated:
            return lines
        self._last += lines
        nonblank = [i for i, line in enumerate(self._last) if line.strip()]
        if not nonblank:
            return []
        out, self._last = self._last[: nonblank[-1]], self._last[nonblank[-1] :]
        return out


_PROSE, _CODE, _DONE = "prose", "code", "done"


class StreamExtractor:
    """Feed the model's answer piece by piece; get the lines that are final, then the whole text.

    Everything ``feed`` returned is a prefix of what ``finish`` returns.
    """

    def __init__(self, ctx: ExtractContext) -> None:
        self._ctx = ctx
        self._newline = ctx.newline
        self._terminated = ctx.original.endswith(("\n", "\r"))
        self._think = _ThinkStripper()
        self._lines = _LineSplitter()
        self._state = _PROSE  # → _CODE when the first fence opens → _DONE when it closes
        self._prose: list[str] = []  # visible lines before any fence: the code if none ever opens
        self._fence = ""
        self._fence_indent = ""
        self._code = _Code(ctx)
        self._streamed: list[str] = []  # every line feed() returned, without terminators
        self._closing: list[str] = []  # final lines not streamed when the fence closed
        self._result: str | None = None

    def feed(self, delta: str) -> list[str]:
        """The new final lines (each ending in ``ctx.newline``) after this piece of the answer."""
        if self._result is not None or self._state == _DONE:
            return []
        pos = 0
        # Before the fence, reasoning tags matter: go one line at a time, so the text after
        # the fence opener reaches the code unchanged.
        while pos < len(delta) and self._state == _PROSE:
            m = _BREAK_CHAR.search(delta, pos)
            end = m.end() if m else len(delta)
            self._prose_text(delta[pos:end])
            pos = end
        out: list[str] = []
        if self._state == _CODE:
            for line in self._lines.feed(delta[pos:]):
                if self._state != _CODE:
                    break  # prose after the first fence is ignored
                out += self._code_line(line)
        self._streamed += out
        return [line + self._newline for line in out]

    def finish(self) -> str:
        """The exact replacement text; "" if the answer held no code."""
        if self._result is not None:
            return self._result
        rest: list[str] = []
        if self._state == _PROSE:
            self._prose_text("", end=True)
        elif self._state == _CODE:
            fragment = self._lines.flush()
            if fragment:
                rest += self._code_line(fragment)
        if self._state == _PROSE:
            rest += self._bare_code()
        elif self._state == _CODE:  # the fence never closed
            rest += self._code.close()
        else:
            rest += self._closing
        text = "".join(line + self._newline for line in self._streamed + rest)
        if text and not self._terminated:
            text = text[: -len(self._newline)]
        self._result = text
        return text

    def _prose_text(self, raw: str, end: bool = False) -> None:
        visible, reset = self._think.feed(raw)
        if reset:
            self._prose.clear()
            self._lines.reset()
        if end:
            visible += self._think.flush()
        lines = self._lines.feed(visible)
        if end:
            fragment = self._lines.flush()
            if fragment:
                lines.append(fragment)
        for line in lines:
            if self._state == _PROSE:
                self._prose_line(line)

    def _prose_line(self, line: str) -> None:
        m = _OPEN_FENCE.fullmatch(line)
        # "```x``` inline" is no fence: a backtick fence's tag has no backtick.
        if m and not (m["fence"][0] == "`" and "`" in m["info"]):
            self._state = _CODE
            self._fence, self._fence_indent = m["fence"], m["indent"]
        else:
            self._prose.append(line)

    def _code_line(self, line: str) -> list[str]:
        m = _CLOSE_FENCE.fullmatch(line)
        if m and m["fence"][0] == self._fence[0] and len(m["fence"]) >= len(self._fence):
            self._state = _DONE
            final = self._code.close()
            # Without a final terminator in the original, the last line must wait for finish().
            cut = len(final) if self._terminated else max(len(final) - 1, 0)
            self._closing = final[cut:]
            return final[:cut]
        indent = self._fence_indent
        if indent:  # a model that indented the fence indented its content as much
            if line.startswith(indent):
                line = line[len(indent) :]
            else:
                line = line[min(len(_leading_ws(line)), len(indent)) :]
        return self._code.push(line)

    def _bare_code(self) -> list[str]:
        lines = list(self._prose)
        while lines and not lines[0].strip():
            lines.pop(0)
        while lines and not lines[-1].strip():
            lines.pop()
        code = _Code(self._ctx)
        out: list[str] = []
        for line in lines:
            out += code.push(line)
        return out + code.close()
