"""What the server knows between requests: documents, settings, the last place asked about, sessions.

Plain data and small helpers only (no handlers). Heavy modules (pydantic, httpx) are
imported on first use, after ``initialize`` has been answered.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from glm_lsp.context.documents import DocumentStore

if TYPE_CHECKING:  # pragma: no cover
    from glm_lsp.providers.client import Provider
    from glm_lsp.settings import LiveSettings, Settings

log = logging.getLogger(__name__)

SETTINGS_WAIT_SECONDS = 10.0  # a client that never answers workspace/configuration must not block us

Range = tuple[tuple[int, int], tuple[int, int]]  # ((line, character), (line, character)) in client units


@dataclass
class Place:
    """Where the editor last asked about: a document and a range (client units)."""

    uri: str
    range: Range | None = None


@dataclass
class Session:
    """One model request running for a command; cancellable from anywhere."""

    kind: str
    uri: str
    task: asyncio.Task | None = None
    cancelled_by_user: bool = False

    def cancel(self) -> bool:
        if self.task is None or self.task.done():
            return False
        self.cancelled_by_user = True
        self.task.cancel()
        return True


@dataclass
class AiEdit:
    """The last AI edit in a document: its region (followed through later edits) and what it replaced."""

    tracker: Any  # an EditSession whose region holds the AI's lines; conflict = the user edited inside
    replaced: list[str]


def _diagnostic_key(diagnostics: list[dict]) -> tuple:
    """Diagnostics by what they say, not where: a fix moves lines."""
    return tuple(sorted((str(d.get("message")), str(d.get("source")), str(d.get("code"))) for d in diagnostics))


@dataclass
class ServerState:
    documents: DocumentStore = field(default_factory=DocumentStore)
    encoding: str = "utf-16"
    root: Path | None = None
    init_options: dict[str, Any] | None = None
    cli: dict[str, Any] = field(default_factory=dict)  # settings given as command-line flags
    config_file: str | None = None
    client_info: Any = None  # the client's name and version, from initialize
    live: LiveSettings | None = None
    settings_ready: asyncio.Event = field(default_factory=asyncio.Event)
    last_place: Place | None = None
    sessions: list[Session] = field(default_factory=list)
    last_prompts: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    last_contexts: dict[str, Any] = field(default_factory=dict)  # uri → the Context of the last prompt
    edit_sessions: dict[str, Any] = field(default_factory=dict)  # uri → the running EditSession
    ai_edits: dict[str, Any] = field(default_factory=dict)  # uri → AiEdit, the last finished one (revert)
    fixes: dict[tuple, str] = field(default_factory=dict)  # (uri, diagnostics) → last fix's text
    explanations: dict[str, list[Any]] = field(default_factory=dict)  # uri → Explanation (hover)
    completion: Any = None  # the CompletionEngine, made by features/completion.register
    limit_notified: bool = False
    warm_up: Any = None  # the task loading what the first completion needs (features/completion.warm_up)
    failures_shown: set[str] = field(default_factory=set)  # kinds of completion failure already shown
    _usage: Any = None

    @property
    def usage(self):
        """The usage book (tokens per request, session and day), opened on first use."""
        if self._usage is None:
            from glm_lsp.usage import UsageBook

            self._usage = UsageBook.default()
        return self._usage

    _context: Any = None

    @property
    def context(self):
        """The context layer (ranked snippets, privacy, token estimates), made on first use."""
        if self._context is None:
            from glm_lsp.context.builder import ContextBuilder

            self._context = ContextBuilder()
        return self._context

    def build_context(self, doc, query: str, budget: int, settings, *, with_recent: bool = False):
        return self.context.build(self.documents, doc, query, budget, self.root, settings, with_recent=with_recent)

    def tell(self, server, kind, message: str) -> None:
        """One message for the user, passed through the redaction (providers echo what they got)."""
        from lsprotocol import types

        if self.live is not None:
            message = self.context.redact(message, self.root, self.live.settings)
        server.window_show_message(types.ShowMessageParams(type=kind, message=message))

    def remember_prompt(self, uri: str, messages, context=None) -> None:
        """What was last sent for a document (glm.showPrompt), with the snippets chosen and why."""
        self.last_prompts[uri] = messages
        self.last_contexts[uri] = context

    def record_usage(self, usage, feature: str, messages) -> None:
        self.usage.record(usage, feature)
        self.context.tokens.observe("".join(m["content"] for m in messages), usage.prompt_tokens)

    def check_allowed(self, uri: str, settings) -> None:
        """A command's own target must not be an excluded file: say so instead of sending it."""
        from glm_lsp.errors import GlmError

        reason = self.context.excluded(uri, self.root, settings)
        if reason:
            raise GlmError(f"glm-lsp will not send this file to the model: it {reason} "
                           "(context.exclude or .gitignore). Change those settings if it should be sent.")

    def estimate_usage(self, messages: list[dict[str, str]], answer: str):
        """Usage when the stream was closed before the provider reported it."""
        from glm_lsp.providers.events import Usage

        prompt = sum(len(m["content"]) for m in messages) // 4
        completion = max(1, len(answer) // 4)
        return Usage(prompt, completion, prompt + completion)

    def report_completion_failure(self, server, error) -> None:
        """Persistent failures (no key, 401, quota, bad settings) are shown once; others logged."""
        from lsprotocol import types

        from glm_lsp.errors import (
            AuthenticationError, MissingApiKeyError, QuotaExceededError, SettingsError, UnknownModelError,
        )

        kind = type(error).__name__
        log.info("completion failed: %s", type(error).__name__)
        persistent = (AuthenticationError, MissingApiKeyError, QuotaExceededError, SettingsError, UnknownModelError)
        if isinstance(error, persistent) and kind not in self.failures_shown:
            self.failures_shown.add(kind)
            self.tell(server, types.MessageType.Error, f"glm-lsp: completions are failing: {error}")
    _provider: Provider | None = None
    _provider_key: tuple | None = None
    _retired: list[Provider] = field(default_factory=list)

    async def settings(self) -> Settings:
        """The current settings, waiting (bounded) for the editor's first answer."""
        if not self.settings_ready.is_set():
            try:
                await asyncio.wait_for(self.settings_ready.wait(), SETTINGS_WAIT_SECONDS)
            except TimeoutError:
                log.warning("no settings from the editor after %s s; using what we have", SETTINGS_WAIT_SECONDS)
        return self.ensure_live().settings

    def ensure_live(self) -> LiveSettings:
        """Settings from files, environment and flags (the editor's layers come on top)."""
        if self.live is None:
            from glm_lsp.settings import Layer, LiveSettings, default_layers

            config = Path(self.config_file) if self.config_file else None
            top = [Layer("command line", self.cli)] if self.cli else []
            self.live = LiveSettings(default_layers(self.root, config), top)
        return self.live

    def provider(self, settings: Settings) -> Provider:
        """One pooled provider client per effective connection settings."""
        from glm_lsp.providers.client import Provider

        key = (
            settings.provider, settings.effective_base_url, settings.effective_model,
            settings.api_key.get_secret_value() if settings.api_key else None,
            settings.timeout_seconds, settings.connect_timeout_seconds,
            settings.max_concurrent_requests, settings.max_retries,
        )
        if self._provider is None or key != self._provider_key:
            if self._provider is not None:
                self._retired.append(self._provider)  # in-flight streams may still use it
            self._provider, self._provider_key = Provider(settings), key
        return self._provider

    async def aclose(self) -> None:
        for provider in [*self._retired, *([self._provider] if self._provider else [])]:
            await provider.aclose()
        self._retired.clear()
        self._provider = None

    def record_ai_edit(self, server, uri: str, region, replaced: list[str]) -> None:
        """Remember the last AI edit of a document for glm.revert; it follows later edits."""
        from glm_lsp.edits.region import Region
        from glm_lsp.features.streaming import EditSession

        tracker = EditSession(server, uri, Region(region.wanted(), region.start))
        self.ai_edits[uri] = AiEdit(tracker, replaced)

    def remember_fix(self, uri: str, diagnostics: list[dict] | None, new_text: str) -> None:
        if diagnostics:
            self.fixes[(uri, _diagnostic_key(diagnostics))] = new_text

    def previous_fix(self, uri: str, diagnostics: list[dict] | None) -> str | None:
        """The last fix for these same diagnostics, if they survived it ("Fix again")."""
        return self.fixes.get((uri, _diagnostic_key(diagnostics))) if diagnostics else None

    async def stop(self) -> None:
        """Shutdown, or the client is gone: stop the work in flight, write what is pending, close."""
        for session in self.sessions:
            session.cancel()  # a command cancelled like this ends quietly, answering None
        if self.completion is not None:
            for doc in list(self.documents):
                self.completion.forget(doc.uri)  # closes their upstream streams
        if self._usage is not None:
            self._usage.flush()
        await self.aclose()

    def start_session(self, session: Session) -> None:
        self.sessions = [s for s in self.sessions if s.task is None or not s.task.done()]
        self.sessions.append(session)

    def latest_session(self, uri: str | None = None) -> Session | None:
        for session in reversed(self.sessions):
            if uri is None or session.uri == uri:
                return session
        return None


def is_helix(server) -> bool:
    """Helix 25.01 needs a few workarounds (see tests/clients.py); it names itself in clientInfo."""
    info = server.state.client_info
    return bool(info and info.name and info.name.lower().startswith("helix"))
