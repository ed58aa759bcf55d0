"""At most N model requests in flight; waiting actions are admitted before completions.

A small semaphore with two FIFO queues. It lives per (provider, base URL, model),
so two settings that point at the same model share one limit.
"""

from __future__ import annotations

import asyncio
from collections import deque
from contextlib import asynccontextmanager
from typing import AsyncIterator

from glm_lsp.providers.events import Priority

_ORDER: tuple[Priority, ...] = ("action", "completion")


class Admission:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.in_flight = 0
        self._waiting: dict[Priority, deque[asyncio.Future[None]]] = {p: deque() for p in _ORDER}

    @asynccontextmanager
    async def slot(self, priority: Priority) -> AsyncIterator[None]:
        await self._acquire(priority)
        try:
            yield
        finally:
            self._release()

    async def _acquire(self, priority: Priority) -> None:
        if self.in_flight < self.limit and not any(self._waiting.values()):
            self.in_flight += 1
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting[priority].append(future)
        try:
            await future  # _release hands its slot over: in_flight stays counted
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                self._release()  # granted and cancelled at once: give the slot back
            else:
                self._waiting[priority].remove(future)
            raise

    def _release(self) -> None:
        for priority in _ORDER:
            queue = self._waiting[priority]
            while queue:
                future = queue.popleft()
                if not future.done():
                    future.set_result(None)
                    return
        self.in_flight -= 1


_registry: dict[tuple, Admission] = {}


def admission_for(key: tuple, limit: int) -> Admission:
    """The shared limit for one (provider, base URL, model); a new limit applies at once."""
    admission = _registry.get(key)
    if admission is None:
        admission = _registry[key] = Admission(limit)
    admission.limit = limit
    return admission
