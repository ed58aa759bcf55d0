"""One streamed edit into one document: model lines in, versioned ``workspace/applyEdit`` out.

The `Region` (edits/region.py) says what the target lines should hold; this module
moves the document there, one applyEdit at a time, each carrying
``documentChanges`` with the version the server last saw (sent to every client:
Neovim applies them without advertising them).

Confirmation comes from the document, not the reply: an edit is done when a
``didChange`` makes the region hold exactly what we sent (our echo, recognised by
content, ranged or whole-document, before or after the reply). A reply
``applied: true`` with no echo (Neovim skips stale edits yet says true) or
``applied: false`` after the user typed means: rebase on the newer version and
send again. ``applied: false`` with no change meanwhile means the client refused.

A user edit above the region moves it, below leaves it, inside it stops the
session: the user's text wins and nothing more is written.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from lsprotocol import types

from glm_lsp.context.documents import index_to_units, split_lines
from glm_lsp.edits.region import LineEdit, Region, as_lines, line_edits

log = logging.getLogger(__name__)

ECHO_WAIT = 0.5  # seconds to wait for the didChange of an applied edit before re-checking
REFUSAL_WAIT = 0.2  # after applied:false, time for a crossing keystroke's didChange to arrive
MAX_SENDS = 6  # attempts for one state before giving up
APPLY_TIMEOUT = 5.0  # a client that never answers applyEdit counts as refusing it


class EditRefused(Exception):
    """The client would not apply our edit (not a keystroke crossing it)."""


class UserEditedInside(Exception):
    """The user typed inside the region; the session stops and keeps their text."""


@dataclass
class _Pending:
    version: int | None
    start: int
    wanted: list[str]
    line_count: int  # the document's line count once applied
    confirmed: bool = False


class EditSession:
    def __init__(self, server, uri: str, region: Region) -> None:
        self.server = server
        self.uri = uri
        self.region = region
        self.conflict = False
        self.moved_by_user = False
        self._pending: _Pending | None = None
        self._changed = asyncio.Event()
        self._lock = asyncio.Lock()
        self._dirty = asyncio.Event()
        self._closing = False
        self._flusher: asyncio.Task | None = None
        self.error: BaseException | None = None  # what stopped the background flushes
        self.prefix = 0  # lines written before the model's (glm.tests: the separator at the file's end)

    # -- streaming: flush in the background while the model keeps writing --------------

    def kick(self) -> None:
        """The region changed: bring the document up to date soon (never blocks the reader)."""
        if self._flusher is None:
            self._flusher = asyncio.create_task(self._flush_loop())
        self._dirty.set()

    async def settle(self) -> None:
        """Let the in-flight edit finish (never cut one mid-way) and stop the background flushes."""
        self._closing = True
        self._dirty.set()
        if self._flusher is not None:
            await asyncio.shield(self._flusher)
            self._flusher = None
        self._closing = False

    async def _flush_loop(self) -> None:
        while True:
            await self._dirty.wait()
            self._dirty.clear()
            if self._closing:
                return
            try:
                await self.flush()
            except (EditRefused, UserEditedInside) as exc:
                self.error = exc
                return

    # -- called by the didChange handler, after the store applied the change ---------

    def on_change(self, changes: list[tuple[str, tuple | None]], old_lines: list[str] | None) -> None:
        doc = self.server.state.documents.get(self.uri)
        pending = self._pending
        if pending is not None and not pending.confirmed and self._holds(doc, pending):
            pending.confirmed = True
            self.region.start, self.region.length = pending.start, len(pending.wanted)
        else:
            self._classify(changes, old_lines, doc)
        self._changed.set()

    def _holds(self, doc, pending: _Pending) -> bool:
        if doc.line_count != pending.line_count:
            return False
        lines = range(pending.start, pending.start + len(pending.wanted))
        return all(doc.line_with_ending(n) == want for n, want in zip(lines, pending.wanted))

    def _classify(self, changes, old_lines, doc) -> None:
        for text, rng in changes:
            if rng is None:
                new_lines = [doc.line_with_ending(n) for n in range(doc.line_count)]
                where = self.region.classify_whole(old_lines or [], new_lines)
            else:
                where = self.region.classify(rng[0], rng[1], text)
            if where == "inside":
                self.conflict = True
                return
            if where == "above":
                self.moved_by_user = True

    # -- moving the document to the region's wanted state ------------------------------

    async def flush(self) -> None:
        """Make the document's region hold ``region.wanted()``; returns once confirmed."""
        async with self._lock:
            for _ in range(MAX_SENDS):
                if self.conflict:
                    raise UserEditedInside()
                doc = self.server.state.documents.get(self.uri)
                current = [doc.line_with_ending(n) for n in range(self.region.start, self.region.end)]
                wanted = self.region.wanted()
                edits = line_edits(current, wanted, self.region.start)
                if not edits:
                    self.region.length = len(wanted)
                    return
                pending = _Pending(doc.version, self.region.start, wanted, _line_count_after(doc, self.region, wanted))
                self._pending = pending
                self._changed.clear()
                applied = await self._send(doc, edits)
                if await self._settle(pending, applied):
                    return
            raise EditRefused(f"the editor did not apply glm-lsp's edit after {MAX_SENDS} tries")

    async def _settle(self, pending: _Pending, applied: bool) -> bool:
        """True once confirmed; False to rebase and resend; raises when refused or conflicted."""
        wait = ECHO_WAIT if applied else REFUSAL_WAIT
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while not pending.confirmed and not self.conflict:
            doc = self.server.state.documents.get(self.uri)
            if doc.version != pending.version:
                return False  # the document moved on without our edit: rebase
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except TimeoutError:
                break
        if pending.confirmed:
            return True
        if self.conflict:
            raise UserEditedInside()
        doc = self.server.state.documents.get(self.uri)
        if doc.version != pending.version:
            return False
        if not applied:
            raise EditRefused("the editor refused glm-lsp's edit")
        return False  # "applied" but nothing changed: send again (bounded by MAX_SENDS)

    async def _send(self, doc, edits: list[LineEdit]) -> bool:
        encoding = self.server.state.encoding
        text_edits = [types.TextEdit(range=_lsp_range(doc, e, encoding), new_text=e.text) for e in edits]
        params = types.ApplyWorkspaceEditParams(
            label="GLM",
            edit=types.WorkspaceEdit(
                document_changes=[
                    types.TextDocumentEdit(
                        text_document=types.OptionalVersionedTextDocumentIdentifier(uri=self.uri, version=doc.version),
                        edits=text_edits,
                    )
                ]
            ),
        )
        try:
            result = await asyncio.wait_for(self.server.workspace_apply_edit_async(params), APPLY_TIMEOUT)
        except Exception as exc:  # an error answer, or none in time: same as a refusal
            log.info("applyEdit failed: %s", exc)
            return False
        if not result.applied:
            log.info("applyEdit not applied (%s)", result.failure_reason)
        return bool(result.applied)


def _line_count_after(doc, region: Region, wanted: list[str]) -> int:
    """The document's line count once the region holds ``wanted``.

    Only the document's last line lacks a terminator, so a region that ends before it
    keeps the lines after it as they are; one that ends the document decides whether
    a final empty line follows.
    """
    text = "".join(wanted)
    if region.end < doc.line_count:
        return region.start + len(as_lines(text)) + doc.line_count - region.end
    return region.start + len(split_lines(text))


def _lsp_range(doc, edit: LineEdit, encoding: str) -> types.Range:
    """Whole lines [start, end); past the last line means the end of the document."""
    last = doc.line_count - 1

    def position(line: int) -> types.Position:
        if line <= last:
            return types.Position(line=line, character=0)
        text = doc.line(last)
        return types.Position(line=last, character=index_to_units(text, len(text), encoding))

    return types.Range(start=position(edit.start), end=position(edit.end))
