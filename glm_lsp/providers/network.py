"""The network under httpx: httpcore's connections on plain asyncio streams.

httpx's default transport reaches its sockets through anyio, whose cancel scopes and
checks on every read and write cost 0.2-0.3 ms per inline completion (an interleaved
A/B of the two, bench/ab_latency.py), a twentieth of all glm-lsp adds to one.
httpcore lets a client bring its own network backend
(``httpcore.AsyncNetworkBackend``); this one maps its few operations onto asyncio's
streams and raises the exceptions httpcore's own backends raise, so httpx above it
behaves as before: the same timeouts, connect and TLS errors, keep-alive checks.

Only direct connections use it: with a proxy in the environment (HTTPS_PROXY, ...) the
client keeps httpx's own transports, which honour it (see :func:`proxied`).
"""

from __future__ import annotations

import asyncio
import logging
import select
import ssl
import urllib.request
from typing import Any, Iterable

import httpcore
import httpx

log = logging.getLogger(__name__)

HAPPY_EYEBALLS_DELAY = 0.25  # RFC 8305's recommended wait before trying the next address


class _Stream(httpcore.AsyncNetworkStream):
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        try:
            async with asyncio.timeout(timeout):
                return await self._reader.read(max_bytes)
        except TimeoutError as exc:
            raise httpcore.ReadTimeout(f"no data for {timeout} s") from exc
        except OSError as exc:  # (ssl.SSLError included)
            raise httpcore.ReadError(str(exc) or type(exc).__name__) from exc

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        try:
            async with asyncio.timeout(timeout):
                self._writer.write(buffer)
                await self._writer.drain()
        except TimeoutError as exc:
            raise httpcore.WriteTimeout(f"could not send for {timeout} s") from exc
        except OSError as exc:
            raise httpcore.WriteError(str(exc) or type(exc).__name__) from exc

    async def aclose(self) -> None:
        self._writer.close()  # (not waiting for the peer: a dead server must not hold a request)

    async def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                        timeout: float | None = None) -> httpcore.AsyncNetworkStream:
        try:
            async with asyncio.timeout(timeout):
                await self._writer.start_tls(ssl_context, server_hostname=server_hostname)
        except TimeoutError as exc:
            self._writer.close()
            raise httpcore.ConnectTimeout(f"TLS handshake took longer than {timeout} s") from exc
        except OSError as exc:  # (ssl.SSLError included: certificate, protocol)
            self._writer.close()
            raise httpcore.ConnectError(str(exc) or type(exc).__name__) from exc
        return self  # (the writer and reader now speak TLS)

    def get_extra_info(self, info: str) -> Any:
        if info == "ssl_object":
            return self._writer.get_extra_info("ssl_object")
        if info == "client_addr":
            return self._writer.get_extra_info("sockname")
        if info == "server_addr":
            return self._writer.get_extra_info("peername")
        if info == "socket":
            return self._writer.get_extra_info("socket")
        if info == "is_readable":
            # Asked of an idle keep-alive connection: readable means the server closed it (or
            # broke protocol), and httpcore opens a new one. What asyncio has read tells, and
            # the socket itself for what arrived since the event loop last looked.
            reader = self._reader
            if reader.at_eof() or reader.exception() is not None or self._writer.is_closing():
                return True
            return _readable(self._writer.get_extra_info("socket"))
        return None


def _readable(sock) -> bool:
    if sock is None or sock.fileno() < 0:
        return True
    if not hasattr(select, "poll"):  # (Windows)
        return bool(select.select([sock], [], [], 0)[0])
    poll = select.poll()
    poll.register(sock, select.POLLIN)
    return bool(poll.poll(0))


class AsyncioBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network operations on asyncio streams (TCP; glm-lsp opens no Unix sockets)."""

    def __init__(self) -> None:
        self.connections = 0  # opened so far (keep-alive shows as few)

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                          local_address: str | None = None,
                          socket_options: Iterable[tuple] | None = None) -> httpcore.AsyncNetworkStream:
        try:
            async with asyncio.timeout(timeout):
                reader, writer = await asyncio.open_connection(
                    host, port, local_addr=(local_address, 0) if local_address else None,
                    happy_eyeballs_delay=HAPPY_EYEBALLS_DELAY,
                )
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(f"no connection to {host}:{port} within {timeout} s") from exc
        except OSError as exc:  # (socket.gaierror and ConnectionRefusedError included)
            raise httpcore.ConnectError(str(exc) or type(exc).__name__) from exc
        self.connections += 1
        _set_options(writer, socket_options)
        return _Stream(reader, writer)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


def _set_options(writer: asyncio.StreamWriter, options: Iterable[tuple] | None) -> None:
    sock = writer.get_extra_info("socket")
    for option in options or ():
        sock.setsockopt(*option)


def proxied() -> bool:
    """Does the environment name a proxy (as httpx reads it: urllib's getproxies)?"""
    return bool(urllib.request.getproxies())


class Transport(httpx.AsyncHTTPTransport):
    """httpx's transport for direct connections, with its connection pool on :class:`AsyncioBackend`.

    httpx builds the pool itself and takes no backend, so the pool it built (``_pool``,
    an attribute httpx has kept since 0.18) is replaced by the same pool on this backend.
    If a future httpx keeps it elsewhere, its own pool stays: slower, never broken.
    """

    def __init__(self, limits: httpx.Limits) -> None:
        ssl_context = httpx.create_ssl_context(trust_env=True)  # (certifi's, or SSL_CERT_FILE / SSL_CERT_DIR)
        super().__init__(verify=ssl_context, limits=limits, trust_env=True)
        self.backend: AsyncioBackend | None = None
        if isinstance(getattr(self, "_pool", None), httpcore.AsyncConnectionPool):
            self.backend = AsyncioBackend()
            self._pool = httpcore.AsyncConnectionPool(
                ssl_context=ssl_context,
                max_connections=limits.max_connections,
                max_keepalive_connections=limits.max_keepalive_connections,
                keepalive_expiry=limits.keepalive_expiry,
                network_backend=self.backend,
            )
        else:
            log.debug("httpx keeps its connection pool elsewhere: using its own network backend")
