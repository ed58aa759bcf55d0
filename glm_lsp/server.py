"""The language server: one pygls server object, created once, with thin feature handlers.

Start-up is kept light: only pygls and lsprotocol are imported before ``initialize``
is answered; settings (pydantic) and providers (httpx) load after ``initialized``.
Nothing but protocol goes to stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import logging

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol
from pygls.protocol.language_server import lsp_method

from glm_lsp import __version__
from glm_lsp.state import ServerState

log = logging.getLogger(__name__)


class GlmProtocol(LanguageServerProtocol):
    """pygls' protocol, minus its document copies and with ``$/cancelRequest`` reaching commands.

    pygls splits lines with ``str.splitlines`` and re-splits the whole file on every
    change; our handlers (features/sync.py) maintain `ServerState.documents` instead.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.command_tasks: dict = {}  # request id → the task running that command
        self._sweep_scheduled = False

    def _handle_cancel_notification(self, msg_id) -> None:
        """pygls cancels only the outer future of executeCommand: cancel the command's task too."""
        super()._handle_cancel_notification(msg_id)
        task = self.command_tasks.pop(msg_id, None)
        if task is not None:
            task.cancel()

    def _check_handler_result(self, future) -> None:
        """After each notification: forget the futures pygls filed and never removes.

        pygls 2 files a notification's future (and each step of its generator handlers)
        under a fresh uuid in ``_request_futures`` and only removes request ids: without
        this, every keystroke's didChange left a Future behind (~2 MB a minute of typing).
        A done future needs no entry: requests are answered, responses already arrived.
        """
        super()._check_handler_result(future)
        if self._sweep_scheduled:
            return
        try:  # later, not now: pygls may be iterating the dict (shutdown cancels what is pending)
            asyncio.get_running_loop().call_soon(self._forget_done_futures)
            self._sweep_scheduled = True
        except RuntimeError:  # no event loop: nothing is iterating
            self._forget_done_futures()

    def _forget_done_futures(self) -> None:
        self._sweep_scheduled = False
        for key in [key for key, pending in self._request_futures.items() if pending.done()]:
            del self._request_futures[key]

    def _user(self, method: str, params):
        if (handler := self.fm.features.get(method)) is not None:
            yield handler, (params,), None

    @lsp_method(types.TEXT_DOCUMENT_DID_OPEN)
    def lsp_text_document__did_open(self, params: types.DidOpenTextDocumentParams):
        yield from self._user(types.TEXT_DOCUMENT_DID_OPEN, params)

    @lsp_method(types.TEXT_DOCUMENT_DID_CHANGE)
    def lsp_text_document__did_change(self, params: types.DidChangeTextDocumentParams):
        yield from self._user(types.TEXT_DOCUMENT_DID_CHANGE, params)

    @lsp_method(types.TEXT_DOCUMENT_DID_CLOSE)
    def lsp_text_document__did_close(self, params: types.DidCloseTextDocumentParams):
        yield from self._user(types.TEXT_DOCUMENT_DID_CLOSE, params)


class GlmServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__(
            "glm-lsp",
            __version__,
            protocol_cls=GlmProtocol,
            text_document_sync_kind=types.TextDocumentSyncKind.Incremental,
        )
        self.state = ServerState()

    def start_io(self, stdin=None, stdout=None) -> None:
        """pygls' stdio loop, plus a quiet end when the client goes away without ``exit``.

        pygls returns from its read loop at EOF and lets ``asyncio.run`` cancel every task;
        a command still streaming then dies with a CancelledError traceback on stderr.
        Here the work in flight is stopped first, as ``shutdown`` does.
        """
        import asyncio
        import sys
        import threading

        from pygls.io_ import StdoutWriter, run_async

        self._stop_event = threading.Event()
        self.protocol.set_writer(StdoutWriter(stdout or sys.stdout.buffer))

        async def serve_until_eof() -> None:
            reader = await _stdin_reader(stdin or sys.stdin.buffer, stdout or sys.stdout.buffer, self.thread_pool)
            await run_async(stop_event=self._stop_event, reader=reader, protocol=self.protocol,
                            logger=logging.getLogger("pygls.server"), error_handler=self.report_server_error)
            if not self._stop_event.is_set():  # EOF, not exit: the client vanished
                log.info("the client closed the connection; stopping")
                await self.state.stop()
                others = asyncio.all_tasks() - {asyncio.current_task()}
                if others:
                    await asyncio.wait(others, timeout=2)  # handlers finishing their cancelled work

        try:
            asyncio.run(serve_until_eof())
        except BrokenPipeError:
            log.warning("the connection to the client is lost; stopping")
        except (KeyboardInterrupt, SystemExit):
            pass
        finally:
            self.shutdown()


async def _stdin_reader(stdin, stdout, thread_pool):
    """The client's messages: read by the event loop itself when stdin is a pipe or socket.

    pygls reads stdin in a worker thread, one handoff to the loop per header line and
    per body; on a busy machine each costs tens to hundreds of microseconds, several
    times per message. A file or terminal on stdin (tests, a user trying the server by
    hand) keeps pygls' reader: asyncio cannot watch a file, and a terminal must not be
    made non-blocking under the user's shell.
    """
    import os
    import stat

    from pygls.io_ import StdinAsyncReader

    try:
        reading, writing = os.fstat(stdin.fileno()), os.fstat(stdout.fileno())
        mode = reading.st_mode
        # One socket for both directions (a bridge like socat): non-blocking reads would make
        # our blocking writes to stdout fail when the socket's buffer is full.
        same = (reading.st_dev, reading.st_ino) == (writing.st_dev, writing.st_ino)
    except (AttributeError, OSError, ValueError):  # not a real file descriptor
        mode, same = 0, True
    if same or not (stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)):
        return StdinAsyncReader(stdin, thread_pool)
    loop = asyncio.get_running_loop()
    stream = asyncio.StreamReader(limit=1 << 20)  # (the limit bounds a header line, not a body)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stream), stdin)
    return _PipeReader(stream)


class _PipeReader:
    """pygls' AsyncReader over an asyncio stream: a body cut short by EOF reads as b"" (pygls stops)."""

    def __init__(self, stream: asyncio.StreamReader) -> None:
        self._stream = stream

    def readline(self):
        return self._stream.readline()

    async def readexactly(self, n: int) -> bytes:
        try:
            return await self._stream.readexactly(n)
        except asyncio.IncompleteReadError:
            return b""


def create_server() -> GlmServer:
    from glm_lsp.features import actions, commands, completion, hover, setup, sync

    server = GlmServer()
    for feature in (setup, sync, actions, commands, hover, completion):
        feature.register(server)
    return server


def serve(args: argparse.Namespace) -> int:
    _quiet_pygls(args.verbose)
    server = create_server()
    server.state.cli = {k: v for k, v in (("provider", args.provider), ("base_url", args.base_url), ("model", args.model)) if v}
    server.state.config_file = args.config
    if args.tcp:
        log.warning("glm-lsp listening on %s:%s", args.host, args.port)
        server.start_tcp(args.host, args.port)
    else:
        server.start_io()
    return 0


def _quiet_pygls(verbosity: int) -> None:
    """pygls logs request params (file contents) on errors: keep it quiet unless asked."""
    from glm_lsp.cli import log as glm_log

    pygls_log = logging.getLogger("pygls")
    pygls_log.propagate = False
    if verbosity >= 2:
        for handler in glm_log.handlers:
            pygls_log.addHandler(handler)
        pygls_log.setLevel(logging.DEBUG if verbosity >= 3 else logging.WARNING)
    else:
        pygls_log.addHandler(logging.NullHandler())
        pygls_log.setLevel(logging.CRITICAL + 1)
