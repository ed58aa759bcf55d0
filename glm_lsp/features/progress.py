"""A cancellable ``$/progress`` whose text reports are coalesced, never one per token.

Reports carry the text that arrived since the previous report, at most one every
`INTERVAL` seconds, so the reports joined give the whole text. The client's cancel
button calls ``on_cancel``. Clients without ``window.workDoneProgress`` get nothing
(the command still answers).
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from typing import Callable

from lsprotocol import types

log = logging.getLogger(__name__)

INTERVAL = 0.1  # seconds between text reports


class StreamProgress:
    def __init__(self, server, title: str, on_cancel: Callable[[], None]) -> None:
        self.server = server
        self.title = title
        self.on_cancel = on_cancel
        self.token: str | None = None
        self._pending = ""
        self._last_report = 0.0
        self._timer: asyncio.TimerHandle | None = None

    async def begin(self, message: str) -> None:
        window = self.server.client_capabilities.window
        if not (window and window.work_done_progress):
            return
        # readable where clients print it (Helix): glm-explain-3f2a1c0d
        token = "glm-" + self.title.removeprefix("GLM: ").split()[0].lower() + "-" + uuid.uuid4().hex[:8]
        try:
            await self.server.work_done_progress.create_async(token)
        except Exception as exc:  # the client refused a token: go on without progress
            log.info("progress not created: %s", exc)
            return
        self.token = token
        future = self.server.work_done_progress.tokens.get(token)
        if future is not None:
            future.add_done_callback(lambda f: f.cancelled() and self.on_cancel())
        self.server.work_done_progress.begin(
            token, types.WorkDoneProgressBegin(title=self.title, message=message, cancellable=True)
        )

    def status(self, message: str) -> None:
        """A status line (not part of the text), e.g. "thinking…"."""
        self._flush()
        self._report(message)

    def text(self, delta: str) -> None:
        self._pending += delta
        wait = INTERVAL - (time.monotonic() - self._last_report)
        if wait <= 0:
            self._flush()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(wait, self._flush)

    def end(self, message: str) -> None:
        self._flush()
        if self.token is None:
            return
        token, self.token = self.token, None
        self.server.work_done_progress.end(token, types.WorkDoneProgressEnd(message=message))
        self.server.work_done_progress.tokens.pop(token, None)  # tokens are never reused

    def _flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._pending:
            text, self._pending = self._pending, ""
            self._report(text)

    def _report(self, message: str) -> None:
        self._last_report = time.monotonic()
        if self.token is not None:
            self.server.work_done_progress.report(self.token, types.WorkDoneProgressReport(message=message))
