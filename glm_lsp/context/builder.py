"""What the model sees besides the target: ranked snippets from the open buffers, within a budget.

Sources, each giving scored snippets with their path:
- definitions the target uses: names defined in the current file (outside the target)
  or in an open buffer the current file imports;
- other open buffers: windows of lines ranked by identifier similarity to the code
  around the target (neighbors.py), boosted for imported and recently edited files;
- recent edits: what the user just changed in this session (helps completions).

Privacy comes first: excluded and git-ignored files are never read, and every text
that goes out (snippets, the current file) passes the redaction. The budget is filled
by score; the chosen snippets are then ordered stably (by path and line), so an
unchanged snippet keeps its place and text between requests and the provider's prompt
cache hits; the volatile part (the cursor region) is put last by the prompts.
"""

from __future__ import annotations

import functools
import re
import time
from collections import deque
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import unquote, urlparse

from glm_lsp.context.documents import Document
from glm_lsp.context.redacted import RedactedViews, line_breaks
from glm_lsp.context.tokens import TokenEstimator

IMPORT_BOOST = 2.0
RECENT_BOOST = 1.3
RECENT_SECONDS = 120.0
MAX_DEFINITION_LINES = 40
WINDOW_TOKENS = 150  # a 20-line window of code, roughly
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class Snippet:
    path: str
    source: str  # "definition" | "open buffer" | "recent edits"
    text: str
    score: float
    tokens: int
    first_line: int = 0
    reason: str = ""
    uri: str = ""  # the document it comes from ("" for recent edits)


@dataclass
class Context:
    snippets: list[Snippet] = field(default_factory=list)
    excluded: list[str] = field(default_factory=list)  # files left out, with why (for showPrompt)

    def render(self) -> str:
        if not self.snippets:
            return ""
        parts = ["Related code from the workspace (for reference; do not repeat it):"]
        for s in self.snippets:
            where = f"{s.path}, line {s.first_line + 1}" if s.source != "recent edits" else "recent edits"
            parts.append(f"--- {where} ({s.source})\n{s.text.rstrip()}")
        return "\n\n".join(parts)

    def report(self) -> list[dict]:
        return [
            {"path": s.path, "line": s.first_line + 1, "source": s.source, "score": round(s.score, 3),
             "tokens": s.tokens, "why": s.reason}
            for s in self.snippets
        ]


@dataclass
class RecentEdit:
    uri: str
    line: int
    text: str
    at: float


class ContextBuilder:
    def __init__(self) -> None:
        from glm_lsp.context.neighbors import NeighborIndex

        self.index = NeighborIndex()
        self.tokens = TokenEstimator()
        self.recent: deque[RecentEdit] = deque(maxlen=20)
        self._privacy = None
        self._privacy_key: tuple | None = None
        self._privacy_settings = self._privacy_root = None  # the last asked, for a fast answer
        self._excluded: dict[str, str | None] = {}  # uri → reason, for the current privacy rules
        self._imports: dict[tuple, set[str]] = {}  # (uri, version, open uris) → imported open uris
        self._names: dict[str, tuple] = {}  # uri → (version, {defined name: line}, version they were read at)
        self._definitions: dict[str, tuple[int | None, dict[int, str]]] = {}  # uri → (version, {line: text})
        self.views = RedactedViews(prepare=self.prepare)  # buffers redacted and indexed while the editor is idle
        self._indent_units: dict[str, str] = {}  # uri → indentation unit
        self._references: dict[str, list[str]] = {}  # uri → what the file imports
        self._redactions: dict[str, str] = {}
        self._redaction_owner = None

    # -- privacy ---------------------------------------------------------------------------

    def privacy(self, root: Path | None, settings):
        from glm_lsp.context.privacy import Privacy

        if settings is self._privacy_settings and root is self._privacy_root:
            return self._privacy  # asked per open document per request: settings objects are replaced, not changed
        self._privacy_settings, self._privacy_root = settings, root
        key_value = settings.api_key.get_secret_value() if settings.api_key else ""
        key = (root, tuple(settings.context.exclude), key_value)
        if self._privacy is None or key != self._privacy_key:
            self._privacy = Privacy(root, list(settings.context.exclude), [key_value] if key_value else [])
            self._privacy_key = key
            self._excluded.clear()
        return self._privacy

    def excluded(self, uri: str, root: Path | None, settings) -> str | None:
        privacy = self.privacy(root, settings)
        if uri not in self._excluded:  # a file's verdict holds while the rules are the same
            path = uri_path(uri)
            self._excluded[uri] = privacy.excluded(path) if path is not None else None
        return self._excluded[uri]

    def redact(self, text: str, root: Path | None, settings, once: str = "") -> str:
        return self.privacy(root, settings).redact(text, once)

    # -- following the user --------------------------------------------------------------

    def edited(self, uri: str, line: int, text: str) -> None:
        if text.strip():
            self.recent.append(RecentEdit(uri, line, text[:200], time.monotonic()))

    def forget(self, uri: str) -> None:
        self.index.forget(uri)
        self.views.forget(uri)
        self._excluded.pop(uri, None)
        self._names.pop(uri, None)
        self._indent_units.pop(uri, None)
        self._references.pop(uri, None)
        self._definitions.pop(uri, None)
        self._imports = {k: v for k, v in self._imports.items() if k[0] != uri}

    def indent_unit(self, doc: Document) -> str:
        """scope.indent_unit, read once per file and again by the idle pass (`prepare`).

        It reads up to 500 lines, and every keystroke is a new version; typing rarely
        changes a file's indentation style."""
        from glm_lsp.context.scope import indent_unit

        if doc.uri not in self._indent_units:
            self._indent_units[doc.uri] = indent_unit(doc)
        return self._indent_units[doc.uri]

    def _defined(self, doc: Document, used: set[str]) -> dict[str, int]:
        """The names ``doc`` defines, with their lines (imports.defined_names).

        Reading a 10,000-line file takes ~5 ms, and while the user types every keystroke is
        a new version. A keystroke rarely adds or removes a definition elsewhere, so the last
        answer is kept while the lines of the names asked about (``used``) still hold those
        names; when lines moved or a definition went away it is read again. A definition
        added away from the cursor is found by the idle pass (`prepare`).
        """
        from glm_lsp.context.imports import defined_names

        version, names, read_at = self._names.get(doc.uri, (None, None, None))
        if names is not None and version != doc.version:
            if all(line < doc.line_count and name in doc.line(line) for name, line in
                   ((name, names[name]) for name in used & names.keys())):
                self._names[doc.uri] = (doc.version, names, read_at)
            else:
                names = None
        if names is None:
            names = defined_names(doc.text, doc.language_id)
            self._names[doc.uri] = (doc.version, names, doc.version)
        return names

    def prepare(self, doc: Document) -> None:
        """While the editor is idle (RedactedViews): index ``doc`` for ranking; read again the
        definitions, imports and indentation of a file they were asked for (only those are used)."""
        from glm_lsp.context.imports import defined_names, imported_paths
        from glm_lsp.context.scope import indent_unit

        if not (self.recent and self.recent[-1].uri == doc.uri):
            self.index.update(doc)  # (not the file being typed in: ranking leaves it out, and it takes long)
        if doc.uri in self._names and self._names[doc.uri][2] != doc.version:
            self._names[doc.uri] = (doc.version, defined_names(doc.text, doc.language_id), doc.version)
        if doc.uri in self._indent_units:
            self._indent_units[doc.uri] = indent_unit(doc)
        if doc.uri in self._references:
            self._references[doc.uri] = imported_paths(doc.text, doc.language_id)

    def _definition(self, doc: Document, line: int) -> str:
        """_definition, remembered per document version (finding a block's end reads its lines)."""
        version, texts = self._definitions.get(doc.uri, (None, None))
        if texts is None or version != doc.version:
            texts = {}
            self._definitions[doc.uri] = (doc.version, texts)
        if line not in texts:
            texts[line] = _definition(doc, line)
        return texts[line]

    def _imported(self, current: Document, allowed: list[Document]) -> set[str]:
        from glm_lsp.context.imports import imported_paths, resolves_to

        # What the file imports is read once and again by the idle pass (`prepare`): typing
        # rarely changes it, and a 10,000-line file takes a while to read.
        if current.uri not in self._references:
            self._references[current.uri] = imported_paths(current.text, current.language_id)
        references = self._references[current.uri]
        key = (current.uri, tuple(references), tuple(d.uri for d in allowed))
        if key not in self._imports:
            if len(self._imports) > 64:
                self._imports.clear()
            self._imports[key] = {d.uri for d in allowed if any(resolves_to(r, current.uri, d.uri) for r in references)}
        return self._imports[key]

    # -- building --------------------------------------------------------------------------

    def build(self, documents, current: Document, query: str, budget: int, root: Path | None, settings,
              *, with_recent: bool = False) -> Context:
        """Snippets for a request about ``query`` (the code around the target) in ``current``."""
        privacy = self.privacy(root, settings)
        context = Context()
        allowed: list[Document] = []
        for doc in documents:
            if doc.uri == current.uri:
                continue
            reason = self.excluded(doc.uri, root, settings)
            if reason:
                context.excluded.append(f"{relative(doc.uri, root)}: {reason}")
                self.index.forget(doc.uri)
                continue
            allowed.append(doc)
            self.index.update(doc)
        imported = self._imported(current, allowed)
        now = time.monotonic()
        recent_uris = {e.uri for e in self.recent if now - e.at < RECENT_SECONDS}
        # Only the boosted documents (the rest count 1.0): the boosts are part of the ranking's memo key.
        boosts = {d.uri: (IMPORT_BOOST if d.uri in imported else 1.0) * (RECENT_BOOST if d.uri in recent_uris else 1.0)
                  for d in allowed if d.uri in imported or d.uri in recent_uris}

        candidates: list[Snippet] = []
        used = set(_IDENT.findall(query))
        for doc in [current, *[d for d in allowed if d.uri in imported]]:
            names = self._defined(doc, used)
            for name in sorted(used & names.keys(), key=names.get):
                line = names[name]
                if doc is current and line_in(query, current, line):
                    continue
                text = self._definition(doc, line)
                why = "defined in this file" if doc is current else "defined in a file this one imports"
                candidates.append(self._snippet(doc, root, "definition", text, 3.0, line, f"{name}: {why}", privacy))
        by_uri = {d.uri: d for d in allowed}
        for scored in self.index.rank(query, exclude_uri=current.uri, boosts=boosts, limit=_windows_for(budget)):
            window = scored.window
            doc = by_uri.get(window.uri)
            if doc is None:
                continue
            candidates.append(self._snippet(doc, root, "open buffer", window.text, scored.score,
                                            window.first_line, scored.reason, privacy))
        if with_recent:
            edits = [e for e in self.recent if now - e.at < RECENT_SECONDS and not self.excluded(e.uri, root, settings)]
            if edits:
                text = "\n".join(f"{relative(e.uri, root)}:{e.line + 1}: {e.text.strip()}" for e in edits[-8:])
                candidates.append(Snippet("", "recent edits", text, 1.0, self.tokens.estimate(text),
                                          0, "what you just changed"))
        # Redact only what is chosen (redaction keeps lengths close, so the budget still holds):
        # from the document's redacted copy when it is ready (context/redacted.py), else now.
        chosen = []
        for snippet in self._fill(candidates, budget):
            doc = by_uri.get(snippet.uri) if snippet.source == "open buffer" else None
            if doc is None:
                source = current if snippet.uri == current.uri else by_uri.get(snippet.uri)
                end = snippet.first_line + line_breaks(snippet.text) + 1
                if source is None or not self.views.unchanged(source, privacy, snippet.first_line, end):
                    snippet = replace(snippet, text=self._redacted(snippet.text, privacy))
                chosen.append(snippet)
                continue
            end = snippet.first_line + snippet.text.count("\n") + 1
            text = self.views.window(doc, privacy, snippet.first_line, end)
            if text is None and "PRIVATE KEY" in doc.text:
                continue  # the window may be inside a key block that starts above it: wait for the copy
            chosen.append(replace(snippet, text=text if text is not None else self._redacted(snippet.text, privacy)))
        context.snippets = chosen
        return context

    def _redacted(self, text: str, privacy) -> str:
        """Redaction, remembered: the same snippets come back keystroke after keystroke."""
        if privacy is not self._redaction_owner:
            self._redactions, self._redaction_owner = {}, privacy
        if text not in self._redactions:
            if len(self._redactions) > 512:
                self._redactions.clear()
            self._redactions[text] = privacy.redact(text)
        return self._redactions[text]

    def _snippet(self, doc, root, source, text, score, line, reason, privacy) -> Snippet:
        return Snippet(relative(doc.uri, root), source, text, score, self.tokens.estimate(text) + 8, line, reason,
                       doc.uri)

    def _fill(self, candidates: list[Snippet], budget: int) -> list[Snippet]:
        """Best first into the budget, never the same lines twice; then a stable order."""
        chosen: list[Snippet] = []
        spent = 0
        seen: set[tuple[str, int]] = set()
        for snippet in sorted(candidates, key=lambda s: (-s.score, s.path, s.first_line)):
            lines = {(snippet.path, snippet.first_line + i) for i in range(snippet.text.count("\n") + 1)}
            if snippet.source != "recent edits" and lines & seen:
                continue
            if spent + snippet.tokens > budget:
                continue
            chosen.append(snippet)
            spent += snippet.tokens
            seen |= lines
        order = {"definition": 0, "open buffer": 1, "recent edits": 2}
        return sorted(chosen, key=lambda s: (order[s.source], s.path, s.first_line))


def _windows_for(budget: int) -> int:
    """Windows worth ranking for a budget: twice what fits (a window is ~150 tokens), 8 to 30.

    Ranking cost grows with this (it scores a few windows per result), and a completion's
    1,024 tokens hold about six windows."""
    return min(30, max(8, 2 * budget // WINDOW_TOKENS))


def _definition(doc: Document, line: int) -> str:
    """The definition on ``line`` and its body; a method stops where the next one starts."""
    from glm_lsp.context.scope import block_opened_by

    last = block_opened_by(doc, line, MAX_DEFINITION_LINES)
    return "".join(doc.line_with_ending(n) for n in range(line, last + 1))


def line_in(query: str, doc: Document, line: int) -> bool:
    """Is the definition on ``line`` part of the query text itself (the target)?"""
    return 0 <= line < doc.line_count and doc.line(line).strip() != "" and doc.line(line) in query


@functools.lru_cache(maxsize=4096)  # called per open document per request; URIs repeat
def uri_path(uri: str) -> Path | None:
    parsed = urlparse(uri)
    return Path(unquote(parsed.path)) if parsed.scheme == "file" else None


@functools.lru_cache(maxsize=4096)
def relative(uri: str, root: Path | None) -> str:
    path = uri_path(uri)
    if path is None:
        return uri
    if root is not None and path.is_relative_to(root):
        return str(path.relative_to(root))
    return path.name


class Unredactor:
    """Puts the user's own secrets back where the model kept the placeholders, in order.

    The target of an edit is redacted before it is sent; without this, applying the
    answer would write the placeholder over the user's secret. Call `apply` on the
    streamed text piece by piece (or once on the whole answer).
    """

    def __init__(self, original: str, redacted: str, placeholder: str) -> None:
        self.placeholder = placeholder
        self.secrets = _replaced_spans(original, redacted, placeholder)
        # A line the model kept as it was gets its own secrets back, wherever it moved.
        self._pairs = [
            (r.rstrip("\r\n"), o.rstrip("\r\n"))
            for r, o in zip(redacted.splitlines(True), original.splitlines(True))
            if placeholder in r
        ] if redacted.count("\n") == original.count("\n") else []
        self.reset()

    def reset(self) -> None:
        self._used = 0
        # identical redacted lines (a key block's body) get their originals back in order
        self.lines: dict[str, deque[str]] = {}
        for redacted_line, original_line in self._pairs:
            self.lines.setdefault(redacted_line, deque()).append(original_line)

    def apply(self, text: str) -> str:
        if self.placeholder not in text:
            return text
        out = []
        for line in text.splitlines(True):
            body = line.rstrip("\r\n")
            if self.lines.get(body):
                out.append(self.lines[body].popleft() + line[len(body):])
            elif self.placeholder in line:
                out.append(self._in_order(line))
            else:
                out.append(line)
        return "".join(out)

    def _in_order(self, text: str) -> str:
        pieces = text.split(self.placeholder)
        out = [pieces[0]]
        for piece in pieces[1:]:
            if self._used < len(self.secrets):
                out.append(self.secrets[self._used])
                self._used += 1
            else:
                out.append(self.placeholder)
            out.append(piece)
        return "".join(out)


def _replaced_spans(original: str, redacted: str, placeholder: str) -> list[str]:
    """The original text each placeholder stands for, in order.

    The redacted text is the original with some spans swapped for the placeholder, so
    the literal pieces between placeholders occur in the original in the same order;
    what lies between them is what was replaced. (A character diff would mis-pair
    secrets that share letters with the placeholder.)
    """
    pieces = redacted.split(placeholder)
    if len(pieces) == 1 or not original.startswith(pieces[0]):
        return []
    spans: list[str] = []
    position = len(pieces[0])
    for index, piece in enumerate(pieces[1:], start=1):
        if index == len(pieces) - 1:
            end = len(original) - len(piece) if piece and original.endswith(piece) else (len(original) if not piece else -1)
        else:
            end = original.find(piece, position + 1) if piece else position
        if end < position:
            return spans  # cannot pair the rest: leave their placeholders alone
        spans.append(original[position:end])
        position = end + len(piece)
    return spans
