"""A simulated editor on top of the pytest-lsp client, for end-to-end tests of streamed edits.

glm-lsp streams code into the user's buffer with versioned ``workspace/applyEdit``
requests, and real editors treat those requests differently (STYLE.md trap 10):

* **VS Code** refuses a whole edit as soon as one ``TextDocumentEdit`` names a
  version the document no longer has (``applied: false``; nothing is applied).
* **Neovim** (``vim.lsp.util.apply_text_document_edit``) checks only the
  *first* entry of ``documentChanges``, skips it silently when the buffer is
  *newer* than the edit (``version > 0 and buffer_version > version``; it prints
  "newer than edits") and still answers ``applied: true``.  It applies
  ``documentChanges`` although its capabilities do not advertise them.
* **Helix 25.01** (``Editor::apply_workspace_edit``) applies the entries one by
  one and stops at the first whose version differs (``applied: false``,
  ``failedChange`` = its index); entries before it stay applied.

Whatever the editor, the ``didChange`` echo of an applied edit may reach the
server before or after the applyEdit reply, ranged or as the whole document.

Two layers:

* :class:`EditorModel` and the functions above it are pure (no LSP, no I/O
  except reading a not-yet-open file from disk): LSP line splitting, position
  encodings, bottom-up application of a ``TextDocumentEdit``, the per-editor
  version decisions and the ``didChange`` content changes.
  ``tests/unit/test_editor_model.py`` tests them.
* :class:`Editor` binds a model to a running pytest-lsp ``LanguageClient``:
  it answers ``workspace/applyEdit`` and ``window/showMessageRequest``, sends
  ``didOpen``/``didChange``/``didClose`` in document-version order, and lets a
  test "type" while a stream runs::

      editor = Editor(client, encoding="utf-8", behaviour="neovim", echo="after", sync="full")
      editor.open(uri, "def f():\\n    pass\\n")
      editor.on_apply = lambda applied: editor.type(uri, (0, 0), "# hi\\n") if len(editor.applied) == 2 else None
      await execute(client, "glm.rewrite", {...})
      await editor.wait_idle()
      assert editor.text(uri) == ...

All positions are in the negotiated encoding's units; lines break only at
``\\n``, ``\\r\\n`` and ``\\r``; a character past the end of its line means the
line's end; a line past the last line means the end of the document; a
position inside a multi-unit character means that character's start.
"""

from __future__ import annotations

import asyncio
import bisect
import collections
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Literal, Sequence, Union
from urllib.parse import unquote, urlparse
from urllib.request import url2pathname

from lsprotocol import types

__all__ = [
    "Applied",
    "ContentChange",
    "DocumentEditResult",
    "Editor",
    "EditorModel",
    "LineIndex",
    "Outcome",
    "OverlappingEditsError",
    "Splice",
    "apply_splices",
    "echo_changes",
    "edit_text",
    "offset_at",
    "position_at",
    "ranged_changes",
    "replay_changes",
    "resolve_edits",
    "split_lines",
    "unit_width",
    "version_ok",
]

Encoding = Literal["utf-8", "utf-16", "utf-32"]
Behaviour = Literal["vscode", "neovim", "helix"]
EchoOrder = Literal["before", "after"]
Sync = Literal["incremental", "full"]

ENCODINGS = ("utf-8", "utf-16", "utf-32")
BEHAVIOURS = ("vscode", "neovim", "helix")

AnyTextEdit = Union[types.TextEdit, types.AnnotatedTextEdit, types.SnippetTextEdit]
ContentChange = Union[types.TextDocumentContentChangePartial, types.TextDocumentContentChangeWholeDocument]

STALE_REASON = "stale version"
REFUSED_REASON = "refused by test"

# --------------------------------------------------------------------------- positions

_BREAK = re.compile(r"\r\n|\r|\n")


def split_lines(text: str) -> list[str]:
    """LSP lines with their terminators: breaks only at ``\\r\\n``, ``\\r``, ``\\n``; always ≥ 1 line."""
    lines, start = [], 0
    for match in _BREAK.finditer(text):
        lines.append(text[start : match.end()])
        start = match.end()
    lines.append(text[start:])
    return lines


def unit_width(ch: str, encoding: str) -> int:
    """How many units of ``encoding`` the code point ``ch`` takes."""
    cp = ord(ch)
    if encoding == "utf-16":
        return 2 if cp > 0xFFFF else 1
    if encoding == "utf-8":
        return 1 if cp < 0x80 else 2 if cp < 0x800 else 3 if cp < 0x10000 else 4
    if encoding == "utf-32":
        return 1
    raise ValueError(f"unknown position encoding {encoding!r}")


class LineIndex:
    """Offsets ↔ LSP positions for one fixed text."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.lines = split_lines(text)
        self.starts: list[int] = []
        total = 0
        for line in self.lines:
            self.starts.append(total)
            total += len(line)

    def content(self, line: int) -> str:
        """Line ``line`` without its terminator (a line holds at most one)."""
        return self.lines[line].rstrip("\r\n")

    def offset_at(self, line: int, character: int, encoding: str) -> int:
        unit_width("a", encoding)  # validates the encoding name
        line, character = max(line, 0), max(character, 0)
        if line >= len(self.lines):
            return len(self.text)
        start, content = self.starts[line], self.content(line)
        if encoding == "utf-32":
            return start + min(character, len(content))
        units = 0
        for i, ch in enumerate(content):
            width = unit_width(ch, encoding)
            if units + width > character:  # at or inside this character: its start
                return start + i
            units += width
        return start + len(content)

    def position_at(self, offset: int, encoding: str) -> tuple[int, int]:
        """The position of ``offset``; an offset inside a line terminator maps to the line's end."""
        offset = min(max(offset, 0), len(self.text))
        line = bisect.bisect_right(self.starts, offset) - 1
        content = self.content(line)
        column = min(offset - self.starts[line], len(content))
        return line, sum(unit_width(ch, encoding) for ch in content[:column])


def offset_at(text: str, line: int, character: int, encoding: str) -> int:
    return LineIndex(text).offset_at(line, character, encoding)


def position_at(text: str, offset: int, encoding: str) -> tuple[int, int]:
    return LineIndex(text).position_at(offset, encoding)


# --------------------------------------------------------------------------- applying edits


class OverlappingEditsError(ValueError):
    """Two edits of one TextDocumentEdit overlap (LSP forbids it; VS Code refuses the edit)."""


@dataclass(frozen=True)
class Splice:
    """Replace ``text[start:end]`` (code-point offsets) with ``new_text``."""

    start: int
    end: int
    new_text: str
    index: int = 0  # the edit's index in its TextDocumentEdit


def edit_text(edit: AnyTextEdit) -> str:
    """The text an edit inserts (a SnippetTextEdit inserts its snippet source verbatim)."""
    snippet = getattr(edit, "snippet", None)
    if snippet is not None:
        return snippet.value
    return edit.new_text


def resolve_edits(text: str, edits: Sequence[AnyTextEdit], encoding: str) -> list[Splice]:
    """The edits of one TextDocumentEdit (all relative to ``text``) as splices in application order.

    Edits are ordered in the document by (start, end, index in the array) — so
    inserts at one position keep their array order, and an insert at ``p``
    comes before a replacement starting at ``p`` — and returned bottom-up
    (last in the document first): applying them one after the other with
    :func:`apply_splices` never moves a range still to be applied.
    Raises :class:`OverlappingEditsError` if two ranges overlap.
    """
    index = LineIndex(text)
    items = []
    for i, edit in enumerate(edits):
        start = index.offset_at(edit.range.start.line, edit.range.start.character, encoding)
        end = index.offset_at(edit.range.end.line, edit.range.end.character, encoding)
        if end < start:
            start, end = end, start
        items.append(Splice(start, end, edit_text(edit), i))
    items.sort(key=lambda s: (s.start, s.end, s.index))
    for before, after in zip(items, items[1:]):
        if after.start < before.end:
            raise OverlappingEditsError(
                f"edits #{before.index} [{before.start}, {before.end}) and #{after.index} "
                f"[{after.start}, {after.end}) overlap"
            )
    return items[::-1]


def apply_splices(text: str, splices: Sequence[Splice]) -> str:
    """Apply splices one after the other, each on the result of the previous."""
    for s in splices:
        text = text[: s.start] + s.new_text + text[s.end :]
    return text


def _range(start: tuple[int, int], end: tuple[int, int]) -> types.Range:
    return types.Range(start=types.Position(*start), end=types.Position(*end))


def ranged_changes(text: str, splices: Sequence[Splice], encoding: str) -> list[types.TextDocumentContentChangePartial]:
    """One ranged content change per splice, each valid on the text left by the previous ones.

    The splices must be bottom-up (as :func:`resolve_edits` returns them), so the
    text before each splice is still the original text.  One case has no
    position: a splice ending right after a ``\\r`` when the splice applied just
    before it (which starts there) put a ``\\n`` next to that ``\\r`` — the two
    breaks merged into one ``\\r\\n``.  Such touching splices are sent as one
    change covering both.
    """
    groups: list[tuple[Splice, str]] = []  # (splice, text it applies to), in application order
    current = text
    for splice in splices:
        end = splice.end
        if groups and 0 < end < len(current) and current[end - 1] == "\r" and current[end] == "\n":
            previous, current = groups.pop()  # previous.start == end: the offsets came from valid positions
            splice = Splice(splice.start, previous.end, splice.new_text + previous.new_text, splice.index)
        groups.append((splice, current))
        current = current[: splice.start] + splice.new_text + current[splice.end :]
    changes = []
    for splice, before in groups:
        index = LineIndex(before)
        start, end = index.position_at(splice.start, encoding), index.position_at(splice.end, encoding)
        changes.append(types.TextDocumentContentChangePartial(range=_range(start, end), text=splice.new_text))
    return changes


def replay_changes(text: str, changes: Sequence[ContentChange], encoding: str) -> str:
    """What a server's copy becomes after ``changes`` (one didChange), applied in order."""
    for change in changes:
        rng = getattr(change, "range", None)
        if rng is None:
            text = change.text
            continue
        index = LineIndex(text)
        start = index.offset_at(rng.start.line, rng.start.character, encoding)
        end = index.offset_at(rng.end.line, rng.end.character, encoding)
        start, end = min(start, end), max(start, end)
        text = text[:start] + change.text + text[end:]
    return text


def echo_changes(before: str, after: str, splices: Sequence[Splice], encoding: str, sync: str) -> list[ContentChange]:
    """The content changes of the didChange that reports ``splices`` (``before`` → ``after``).

    ``sync="full"`` gives one whole-document change.  ``"incremental"`` gives
    :func:`ranged_changes` — and, as a safety net that should never fire, the
    whole document if replaying them would not give ``after``.
    """
    if sync == "full":
        return [types.TextDocumentContentChangeWholeDocument(text=after)]
    if sync != "incremental":
        raise ValueError(f"unknown sync {sync!r}")
    changes = ranged_changes(before, splices, encoding)
    if replay_changes(before, changes, encoding) != after:
        return [types.TextDocumentContentChangeWholeDocument(text=after)]
    return list(changes)


# --------------------------------------------------------------------------- version decisions


def version_ok(behaviour: str, edit_version: int | None, current: int | None, *, first: bool = True) -> bool:
    """Whether an editor applies a TextDocumentEdit naming ``edit_version`` to a document at ``current``.

    ``current`` is None for a document the editor does not have open.
    ``first``: the TextDocumentEdit is entry 0 of ``documentChanges``.

    * vscode, helix: unversioned (None) edits always apply; versioned ones only
      at exactly the document's version (never to a document that is not open).
    * neovim: only the first entry is checked, and it is skipped only when the
      buffer is *newer* than the edit (``edit_version > 0 and current > edit_version``).
    """
    if behaviour not in BEHAVIOURS:
        raise ValueError(f"unknown behaviour {behaviour!r}")
    if edit_version is None:
        return True
    if behaviour == "neovim":
        if not first or edit_version <= 0 or current is None:
            return True
        return not current > edit_version
    return current is not None and edit_version == current


# --------------------------------------------------------------------------- the pure model


@dataclass
class OpenDocument:
    text: str
    version: int
    language: str = "python"


@dataclass
class DocumentEditResult:
    """One TextDocumentEdit (or one uri of ``changes``) that was applied."""

    index: int  # its index in documentChanges (or in changes)
    uri: str
    open: bool  # an open document (gets a version and a didChange echo) or one of ``files``
    version: int | None  # the document's version after it (None for files)
    before: str
    after: str
    splices: list[Splice]


@dataclass
class Outcome:
    """What the editor did with one WorkspaceEdit."""

    applied: bool
    failure_reason: str | None = None
    failed_change: int | None = None
    #: some versioned TextDocumentEdit named a version other than the document's
    #: version at that moment (whatever the editor then did about it)
    stale: bool = False
    #: neovim skipped at least one TextDocumentEdit
    skipped: bool = False
    results: list[DocumentEditResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: the editor's version of each document the edit names, when it arrived (None: not open)
    versions_before: dict[str, int | None] = field(default_factory=dict)

    def result(self) -> types.ApplyWorkspaceEditResult:
        return types.ApplyWorkspaceEditResult(
            applied=self.applied, failure_reason=self.failure_reason, failed_change=self.failed_change
        )


def _path_of(uri: str) -> Path | None:
    parsed = urlparse(uri)
    if parsed.scheme != "file":
        return None
    return Path(url2pathname(unquote(parsed.path)))


def read_from_disk(uri: str) -> str:
    """A file:// document's content on disk (line endings kept), else ""."""
    path = _path_of(uri)
    if path is None or not path.is_file():
        return ""
    with open(path, encoding="utf-8", newline="") as handle:
        return handle.read()


class EditorModel:
    """The client-side truth of every document, and what an editor does with a WorkspaceEdit."""

    def __init__(
        self,
        encoding: str = "utf-16",
        behaviour: str = "vscode",
        read_file: Callable[[str], str] = read_from_disk,
    ) -> None:
        unit_width("a", encoding)
        if behaviour not in BEHAVIOURS:
            raise ValueError(f"unknown behaviour {behaviour!r}")
        self.encoding = encoding
        self.behaviour = behaviour
        self.read_file = read_file
        self.docs: dict[str, OpenDocument] = {}
        #: documents edited through applyEdit while not open in the editor
        self.files: dict[str, str] = {}
        self.notes: list[str] = []

    # -- documents ---------------------------------------------------------
    def open(self, uri: str, text: str, language: str = "python", version: int = 1) -> None:
        self.docs[uri] = OpenDocument(text, version, language)

    def close(self, uri: str) -> None:
        del self.docs[uri]

    def text(self, uri: str) -> str:
        if uri in self.docs:
            return self.docs[uri].text
        return self.files[uri]

    def version(self, uri: str) -> int:
        return self.docs[uri].version

    def _base_text(self, uri: str) -> str:
        if uri in self.docs:
            return self.docs[uri].text
        if uri in self.files:
            return self.files[uri]
        return self.read_file(uri)

    def type(
        self, uri: str, start: tuple[int, int], text: str, end: tuple[int, int] | None = None
    ) -> tuple[str, Splice]:
        """A user edit at client-unit positions: returns (text before, splice); version += 1."""
        doc = self.docs[uri]
        end = start if end is None else end
        edit = types.TextEdit(range=_range(start, end), new_text=text)
        (splice,) = resolve_edits(doc.text, [edit], self.encoding)
        before = doc.text
        doc.text = apply_splices(before, [splice])
        doc.version += 1
        return before, splice

    # -- workspace edits ---------------------------------------------------
    def _entries(self, edit: types.WorkspaceEdit, notes: list[str]) -> list[tuple[int, str, int | None, list]]:
        entries = []
        if edit.document_changes is not None:
            for i, change in enumerate(edit.document_changes):
                if isinstance(change, types.TextDocumentEdit):
                    entries.append((i, change.text_document.uri, change.text_document.version, list(change.edits)))
                else:
                    target = getattr(change, "uri", None) or getattr(change, "old_uri", None)
                    notes.append(f"ignored resource operation #{i}: {change.kind} {target}")
        elif edit.changes:
            for i, (uri, edits) in enumerate(edit.changes.items()):
                entries.append((i, uri, None, list(edits)))
        return entries

    def apply_workspace_edit(self, edit: types.WorkspaceEdit) -> Outcome:
        """Apply ``edit`` the way ``self.behaviour`` does, and say what happened."""
        notes: list[str] = []
        entries = self._entries(edit, notes)
        outcome = Outcome(applied=True, notes=notes)
        outcome.versions_before = {
            uri: (self.docs[uri].version if uri in self.docs else None) for _, uri, _, _ in entries
        }
        texts: dict[str, str] = {}
        versions = dict(outcome.versions_before)
        results: list[DocumentEditResult] = []

        for i, uri, edit_version, edits in entries:
            is_open = uri in self.docs
            current = versions[uri]
            if edit_version is not None and edit_version != current:
                outcome.stale = True
            # VS Code checks every entry against the versions before the edit; Helix
            # one by one as it applies them; Neovim only the first entry.
            against = outcome.versions_before[uri] if self.behaviour == "vscode" else current
            if not version_ok(self.behaviour, edit_version, against, first=i == 0):
                if self.behaviour == "neovim":
                    outcome.skipped = True
                    notes.append(f"skipped #{i} {uri}: version {edit_version}, buffer at {against}")
                    continue
                outcome.applied, outcome.failure_reason, outcome.failed_change = False, STALE_REASON, i
                notes.append(f"refused #{i} {uri}: version {edit_version}, document at {against}")
                break
            if any(isinstance(e, types.SnippetTextEdit) for e in edits):
                notes.append(f"#{i} {uri}: snippet edits inserted as plain text")
            before = texts[uri] if uri in texts else self._base_text(uri)
            try:
                splices = resolve_edits(before, edits, self.encoding)
            except OverlappingEditsError as exc:
                outcome.applied, outcome.failure_reason, outcome.failed_change = False, f"overlapping edits: {exc}", i
                break
            after = apply_splices(before, splices)
            texts[uri] = after
            if is_open and splices:
                versions[uri] = current + 1
            results.append(DocumentEditResult(i, uri, is_open, versions[uri] if is_open else None, before, after, splices))

        if not outcome.applied and self.behaviour == "vscode":
            results = []  # VS Code applies a workspace edit whole or not at all
        for result in results:
            if not result.splices:
                continue
            if result.open:
                doc = self.docs[result.uri]
                doc.text, doc.version = result.after, result.version
            else:
                self.files[result.uri] = result.after
        outcome.results = results
        self.notes.extend(notes)
        return outcome

    def stale_in(self, edit: types.WorkspaceEdit) -> bool:
        """Whether some versioned TextDocumentEdit of ``edit`` names a version other than the current one."""
        for _, uri, edit_version, _ in self._entries(edit, []):
            current = self.docs[uri].version if uri in self.docs else None
            if edit_version is not None and edit_version != current:
                return True
        return False


# --------------------------------------------------------------------------- the LSP-bound editor


@dataclass
class Applied:
    """One workspace/applyEdit request the editor received."""

    params: types.ApplyWorkspaceEditParams
    result: types.ApplyWorkspaceEditResult
    stale: bool
    skipped: bool
    #: the editor's version of each document the request names, when it arrived (None: not open)
    uri_versions: dict[str, int | None]
    refused: bool = False  # answered by ``refuse_next``
    notes: list[str] = field(default_factory=list)
    outcome: Outcome | None = None  # None when refused by the test


_CLIENT_METHODS = {
    types.TEXT_DOCUMENT_DID_OPEN: "text_document_did_open",
    types.TEXT_DOCUMENT_DID_CHANGE: "text_document_did_change",
    types.TEXT_DOCUMENT_DID_CLOSE: "text_document_did_close",
}


class Editor:
    """A simulated VS Code / Neovim / Helix on a pytest-lsp ``LanguageClient`` (see the module docstring)."""

    def __init__(
        self,
        client: Any,
        encoding: str = "utf-16",
        behaviour: str = "vscode",
        echo: str = "before",
        sync: str = "incremental",
        echo_delay: float = 0.005,
    ) -> None:
        if echo not in ("before", "after"):
            raise ValueError(f"unknown echo {echo!r}")
        if sync not in ("incremental", "full"):
            raise ValueError(f"unknown sync {sync!r}")
        self.client = client
        self.model = EditorModel(encoding, behaviour)
        self.encoding, self.behaviour, self.echo, self.sync = encoding, behaviour, echo, sync
        self.echo_delay = echo_delay
        self.applied: list[Applied] = []
        self.on_apply: Callable[[Applied], None] | None = None
        #: called when an applyEdit arrives, before it is applied: a keystroke typed here crosses the edit
        self.before_apply: Callable[[types.ApplyWorkspaceEditParams], None] | None = None
        self.refuse_next = 0
        self.message_request_answer: str | None = None
        self.message_requests: list[types.ShowMessageRequestParams] = []
        #: exceptions raised inside the handlers (model bugs, on_apply callbacks, sends); wait_idle raises on them
        self.errors: list[BaseException] = []
        #: every notification the editor sent, in order: (method, params)
        self.sent: list[tuple[str, Any]] = []
        self._outbox: collections.deque[tuple[str, Any]] = collections.deque()
        self._flush_handle: asyncio.TimerHandle | None = None
        self._last_apply = time.monotonic()
        features = client.protocol.fm.features
        features[types.WORKSPACE_APPLY_EDIT] = self._handle_apply_edit
        features[types.WINDOW_SHOW_MESSAGE_REQUEST] = self._handle_show_message_request

    # -- state -------------------------------------------------------------
    @property
    def files(self) -> dict[str, str]:
        return self.model.files

    @property
    def notes(self) -> list[str]:
        return self.model.notes

    def text(self, uri: str) -> str:
        return self.model.text(uri)

    def version(self, uri: str) -> int:
        return self.model.version(uri)

    # -- user actions --------------------------------------------------------
    def open(self, uri: str, text: str, language: str = "python", version: int = 1) -> None:
        """didOpen (nothing is written to disk)."""
        self.model.open(uri, text, language, version)
        item = types.TextDocumentItem(uri=uri, language_id=language, version=version, text=text)
        self._send(types.TEXT_DOCUMENT_DID_OPEN, types.DidOpenTextDocumentParams(text_document=item))

    def type(self, uri: str, start: tuple[int, int], text: str, end: tuple[int, int] | None = None) -> None:
        """A user edit from ``start`` to ``end`` (default: an insert at ``start``), in client units."""
        before, splice = self.model.type(uri, start, text, end)
        self._send_change(uri, self.model.version(uri), before, self.model.text(uri), [splice])

    def close(self, uri: str) -> None:
        self.model.close(uri)
        params = types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri))
        self._send(types.TEXT_DOCUMENT_DID_CLOSE, params)

    async def wait_idle(self, timeout: float = 5.0, quiet: float = 0.2) -> None:
        """Until no applyEdit arrived for ``quiet`` seconds and every echo is sent; raises on handler errors."""

        async def poll() -> None:
            while self._outbox or time.monotonic() - self._last_apply < quiet:
                await asyncio.sleep(0.02)

        await asyncio.wait_for(poll(), timeout)
        if self.errors:
            raise AssertionError(f"simulated editor errors: {self.errors!r}")

    # -- sending, in document-version order -----------------------------------
    def _send(self, method: str, params: Any) -> None:
        if self._outbox:  # an echo is held back: keep the order
            self._outbox.append((method, params))
        else:
            self._deliver(method, params)

    def _deliver(self, method: str, params: Any) -> None:
        self.sent.append((method, params))
        try:
            getattr(self.client, _CLIENT_METHODS[method])(params)
        except Exception as exc:  # the client stopped, ...
            self.errors.append(exc)

    def _flush(self) -> None:
        self._flush_handle = None
        while self._outbox:
            self._deliver(*self._outbox.popleft())

    def _hold(self, method: str, params: Any) -> None:
        self._outbox.append((method, params))
        if self._flush_handle is None:
            self._flush_handle = asyncio.get_running_loop().call_later(self.echo_delay, self._flush)

    def _change_params(self, uri: str, version: int, before: str, after: str, splices) -> types.DidChangeTextDocumentParams:
        return types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=echo_changes(before, after, splices, self.encoding, self.sync),
        )

    def _send_change(self, uri: str, version: int, before: str, after: str, splices) -> None:
        self._send(types.TEXT_DOCUMENT_DID_CHANGE, self._change_params(uri, version, before, after, splices))

    # -- server requests -----------------------------------------------------
    def _handle_apply_edit(self, params: types.ApplyWorkspaceEditParams) -> types.ApplyWorkspaceEditResult:
        self._last_apply = time.monotonic()
        if self.before_apply is not None:
            try:
                self.before_apply(params)
            except Exception as exc:
                self.errors.append(exc)
        try:
            if self.refuse_next > 0:
                self.refuse_next -= 1
                result = types.ApplyWorkspaceEditResult(applied=False, failure_reason=REFUSED_REASON)
                versions = {uri: (self.model.docs[uri].version if uri in self.model.docs else None)
                            for _, uri, _, _ in self.model._entries(params.edit, [])}
                applied = Applied(params, result, self.model.stale_in(params.edit), False, versions, refused=True)
            else:
                outcome = self.model.apply_workspace_edit(params.edit)
                for r in outcome.results:
                    if r.open and r.splices:
                        change = self._change_params(r.uri, r.version, r.before, r.after, r.splices)
                        if self.echo == "before":
                            self._send(types.TEXT_DOCUMENT_DID_CHANGE, change)
                        else:
                            self._hold(types.TEXT_DOCUMENT_DID_CHANGE, change)
                result = outcome.result()
                applied = Applied(params, result, outcome.stale, outcome.skipped, dict(outcome.versions_before),
                                  notes=list(outcome.notes), outcome=outcome)
            self.applied.append(applied)
            recorder = getattr(self.client, "recorder", None)
            if recorder is not None and hasattr(recorder, "applied_edits"):
                recorder.applied_edits.append(params)
        except Exception as exc:
            self.errors.append(exc)
            return types.ApplyWorkspaceEditResult(applied=False, failure_reason=f"editor model error: {exc!r}")
        if self.on_apply is not None:
            try:
                self.on_apply(applied)
            except Exception as exc:
                self.errors.append(exc)
        return result

    def _handle_show_message_request(self, params: types.ShowMessageRequestParams) -> types.MessageActionItem | None:
        self.message_requests.append(params)
        if self.message_request_answer is None:
            return None
        return types.MessageActionItem(title=self.message_request_answer)
