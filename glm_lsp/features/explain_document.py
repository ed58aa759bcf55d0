"""The markdown document an explanation streams into, beside the code.

Written under the user's cache directory (one file per explained range, named after
the file and lines), opened with ``window/showDocument`` (``takeFocus: false``) without
waiting for the client, and filled by ``workspace/applyEdit`` appends carrying version
``null``. An append the client refuses never fails the command: appends stop and the
file on disk gets the whole text at the end.
"""

from __future__ import annotations

import asyncio
import logging
import re
from pathlib import Path

from lsprotocol import types

from glm_lsp.context.documents import index_to_units, split_lines
from glm_lsp.state import is_helix

log = logging.getLogger(__name__)


def cache_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_cache_dir("glm-lsp")) / "explanations"


class ExplainDocument:
    def __init__(self, server, source_path: str, first: int, last: int) -> None:
        self.server = server
        safe = re.sub(r"[^A-Za-z0-9._-]+", "_", source_path).strip("_") or "untitled"
        self.path = cache_dir() / f"{safe}-L{first + 1}-{last + 1}.md"
        self.uri = self.path.as_uri()
        self.header = f"# Explanation: {source_path}, lines {first + 1}-{last + 1}\n\n"
        self.text = ""  # the explanation so far
        self._sent = ""  # what the client holds after our appends (header included)
        self._broken = False
        self._lock = asyncio.Lock()
        self._shown: asyncio.Task | None = None

    async def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(self.header, encoding="utf-8")
        self._sent = self.header
        window = self.server.client_capabilities.window
        helix = is_helix(self.server)  # Helix 25.01 opens shown documents without advertising it
        if helix or (window and window.show_document and window.show_document.support):
            params = types.ShowDocumentParams(uri=self.uri, take_focus=False, external=False)
            self._shown = asyncio.create_task(self._show(params))  # never wait for the client

    async def _show(self, params) -> None:
        try:
            await self.server.window_show_document_async(params)
        except Exception as exc:
            log.info("showDocument failed: %s", exc)

    def append(self, delta: str) -> None:
        self.text += delta
        if not self._broken and not self._lock.locked():
            asyncio.create_task(self._flush())

    async def _flush(self) -> None:
        async with self._lock:
            while not self._broken and len(self._sent) < len(self.header) + len(self.text):
                chunk = (self.header + self.text)[len(self._sent):]
                end = _end_position(self._sent, self.server.state.encoding)
                params = types.ApplyWorkspaceEditParams(
                    label="GLM: Explain",
                    edit=types.WorkspaceEdit(document_changes=[types.TextDocumentEdit(
                        text_document=types.OptionalVersionedTextDocumentIdentifier(uri=self.uri, version=None),
                        edits=[types.TextEdit(range=types.Range(start=end, end=end), new_text=chunk)],
                    )]),
                )
                try:
                    result = await self.server.workspace_apply_edit_async(params)
                except Exception as exc:
                    log.info("explain document edit failed: %s", exc)
                    result = None
                if result is None or not result.applied:
                    self._broken = True  # the client is not following this document: stop appending
                    return
                self._sent += chunk

    async def close(self) -> None:
        """The whole text on disk, whatever the client did with the appends."""
        await self._flush()
        self.path.write_text(self.header + self.text, encoding="utf-8")


def _end_position(text: str, encoding: str) -> types.Position:
    lines = split_lines(text)
    last = lines[-1]
    return types.Position(line=len(lines) - 1, character=index_to_units(last, len(last), encoding))
