"""A scripted fake GLM-5.1 provider: a real HTTP/1.1 server on 127.0.0.1.

It speaks the two wire formats glm-lsp talks to: OpenAI-compatible chat
completions streamed as SSE (Z.AI, BigModel, Oxen, vLLM) and Runware's native
task API (the request body is a JSON list of tasks). Each test scripts the
replies (``fake.push(...)``) out of steps such as ``Text``, ``Reasoning``,
``Finish``, ``Stall``, ``Cut`` and ``Raw``; the fake records every request and
every client disconnect so tests can assert on both. It supports keep-alive and
``Transfer-Encoding: chunked`` (one HTTP chunk per step), the way
``httpx.AsyncClient`` uses a provider.

The server runs its own asyncio event loop in a daemon thread, so it works
from sync tests, from async tests on any loop, and while a separate language
server process talks to it. Only the standard library is used.

    with FakeGLM() as fake:
        fake.push(reply_text("def f(): pass", reasoning="thinking..."))
        ...  # point the client at fake.url
        assert fake.requests[0].body["model"] == "glm-5.1"

Standalone, for pointing an editor at it (any path works; for the OpenAI
flavour use e.g. http://127.0.0.1:8765/v1 as the base URL):

    python tests/fake_glm.py --port 8765 [--text "..."] [--delay 0.02]
    python -m tests.fake_glm --port 8765          # from the project root
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import dataclasses
import json
import threading
import time
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

DEFAULT_TEXT = "Hello from fake GLM."
_MAX_LINE = 65536
_MAX_HEADERS = 100


# --------------------------------------------------------------------------- script


@dataclass
class Usage:
    prompt_tokens: int = 10
    completion_tokens: int = 5
    total_tokens: int | None = None  # None = prompt + completion
    cached_tokens: int | None = None
    reasoning_tokens: int | None = None
    cost: float | None = None  # runware flavour only (top-level "cost")

    def _total(self) -> int:
        if self.total_tokens is not None:
            return self.total_tokens
        return self.prompt_tokens + self.completion_tokens

    def openai(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self._total(),
        }
        if self.cached_tokens is not None:
            out["prompt_tokens_details"] = {"cached_tokens": self.cached_tokens}
        if self.reasoning_tokens is not None:
            out["completion_tokens_details"] = {"reasoning_tokens": self.reasoning_tokens}
        return out

    def runware(self) -> dict[str, Any]:
        return {
            "promptTokens": self.prompt_tokens,
            "completionTokens": self.completion_tokens,
            "totalTokens": self._total(),
        }


# Steps of a streamed reply. ``delay`` is slept before the step is written.


@dataclass
class Text:
    text: str
    delay: float = 0.0


@dataclass
class Reasoning:
    text: str
    field: str = "reasoning_content"  # or "reasoning" (vLLM, OpenRouter)
    delay: float = 0.0


@dataclass
class Finish:
    reason: str = "stop"
    usage: Usage | None = field(default_factory=Usage)
    delay: float = 0.0


@dataclass
class UsageChunk:  # OpenAI/vLLM style trailing chunk with "choices": []
    usage: Usage = field(default_factory=Usage)
    delay: float = 0.0


@dataclass
class Done:
    delay: float = 0.0


@dataclass
class Raw:  # written exactly as given, as its own HTTP chunk
    data: bytes | str
    delay: float = 0.0


@dataclass
class Stall:  # write nothing for a while (a client disconnect ends it at once)
    seconds: float
    delay: float = 0.0


@dataclass
class Cut:  # abort the TCP connection, without the chunked terminator
    delay: float = 0.0


@dataclass
class ErrorFrame:  # in-band error: data: <json>
    obj: dict
    delay: float = 0.0


@dataclass
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | str | dict | list | None = None  # a non-streamed body
    steps: list = field(default_factory=list)  # a streamed SSE reply when non-empty
    delay: float = 0.0  # before the status line


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    raw_body: bytes
    body: Any
    arrived: float
    flavour: str = "openai"  # or "runware"
    first_byte_sent: float | None = None
    finished: float | None = None
    disconnected: bool = False
    disconnected_at: float | None = None
    client_port: int | None = None  # the client's side of the connection (keep-alive reuses it)


def _chunks(text: str, size: int) -> list[str]:
    size = max(1, size)
    return [text[i : i + size] for i in range(0, len(text), size)]


def reply_text(
    text: str,
    *,
    chunk_size: int = 4,
    delay: float = 0.0,
    reasoning: str | None = None,
    reasoning_field: str = "reasoning_content",
    finish: str = "stop",
    usage: Usage | None = Usage(),
    done: bool = True,
) -> Reply:
    """A streamed reply: reasoning deltas, text deltas, Finish, then [DONE].

    ``usage=None`` sends a Finish without a usage object."""
    steps: list = [Reasoning(c, reasoning_field, delay) for c in _chunks(reasoning or "", chunk_size)]
    steps += [Text(c, delay) for c in _chunks(text, chunk_size)]
    steps.append(Finish(finish, None if usage is None else dataclasses.replace(usage)))
    if done:
        steps.append(Done())
    return Reply(steps=steps)


_ZAI = {
    400: ("1214", "Invalid request parameters"),
    401: ("1002", "Invalid Authorization Token"),
    403: ("1220", "You do not have permission to access this resource"),
    404: ("1211", "Unknown Model, please check the model code."),
    429: ("1302", "Rate limit reached for requests"),
    500: ("500", "Internal Error"),
    503: ("1305", "The service may be temporarily overloaded, please try again later"),
}
_OXEN = {401: "unauthenticated", 400: "invalid_params", 404: "resource_not_found"}
_RUNWARE = {
    401: "invalidApiKey",
    400: "invalidParameter",
    404: "unknownModel",
    429: "rateLimitExceeded",
    500: "internalServerError",
    503: "serviceUnavailable",
}
_VLLM = {
    400: "BadRequestError",
    401: "AuthenticationError",
    403: "PermissionDeniedError",
    404: "NotFoundError",
    422: "UnprocessableEntityError",
    429: "RateLimitError",
    500: "InternalServerError",
    503: "ServiceUnavailableError",
}


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def reply_error(
    status: int,
    *,
    provider: str = "zai",
    code: str | int | None = None,
    message: str | None = None,
    retry_after: float | None = None,
) -> Reply:
    """A JSON error reply shaped like the given provider's real error bodies."""
    if provider in ("zai", "bigmodel"):
        dcode, dmsg = _ZAI.get(status, (str(status), _phrase(status)))
        body: Any = {"error": {"code": str(code if code is not None else dcode), "message": message or dmsg}}
    elif provider == "oxen":
        kind = str(code) if code is not None else _OXEN.get(status, "unknown_error")
        msg = message or _phrase(status)
        body = {"error": {"type": kind, "title": msg, "detail": msg}, "status": "error", "status_message": kind}
    elif provider == "runware":
        rcode = code if code is not None else _RUNWARE.get(status, "unknownError")
        error = {"code": rcode, "message": message or _phrase(status), "parameter": None,
                 "taskType": "textInference", "taskUUID": "fake"}  # fmt: skip
        body = {"errors": [error]}
    elif provider == "openai":
        body = {"object": "error", "message": message or _phrase(status), "type": _VLLM.get(status, "Error"),
                "param": None, "code": code if code is not None else status}  # fmt: skip
    else:
        raise ValueError(f"unknown provider {provider!r}")
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
    return Reply(status=status, headers=headers, body=body)


# --------------------------------------------------------------------------- wire


def _json(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


def _event(obj: Any) -> bytes:
    return b"data: " + _json(obj) + b"\n\n"


class _Stream:
    """Renders the steps of one streamed reply in the request's flavour."""

    def __init__(self, rec: Recorded, index: int) -> None:
        self.runware = rec.flavour == "runware"
        body = rec.body
        first = body[0] if self.runware and body and isinstance(body[0], dict) else {}
        self.task = str(first.get("taskUUID") or "fake")
        model = body.get("model") if isinstance(body, dict) else None
        self.model = model if isinstance(model, str) else "glm-5.1"
        self.id = f"chatcmpl-fake-{index}"
        self.created = int(time.time())

    def _openai(self, choices: list, **extra: Any) -> bytes:
        head = {"id": self.id, "created": self.created, "object": "chat.completion.chunk", "model": self.model}
        return _event({**head, "choices": choices, **extra})

    def _runware(self, delta: dict, **extra: Any) -> bytes:
        return _event({"taskUUID": self.task, "taskType": "textInference", "delta": delta, **extra})

    def render(self, step: Any) -> bytes:
        if isinstance(step, Raw):
            return step.data.encode() if isinstance(step.data, str) else bytes(step.data)
        if isinstance(step, Done):
            return b"data: [DONE]\n\n"
        if isinstance(step, ErrorFrame):
            return _event(step.obj)
        if isinstance(step, (Text, Reasoning)):
            if self.runware:
                key = "text" if isinstance(step, Text) else "reasoningContent"
                return self._runware({key: step.text})
            key = "content" if isinstance(step, Text) else step.field
            return self._openai([{"index": 0, "delta": {"role": "assistant", key: step.text}}])
        if isinstance(step, Finish):
            if self.runware:
                extra: dict[str, Any] = {"finishReason": step.reason}
                if step.usage is not None:
                    extra["usage"] = step.usage.runware()
                    if step.usage.cost is not None:
                        extra["cost"] = step.usage.cost
                return self._runware({}, **extra)
            choice = {"index": 0, "finish_reason": step.reason, "delta": {"role": "assistant", "content": ""}}
            usage = {} if step.usage is None else {"usage": step.usage.openai()}
            return self._openai([choice], **usage)
        if isinstance(step, UsageChunk):  # runware has no such chunk; send a usage-only task event
            if self.runware:
                return self._runware({}, usage=step.usage.runware())
            return self._openai([], usage=step.usage.openai())
        raise TypeError(f"not a step: {step!r}")


def _head(status: int, defaults: dict[str, str], extra: dict[str, str]) -> bytes:
    overridden = {k.lower() for k in extra}
    headers = {k: v for k, v in defaults.items() if k.lower() not in overridden} | extra
    lines = [f"HTTP/1.1 {status} {_phrase(status)}"] + [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


class _Gone(Exception):
    """The client closed or reset the connection."""


class _Conn:
    """One client connection: a read buffer plus an EOF watcher while replying."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.buf = bytearray()
        self.watcher: asyncio.Task | None = None
        self.gone_at: float | None = None

    async def _fill(self) -> bool:
        data = await self.reader.read(65536)
        self.buf += data
        return bool(data)

    async def read_line(self) -> bytes | None:
        while (i := self.buf.find(b"\r\n")) < 0:
            if len(self.buf) > _MAX_LINE:
                raise ValueError("line too long")
            if not await self._fill():
                return None
        line = bytes(self.buf[:i])
        del self.buf[: i + 2]
        return line

    async def read_exactly(self, n: int) -> bytes:
        while len(self.buf) < n:
            if not await self._fill():
                raise ValueError("truncated body")
        data = bytes(self.buf[:n])
        del self.buf[:n]
        return data

    # While a reply is being written the client sends nothing, so a read that
    # ends (EOF or reset) means it went away. Anything it does send is kept.
    def watch(self) -> None:
        self.watcher = asyncio.ensure_future(self._watch())

    async def _watch(self) -> None:
        try:
            while await self._fill():
                pass
        except Exception:
            pass
        self.gone_at = time.monotonic()

    async def unwatch(self) -> None:
        if self.watcher is not None and not self.watcher.done():
            self.watcher.cancel()
            await asyncio.wait({self.watcher})
        self.watcher = None

    @property
    def gone(self) -> bool:
        return self.watcher is not None and self.watcher.done()

    async def pause(self, seconds: float) -> None:
        if seconds > 0 and not self.gone:
            await asyncio.wait({self.watcher}, timeout=seconds)
        if self.gone:
            raise _Gone

    async def send(self, data: bytes, last: Recorded | None = None) -> None:
        """Write and flush; ``last`` gets ``finished`` stamped before the
        final bytes go out, so a client that has read them always sees it set."""
        if self.gone or self.writer.is_closing():
            raise _Gone
        try:
            if last is not None:
                last.finished = time.monotonic()
            self.writer.write(data)
            await self.writer.drain()
        except OSError as exc:  # ConnectionResetError, BrokenPipeError...
            if last is not None:
                last.finished = None
            raise _Gone from exc


# --------------------------------------------------------------------------- server


class FakeGLM:
    """The fake provider. ``start()`` it (or use ``with``), script it, read ``requests``."""

    def __init__(self, port: int = 0, ssl_context=None) -> None:
        self.port = port
        self.ssl_context = ssl_context  # an ssl.SSLContext (server side) serves https
        self.default: Reply = reply_text(DEFAULT_TEXT)
        self.requests: list[Recorded] = []
        self._queue: collections.deque[Reply] = collections.deque()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._tasks: set[asyncio.Task] = set()
        self._error: BaseException | None = None

    @property
    def url(self) -> str:
        return f"{'https' if self.ssl_context else 'http'}://127.0.0.1:{self.port}"

    # ---- scripting and inspection (any thread)

    def push(self, *replies: Reply) -> None:
        for reply in replies:
            if not isinstance(reply, Reply):
                raise TypeError(f"not a Reply: {reply!r}")
        with self._lock:
            self._queue.extend(replies)

    def reset(self) -> None:
        with self._lock:
            self._queue.clear()
            self.requests.clear()
            self.default = reply_text(DEFAULT_TEXT)

    def reset_requests(self) -> None:
        """Forget the requests seen so far (the script stays)."""
        with self._lock:
            self.requests.clear()

    def wait_for_requests(self, n: int, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.requests) < n:
            if time.monotonic() >= deadline:
                raise TimeoutError(f"fake GLM saw {len(self.requests)} requests, wanted {n}")
            time.sleep(0.005)

    def _disconnected(self, index: int) -> bool:
        requests = self.requests
        return index < len(requests) and requests[index].disconnected

    def wait_disconnect(self, index: int, timeout: float = 5.0) -> bool:
        deadline = time.monotonic() + timeout
        while not self._disconnected(index):
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.005)
        return True

    async def await_disconnect(self, index: int, timeout: float = 5.0) -> bool:
        deadline = time.monotonic() + timeout
        while not self._disconnected(index):
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(0.005)
        return True

    # ---- lifecycle

    def start(self) -> FakeGLM:
        if self._thread is not None:
            return self
        ready = threading.Event()
        self._error = None
        self._thread = threading.Thread(target=self._run, args=(ready,), name="fake-glm", daemon=True)
        self._thread.start()
        ready.wait()
        if self._error is not None:
            self._thread.join()
            self._thread = None
            raise self._error
        return self

    def stop(self) -> None:
        if self._thread is None:
            return
        if self._loop is not None and self._stopping is not None:
            self._loop.call_soon_threadsafe(self._stopping.set)
        self._thread.join(timeout=10)
        self._thread = None

    def __enter__(self) -> FakeGLM:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self, ready: threading.Event) -> None:
        loop = asyncio.new_event_loop()
        try:
            loop.run_until_complete(self._main(ready))
        finally:
            loop.close()
            ready.set()

    async def _main(self, ready: threading.Event) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        try:
            server = await asyncio.start_server(self._handle, "127.0.0.1", self.port, ssl=self.ssl_context)
        except BaseException as exc:
            self._error = exc
            return
        self.port = server.sockets[0].getsockname()[1]
        ready.set()
        await self._stopping.wait()
        server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        try:
            await asyncio.wait_for(server.wait_closed(), 2)
        except asyncio.TimeoutError:
            pass

    # ---- one connection

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        conn = _Conn(reader, writer)
        try:
            while await self._serve_one(conn):
                pass
        except (ValueError, UnicodeError, OSError):
            pass  # malformed request or a broken connection: drop it
        except asyncio.CancelledError:
            pass  # stop(); ending normally avoids a Python 3.11 asyncio.streams log
        finally:
            self._tasks.discard(task)
            await conn.unwatch()
            writer.close()

    async def _serve_one(self, conn: _Conn) -> bool:
        """Read one request and write its reply; False = close the connection."""
        line = await conn.read_line()
        while line == b"":  # tolerate stray CRLFs between requests
            line = await conn.read_line()
        if line is None:
            return False
        arrived = time.monotonic()
        method, path, version = line.decode("latin-1").split(" ")
        if not version.startswith("HTTP/1.") or not method or not path:
            raise ValueError("bad request line")
        headers: dict[str, str] = {}
        while header := await conn.read_line():
            name, colon, value = header.decode("latin-1").partition(":")
            name = name.strip().lower()
            if not colon or not name or len(headers) > _MAX_HEADERS:
                raise ValueError("bad header")
            headers[name] = f"{headers[name]}, {value.strip()}" if name in headers else value.strip()
        if header is None:
            raise ValueError("end of stream inside headers")
        if "chunked" in headers.get("transfer-encoding", "").lower():
            raw = await self._read_chunked(conn)
        else:
            length = int(headers.get("content-length") or 0)
            if length < 0:
                raise ValueError("bad content-length")
            raw = await conn.read_exactly(length)
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        tokens = {t.strip().lower() for t in headers.get("connection", "").split(",")}
        keep = "close" not in tokens and (version != "HTTP/1.0" or "keep-alive" in tokens)

        rec = Recorded(method, path, headers, raw, body, arrived, "runware" if isinstance(body, list) else "openai")
        peer = conn.writer.get_extra_info("peername")
        rec.client_port = peer[1] if peer else None
        with self._lock:
            index = len(self.requests)
            self.requests.append(rec)
            reply = self._queue.popleft() if self._queue else self.default

        conn.watch()
        try:
            await conn.pause(reply.delay)
            return await self._reply(conn, rec, index, reply, keep)
        except _Gone:
            rec.disconnected = True
            rec.disconnected_at = conn.gone_at or time.monotonic()
            return False
        finally:
            await conn.unwatch()

    @staticmethod
    async def _read_chunked(conn: _Conn) -> bytes:
        body = bytearray()
        while True:
            size_line = await conn.read_line()
            if size_line is None:
                raise ValueError("truncated chunked body")
            size = int(size_line.split(b";")[0].strip(), 16)
            if size == 0:
                while await conn.read_line() not in (b"", None):  # trailers
                    pass
                return bytes(body)
            body += await conn.read_exactly(size)
            if await conn.read_line() != b"":
                raise ValueError("bad chunk")

    async def _reply(self, conn: _Conn, rec: Recorded, index: int, reply: Reply, keep: bool) -> bool:
        defaults = {} if keep else {"connection": "close"}
        rec.first_byte_sent = time.monotonic()
        if not reply.steps:
            body = reply.body
            if isinstance(body, (dict, list)):
                defaults["content-type"] = "application/json"
                body = _json(body)
            elif isinstance(body, str):
                defaults["content-type"] = "text/plain; charset=utf-8"
                body = body.encode()
            body = bytes(body or b"")
            defaults["content-length"] = str(len(body))
            await conn.send(_head(reply.status, defaults, reply.headers) + body, last=rec)
        else:
            defaults |= {
                "content-type": "text/event-stream; charset=UTF-8",
                "transfer-encoding": "chunked",
                "cache-control": "no-cache",
            }
            await conn.send(_head(reply.status, defaults, reply.headers))
            stream = _Stream(rec, index)
            for step in reply.steps:
                await conn.pause(step.delay)
                if isinstance(step, Stall):
                    await conn.pause(step.seconds)
                    continue
                if isinstance(step, Cut):
                    conn.writer.transport.abort()
                    return False
                data = stream.render(step)
                if data:  # an empty chunk would end the response
                    await conn.send(b"%x\r\n%s\r\n" % (len(data), data))
            await conn.send(b"0\r\n\r\n", last=rec)
        return keep


# --------------------------------------------------------------------------- standalone


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve a fake GLM-5.1 provider on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    parser.add_argument("--text", default=DEFAULT_TEXT, help="the text every reply streams")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds before each text chunk")
    args = parser.parse_args(argv)
    fake = FakeGLM(port=args.port)
    fake.default = reply_text(args.text, delay=args.delay)
    fake.start()
    print(f"fake GLM listening on {fake.url}", flush=True)
    shown = 0
    try:
        while True:
            time.sleep(0.2)
            for rec in fake.requests[shown:]:
                print(f"{rec.method} {rec.path} ({rec.flavour})", flush=True)
                shown += 1
    except KeyboardInterrupt:
        pass
    finally:
        fake.stop()


if __name__ == "__main__":
    main()
