"""A lean JSON-RPC client over a server's stdio, for timing what the server itself adds.

pytest-lsp's client (pygls) reads the server's stdout through a thread pool, a
thread handoff for every header line and body, and converts every message to
and from lsprotocol classes. On a 2-core machine that costs about as much as the
work being timed, and it is the client's cost, not the server's. This client
reads the pipe with asyncio's own stream reader and keeps messages as dicts, so
a round trip it times is the server's work plus the pipe.

Server-to-client requests (``workspace/configuration``, ``window/workDoneProgress/create``,
...) are answered with ``null`` results, or with ``configuration`` when given one.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from typing import Any


class LeanClient:
    def __init__(self, process: asyncio.subprocess.Process, configuration: Any = None) -> None:
        self.process = process
        self.configuration = configuration  # the answer to each workspace/configuration item
        self._next_id = 0
        self._pending: dict[int, asyncio.Future] = {}
        self.notifications: list[dict] = []
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def start(cls, command: list[str], env: dict[str, str], configuration: Any = None) -> LeanClient:
        process = await asyncio.create_subprocess_exec(
            *command, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=sys.stderr, env=env,
            limit=1 << 24,
        )
        return cls(process, configuration)

    def _send(self, message: dict) -> None:
        body = json.dumps(message, separators=(",", ":")).encode()
        self.process.stdin.write(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))

    def notify(self, method: str, params: Any) -> None:
        self._send({"jsonrpc": "2.0", "method": method, "params": params})

    def request(self, method: str, params: Any) -> asyncio.Future:
        """Send a request now; the future is its result (or raises with its error)."""
        self._next_id += 1
        future = asyncio.get_running_loop().create_future()
        self._pending[self._next_id] = future
        self._send({"jsonrpc": "2.0", "id": self._next_id, "method": method, "params": params})
        return future

    async def _read(self) -> None:
        stdout = self.process.stdout
        while True:
            length = 0
            while True:
                line = await stdout.readline()
                if not line:
                    self._fail_all(ConnectionError("the server closed its stdout"))
                    return
                if line == b"\r\n":
                    break
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            message = json.loads(await stdout.readexactly(length))
            if "method" not in message:
                future = self._pending.pop(message.get("id"), None)
                if future is not None and not future.done():
                    if "error" in message:
                        future.set_exception(RuntimeError(message["error"].get("message", "error")))
                    else:
                        future.set_result(message.get("result"))
            elif "id" in message:
                result = None
                if message["method"] == "workspace/configuration":
                    result = [self.configuration for _ in message["params"]["items"]]
                self._send({"jsonrpc": "2.0", "id": message["id"], "result": result})
            else:
                self.notifications.append(message)

    def _fail_all(self, exc: Exception) -> None:
        for future in self._pending.values():
            if not future.done():
                future.set_exception(exc)
        self._pending.clear()

    async def stop(self) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.request("shutdown", None), 5)
            self.notify("exit", None)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.process.wait(), 5)
        if self.process.returncode is None:
            self.process.kill()
            await self.process.wait()
        self._reader.cancel()
