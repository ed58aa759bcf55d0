"""The usage book: requests add up in memory, one batched write merges them into the file."""

from __future__ import annotations

import asyncio
import json

from glm_lsp.providers.events import Usage
from glm_lsp.usage import UsageBook


def tokens_on_disk(path) -> int:
    days = json.loads(path.read_text())["days"]
    return sum(day["prompt_tokens"] + day["completion_tokens"] for day in days.values())


async def test_a_burst_of_requests_is_one_write_and_counts_before_it(tmp_path, monkeypatch):
    monkeypatch.setattr("glm_lsp.usage.FLUSH_DELAY", 0.05)
    path = tmp_path / "usage.json"
    book = UsageBook(path)
    for _ in range(5):
        book.record(Usage(prompt_tokens=100, completion_tokens=10), "completion")
    assert not path.exists()  # nothing written on the request path
    assert book.today().tokens == 550  # the daily limit sees pending requests at once
    assert book.summary()["today"]["requests"] == 5
    await asyncio.sleep(0.2)
    assert tokens_on_disk(path) == 550
    assert book.pending.requests == 0


def test_two_servers_sharing_the_file_add_up(tmp_path):
    path = tmp_path / "usage.json"
    first, second = UsageBook(path), UsageBook(path)
    first.record(Usage(prompt_tokens=7, completion_tokens=3), "fix")  # no event loop: written at once
    second.record(Usage(prompt_tokens=20, completion_tokens=5), "completion")
    assert tokens_on_disk(path) == 35
    assert UsageBook(path).today().tokens == 35


async def test_flush_writes_what_is_pending_at_shutdown(tmp_path):
    path = tmp_path / "usage.json"
    book = UsageBook(path)
    book.record(Usage(prompt_tokens=1, completion_tokens=1), "completion")
    book.flush()
    assert tokens_on_disk(path) == 2
    book.flush()  # nothing pending: the file is left as it is
    assert tokens_on_disk(path) == 2
