"""Redacted copies of the open documents, made while the editor is idle.

A completion request takes snippets from the other open buffers and sends the code
around the cursor; redacting them on the request path costs milliseconds. Redaction
keeps every line break, so a document redacted whole has the same lines as the
document, and a window of its lines is that window redacted (with the whole file as
context, which can only find more). A moment after a document opens or changes, a
background task redacts it one paragraph at a time, yielding to requests between
paragraphs; this also fills the redaction memo (Privacy.redact) with the document's
paragraphs, so the code around the cursor is mostly a memo hit too. A copy is used only
while its document is at the same version, with the same privacy rules; it follows the
user's edits to a new version when they cannot change how other lines are redacted
(`RedactedViews.edited`), and the idle pass then looks at the edited lines only. The same pass
hands each document to ``prepare`` first: the context builder indexes it for snippet
ranking there, so the first completion after opening many files does not index them all.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time

log = logging.getLogger(__name__)

IDLE_SECONDS = 0.5  # after the last open/change: typing is over for now
QUIET_SECONDS = 0.05  # after a completion request: the next one may be on its way
SLICE_SECONDS = 0.001  # redaction run before yielding to requests (a request waits at most this)
# Larger texts get no copy: one paragraph is redacted without a pause (~12 µs a line), and
# a bigger file would keep a core busy for seconds.
MAX_PIECE_CHARS = 40_000
MAX_DOCUMENT_CHARS = 20_000_000
# Paragraphs of a bigger file are not put in the redaction memo: they would push the other
# files out of it (the copy follows the user's edits, so the file is seldom copied again).
REMEMBERED_DOCUMENT_CHARS = 1_000_000
_LINE_BREAK = re.compile(r"\r\n|\r|\n")  # LSP's line breaks only, as the documents and the index split


class _View:
    """A document's redacted copy: only the lines redaction changed are kept (few or none in
    most code), the rest are the document's own; lines edited since the copy was made
    (`unsure`) are redacted one by one when asked for (see RedactedViews.edited)."""

    __slots__ = ("changed", "privacy", "unsure", "version", "whole")

    def __init__(self, version, privacy, changed: dict[int, str], whole: bool) -> None:
        self.version = version
        self.privacy = privacy
        self.changed = changed
        self.whole = whole  # redacted in one piece (a key block...): edits cannot be followed
        self.unsure: dict[int, str | None] = {}  # edited line -> its redaction, once asked for

    def line(self, doc, n: int) -> str:
        if n in self.unsure:
            redacted = self.unsure[n]
            if redacted is None:
                redacted = self.unsure[n] = self.privacy.redact(doc.line(n))
            return redacted
        return self.changed.get(n, doc.line(n))

    def settle(self, doc) -> None:
        """Redact the edited lines now (the editor is idle) and keep them as the others."""
        for n in self.unsure:
            redacted = self.line(doc, n)
            if redacted != doc.line(n):
                self.changed[n] = redacted
        self.unsure = {}


class RedactedViews:
    def __init__(self, prepare=None) -> None:
        self._prepare = prepare  # prepare(doc): also done to each document when idle (not excluded, not too big)
        self._views: dict[str, _View] = {}
        self._dirty: set[str] = set()
        self._last_change = 0.0
        self._task: asyncio.Task | None = None
        self._source = None  # the last source given: to copy again when the rules change
        self._requests = 0  # completion requests in flight: the copies wait for them
        self._last_request = 0.0  # when the last one was answered

    @contextlib.contextmanager
    def paused(self):
        """Hold the background work while a request is served, and for a moment after.

        A request awaits a dozen times on its way (the handler, the engine, the HTTP
        exchange) and would meet a slice at each; held, it meets at most the one slice in
        progress when it arrives. The moment after keeps a client's next request, sent as
        soon as an answer arrives, from meeting one too."""
        self._requests += 1
        try:
            yield
        finally:
            self._requests -= 1
            self._last_request = time.monotonic()

    async def _wait_for_quiet(self) -> None:
        """Until the user has stopped typing for IDLE_SECONDS and no request was served for QUIET_SECONDS."""
        while True:
            now = time.monotonic()
            wait = max(IDLE_SECONDS - (now - self._last_change), QUIET_SECONDS - (now - self._last_request),
                       QUIET_SECONDS if self._requests else 0.0)
            if wait <= 0:
                return
            await asyncio.sleep(wait)

    def window(self, doc, privacy, first: int, end: int) -> str | None:
        """Lines ``first``..``end - 1`` redacted, joined with newlines (as the index joins a
        window); None if the copy is not ready for this version of the document and these rules."""
        view = self._views.get(doc.uri)
        if view is None or view.version != doc.version or view.privacy is not privacy:
            if view is not None and view.version == doc.version and self._source is not None:
                self.changed(doc.uri, self._source)  # new privacy settings: copy it again when idle
            return None
        return "\n".join(view.line(doc, n) for n in range(first, min(end, doc.line_count)))

    def unchanged(self, doc, privacy, first: int, end: int) -> bool:
        """True when the copy is ready for this version and rules and redaction changed none
        of lines ``first``..``end - 1``: that text can go out as it is, unredacted again."""
        view = self._views.get(doc.uri)
        if view is None or view.version != doc.version or view.privacy is not privacy:
            return False
        if any(first <= n < end for n in view.changed):  # (few or no changed lines in most code)
            return False
        return all(view.line(doc, n) == doc.line(n) for n in view.unsure if first <= n < end)

    def edited(self, doc, old_version, first: int, old_lines: list[str], new_count: int) -> None:
        """The user's edit replaced lines ``first``.. (``old_lines``, with their terminators) by
        ``new_count`` lines, making ``doc`` (now at its new version) from ``old_version``.

        Redaction reads one line at a time, but for a few rules that look further (privacy.py:
        key blocks, a secret of the user's with a line break, ('NAME', 'value') after a "(" on
        an earlier line). When the edit touches none of those, the copy stays good for every
        other line: it moves to the new version with the edited lines to be redacted on their
        own when asked for. Otherwise it stays behind and is made again when the editor is idle.
        Keystrokes meet a copy one version old otherwise, and the code around the cursor and
        the definitions taken from the file would be redacted again on every request."""
        view = self._views.get(doc.uri)
        if view is None or view.version != old_version or view.whole or not view.privacy.line_by_line:
            return
        new_lines = [doc.line_with_ending(n) for n in range(first, first + new_count)]
        above = next((doc.line_with_ending(n) for n in range(first - 1, -1, -1) if doc.line(n).strip()), "")
        if above.rstrip().endswith("(") or _lone_cr(doc.line_with_ending(first - 1) if first else ""):
            return  # ('NAME', 'value') after that "(" may be on an edited line
        for line in (*old_lines, *new_lines):
            if line.rstrip().endswith("(") or "PRIVATE KEY" in line or "-----" in line or _lone_cr(line):
                return  # may change how the lines after it are redacted
        delta, end = new_count - len(old_lines), first + len(old_lines)

        def moved(n: int) -> int:
            return n if n < first else n + delta

        view.changed = {moved(n): text for n, text in view.changed.items() if not first <= n < end}
        unsure = {moved(n): text for n, text in view.unsure.items() if not first <= n < end}
        unsure.update(dict.fromkeys(range(first, first + new_count)))
        view.unsure = unsure
        view.version = doc.version

    def changed(self, uri: str, source) -> None:
        """A document opened or changed. ``await source(uri)`` → (documents, privacy, excluded), asked when idle."""
        self._dirty.add(uri)
        self._source = source
        self._last_change = time.monotonic()
        if self._task is None or self._task.done():
            try:
                self._task = asyncio.get_running_loop().create_task(self._run(source))
            except RuntimeError:  # no event loop (tests of the pure parts)
                pass

    def forget(self, uri: str) -> None:
        self._views.pop(uri, None)
        self._dirty.discard(uri)

    async def _run(self, source) -> None:
        while self._dirty:
            await self._wait_for_quiet()
            if not self._dirty:
                break  # (closed meanwhile)
            uri = self._dirty.pop()
            try:
                await self._redact(uri, *await source(uri))
            except Exception as exc:  # a background nicety: never worth a crash
                log.debug("redacting %s in the background failed: %s", uri, exc)

    async def _redact(self, uri: str, documents, privacy, excluded: bool) -> None:
        if uri not in documents or excluded or privacy is None:
            self._views.pop(uri, None)
            return
        doc = documents.get(uri)
        if doc.length > MAX_DOCUMENT_CHARS:
            self._views.pop(uri, None)  # too big to copy: its windows are redacted on demand
            return
        version = doc.version
        if self._prepare is not None:
            self._prepare(doc)  # a few milliseconds in one go (indexing a 2,000-line file: ~5)
            await asyncio.sleep(0)
            await self._wait_for_quiet()
            if uri not in documents or documents.get(uri).version != version:
                self._dirty.add(uri)  # changed meanwhile: start again when idle
                return
        view = self._views.get(uri)
        if view is not None and view.version == version and view.privacy is privacy:
            view.settle(doc)  # the copy followed the edits since it was made (edited()): only those lines
            return
        text = doc.text
        paragraphs = privacy.pieces(text)
        whole = paragraphs is None  # a key block or a secret across paragraphs: one piece, if small
        if whole:
            paragraphs = [text]
        if max(map(len, paragraphs)) > MAX_PIECE_CHARS:
            self._views.pop(uri, None)  # would hold up requests: its windows are redacted on demand
            return
        remember = len(text) <= REMEMBERED_DOCUMENT_CHARS
        changed: dict[int, str] = {}
        line = 0  # the first line of the paragraph (pieces() cuts at line starts)
        started = time.monotonic()
        for paragraph in paragraphs:
            redacted = privacy.redact(paragraph) if whole else privacy.redact_piece(paragraph, remember)
            if redacted != paragraph:  # rare: only these lines are compared and kept
                before, after = _LINE_BREAK.split(paragraph), _LINE_BREAK.split(redacted)
                if len(before) != len(after):
                    self._views.pop(uri, None)  # redaction promises the same lines; without them, no copy
                    return
                changed.update((line + n, new) for n, (old, new) in enumerate(zip(before, after)) if old != new)
            line += line_breaks(paragraph)
            if time.monotonic() - started > SLICE_SECONDS:
                await asyncio.sleep(0)  # let requests in
                await self._wait_for_quiet()
                if uri not in documents or documents.get(uri).version != version:
                    self._dirty.add(uri)  # changed meanwhile: start again when idle
                    return
                started = time.monotonic()
        self._views[uri] = _View(version, privacy, changed, whole)


def _lone_cr(text: str) -> bool:
    """A "\r" line break (LSP's) that redaction, which ends lines at "\n", does not see."""
    return "\r" in text.replace("\r\n", "")


def line_breaks(text: str) -> int:
    """Line breaks in ``text`` as LSP counts them (\\n, \\r\\n or a lone \\r)."""
    return text.count("\n") + text.count("\r") - text.count("\r\n")
