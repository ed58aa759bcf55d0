"""Tokens (and Runware's cost) per request, per session and per day, kept on disk.

The provider's own usage figures are recorded after each request; today's total is
what ``usage.dailyTokenLimit`` is checked against. The book lives in
``<user data dir>/glm-lsp/usage.json`` (written atomically; days older than 30 are
dropped) so the limit holds across editor restarts. Writes are batched: a request only
adds to memory, and one write a second later (or at shutdown/exit) merges what is
pending into the file, so the disk stays off every request's path. The file is read
back before each write, so several servers (several editors) add up rather than
overwrite each other.
"""

from __future__ import annotations

import asyncio
import atexit
import datetime as dt
import json
import logging
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

KEEP_DAYS = 30
FLUSH_DELAY = 1.0  # seconds: the requests of a burst share one write


@dataclass
class Totals:
    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    cost: float = 0.0

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def add(self, usage) -> None:
        self.requests += 1
        self.prompt_tokens += usage.prompt_tokens
        self.completion_tokens += usage.completion_tokens
        self.cached_tokens += usage.cached_tokens or 0
        self.cost += usage.cost or 0.0

    def merge(self, other: Totals) -> None:
        self.requests += other.requests
        self.prompt_tokens += other.prompt_tokens
        self.completion_tokens += other.completion_tokens
        self.cached_tokens += other.cached_tokens
        self.cost += other.cost

    def as_json(self) -> dict:
        return {**asdict(self), "tokens": self.tokens}


@dataclass
class UsageBook:
    path: Path | None
    session: Totals = field(default_factory=Totals)
    by_feature: dict[str, Totals] = field(default_factory=dict)
    last: dict | None = None
    pending: Totals = field(default_factory=Totals)  # recorded, not yet in the file
    _flush_timer: asyncio.TimerHandle | None = field(default=None, init=False, repr=False)

    @classmethod
    def default(cls) -> UsageBook:
        import platformdirs

        book = cls(Path(platformdirs.user_data_dir("glm-lsp")) / "usage.json")
        atexit.register(book.flush)  # the last second's requests, when the process ends
        return book

    def record(self, usage, feature: str) -> None:
        self.session.add(usage)
        self.by_feature.setdefault(feature, Totals()).add(usage)
        self.last = {"feature": feature, "promptTokens": usage.prompt_tokens,
                     "completionTokens": usage.completion_tokens, "cachedTokens": usage.cached_tokens,
                     "cost": usage.cost}
        self.pending.add(usage)
        if self._flush_timer is None:
            try:
                self._flush_timer = asyncio.get_running_loop().call_later(FLUSH_DELAY, self.flush)
            except RuntimeError:  # no event loop (a script): write now
                self.flush()

    def flush(self) -> None:
        """Add what is pending to the file."""
        if self._flush_timer is not None:
            self._flush_timer.cancel()
            self._flush_timer = None
        if not self.pending.requests:
            return
        days = self._load()
        totals = Totals(**days.get(_today(), {}))
        totals.merge(self.pending)
        days[_today()] = asdict(totals)
        self.pending = Totals()
        self._save(days)

    def today(self) -> Totals:
        totals = Totals(**self._load().get(_today(), {}))
        totals.merge(self.pending)
        return totals

    def summary(self) -> dict:
        days = self._load()
        today = Totals(**days.get(_today(), {}))
        today.merge(self.pending)
        days[_today()] = asdict(today)
        return {
            "lastRequest": self.last,
            "session": self.session.as_json(),
            "sessionByFeature": {name: t.as_json() for name, t in self.by_feature.items()},
            "today": today.as_json(),
            "days": {day: Totals(**v).as_json() for day, v in sorted(days.items())[-7:]},
        }

    def _load(self) -> dict:
        if self.path is None or not self.path.is_file():
            return {}
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            return {day: {k: v for k, v in values.items() if k in Totals.__dataclass_fields__}
                    for day, values in data.get("days", {}).items()}
        except (OSError, ValueError, AttributeError) as exc:
            log.warning("usage file %s unreadable (%s); starting afresh", self.path, exc)
            return {}

    def _save(self, days: dict) -> None:
        if self.path is None:
            return
        cutoff = (dt.date.today() - dt.timedelta(days=KEEP_DAYS)).isoformat()
        days = {day: v for day, v in days.items() if day >= cutoff}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps({"days": days}, indent=1), encoding="utf-8")
            os.replace(tmp, self.path)
        except OSError as exc:
            log.warning("cannot write usage file %s: %s", self.path, exc)


def _today() -> str:
    return dt.date.today().isoformat()
