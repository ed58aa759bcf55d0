"""What may leave the machine: excluded files, and secrets redacted from what is sent.

Everything glm-lsp sends to GLM-5.1 comes from the user's open buffers and their
workspace. Two guards run before any text goes into a prompt:

* ``Privacy.excluded(path)`` refuses whole files: the ``context.exclude`` globs
  (``.env``, keys, credentials, ``.git/`` ...) and everything git ignores
  (the root ``.gitignore``, nested ``.gitignore`` files, ``.git/info/exclude``).
  Git-ignored files are build output, caches and, very often, local secrets.
* ``Privacy.redact(text)`` replaces secrets inside allowed text with ``[REDACTED]``:
  keys with well-known prefixes, private key blocks, JWTs, passwords in URLs,
  values of assignments whose name says "password"/"token"/..., high-entropy
  strings, and the user's own API key. Redaction keeps the code's shape (quotes,
  ``=``/``:``, indentation, the number of lines) so line numbers used for edits
  stay valid, and it is idempotent so text can be redacted twice safely.

Off-the-shelf secret scanners are tuned for whole files and long keys; a snippet
of a buffer holds short keys and partial blocks, so every pattern here is small,
explicit and unit-tested (tests/unit/test_privacy.py).
"""

from __future__ import annotations

import functools
import math
import os
import re
from collections import Counter, OrderedDict
from collections.abc import Iterable
from pathlib import Path

from pathspec import GitIgnoreSpec

REDACTED = "[REDACTED]"

__all__ = ["REDACTED", "Privacy"]


# --------------------------------------------------------------------------- exclusion


def _check(spec: GitIgnoreSpec, path: str) -> tuple[bool | None, int | None]:
    """(include, pattern index) of the last pattern matching ``path``; include None if none did."""
    check = getattr(spec, "check_file", None)
    if check is not None:
        result = check(path)
        return result.include, result.index
    # pathspec without check_file(): last matching pattern wins, as in git.
    include: bool | None = None
    index: int | None = None
    for i, pattern in enumerate(spec.patterns):
        if pattern.include is not None and pattern.match_file(path) is not None:
            include, index = pattern.include, i
    return include, index


class _IgnoreFile:
    """One parsed ignore file, re-read when its mtime or size changes."""

    __slots__ = ("stamp", "spec")

    def __init__(self, stamp: tuple[int, int], spec: GitIgnoreSpec) -> None:
        self.stamp = stamp
        self.spec = spec


class Privacy:
    def __init__(self, root: Path | None, exclude: list[str], secrets: Iterable[str] = ()) -> None:
        self.root = Path(os.path.abspath(root)) if root is not None else None
        # Resolved once: editors may report files through a symlinked path to the root.
        self._root_resolved = self.root.resolve() if self.root is not None else None
        globs = [g.strip() for g in exclude if g.strip() and not g.strip().startswith("#")]
        # Keep only globs that compile to a pattern, so a match index names its glob.
        self._globs = [g for g in globs if GitIgnoreSpec.from_lines([g]).patterns]
        self._exclude_spec = GitIgnoreSpec.from_lines(self._globs)
        self._cache: dict[Path, _IgnoreFile] = {}
        # Longest first, so a secret that contains another is replaced whole.
        # A "secret" inside REDACTED would make redaction loop and is meaningless anyway.
        self._secrets = sorted(
            {s for s in secrets if s and s.strip() and s not in REDACTED}, key=len, reverse=True
        )
        # Secrets that can span paragraphs: text holding one is redacted whole.
        self._multiline_secrets = [s for s in self._secrets if "\n" in s]
        # redact()'s paragraph memo: paragraph -> redacted paragraph, or None if unchanged.
        # Least recently used first; bounded by the characters held (keys and values).
        self._memo: OrderedDict[str, str | None] = OrderedDict()
        self._memo_chars = 0
        self._memo_limit = _MEMO_LIMIT
        self._memo_min_chars = _MEMO_MIN_CHARS
        self._line_memo: dict[tuple[str, bool], str] = {}  # lines around the cursor (_redact_lines)
        self._whole_runs = 0  # calls of _redact_whole(): how tests see the memo at work
        self._whole_chars = 0  # and the characters they were given

    # ---------------------------------------------------------------- excluded()

    def excluded(self, path: Path | str) -> str | None:
        """None if the file may be sent to the model, else a short reason."""
        p = Path(path)
        if not p.is_absolute():
            p = (self.root or Path.cwd()) / p
        p = Path(os.path.normpath(p))
        rel = self._relative(p)
        is_dir = p.is_dir()

        if rel is not None:
            candidates = [rel.as_posix() + ("/" if is_dir else "")]
        else:
            # Outside the workspace: the globs still protect ~/.ssh/id_rsa or /tmp/x/.env.
            candidates = [p.name, p.as_posix().lstrip("/")]
        for candidate in candidates:
            include, index = _check(self._exclude_spec, candidate)
            if include and index is not None:
                return f'matches context.exclude "{self._globs[index]}"'

        if rel is None or self.root is None:
            return None
        return self._git_ignored(rel, is_dir)

    def _relative(self, p: Path) -> Path | None:
        if self.root is None:
            return None
        try:
            rel = p.relative_to(self.root)
        except ValueError:
            try:
                rel = p.resolve().relative_to(self._root_resolved)
            except (ValueError, OSError):
                return None
        return rel if rel.parts else None

    def _git_ignored(self, rel: Path, is_dir: bool) -> str | None:
        assert self.root is not None
        parts = rel.parts
        # Sources by increasing priority, as git reads them: info/exclude, then
        # .gitignore files from the root down. Each is (depth of its folder, label, spec).
        sources: list[tuple[int, str, GitIgnoreSpec]] = []
        info = self._load(self.root / ".git" / "info" / "exclude")
        if info is not None:
            sources.append((0, ".git/info/exclude", info))
        # Only the folders between root and the file: cheap enough to call per snippet.
        for depth in range(len(parts)):
            folder = self.root.joinpath(*parts[:depth])
            spec = self._load(folder / ".gitignore")
            if spec is not None:
                label = "/".join((*parts[:depth], ".gitignore"))
                sources.append((depth, label, spec))
        if not sources:
            return None

        # Git cannot re-include a file whose parent folder is ignored, so test each
        # ancestor folder (as "dir/") before the file itself.
        for end in range(1, len(parts) + 1):
            target_is_dir = end < len(parts) or is_dir
            verdict: tuple[bool, str] | None = None
            for depth, label, spec in sources:
                if depth >= end:
                    continue
                sub = "/".join(parts[depth:end]) + ("/" if target_is_dir else "")
                include, _ = _check(spec, sub)
                if include is not None:  # later (deeper) sources override earlier ones
                    verdict = (include, label)
            if verdict is not None and verdict[0]:
                return f"ignored by {verdict[1]}"
        return None

    def _load(self, file: Path) -> GitIgnoreSpec | None:
        try:
            st = file.stat()
        except OSError:
            self._cache.pop(file, None)
            return None
        # Size too: some filesystems keep mtimes in whole seconds.
        stamp = (st.st_mtime_ns, st.st_size)
        cached = self._cache.get(file)
        if cached is not None and cached.stamp == stamp:
            return cached.spec
        try:
            lines = file.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            return None
        spec = GitIgnoreSpec.from_lines(lines)
        self._cache[file] = _IgnoreFile(stamp, spec)
        return spec

    # ---------------------------------------------------------------- redact()

    def redact(self, text: str, once: str = "") -> str:
        """Replace secrets with REDACTED, keeping quotes, operators and every line break.

        A paragraph holding ``once`` (a cursor marker) is not remembered: it will not come again.
        """
        # Completion requests redact the same code around the cursor and the same
        # snippets again and again, so paragraphs are redacted once and remembered.
        # That gives the same result as redacting the whole text when no rule sees
        # across a paragraph boundary. Every regex pass matches within one line and
        # _redact_assignments reads only its own line, except:
        # - key blocks: "Proc-Type:"/"DEK-Info:" headers are followed by a blank line
        #   inside the block, and the block state runs across lines -> whole text;
        # - a secret of the user's with a line break can cover a blank line -> whole text;
        # - define(\n\n'DB_PASSWORD', ...): the "(" before the arguments may end the
        #   previous paragraph -> _paragraphs() keeps such paragraphs together.
        # Passes never add or remove a line break, so the paragraphs stay put from one
        # pass to the next and each paragraph's fixpoint is the whole text's.
        if len(text) < self._memo_min_chars or self._needs_whole(text):
            return self._redact_whole(text)
        return "".join(self._redact_lines(p, once) if once and once in p else self.redact_piece(p)
                       for p in _paragraphs(text))

    def pieces(self, text: str) -> list[str] | None:
        """The paragraphs redact() works on one by one (their concatenation is the text),
        for a background task that pauses between them; None when the text must be
        redacted whole. Each piece goes through redact_piece()."""
        return None if self._needs_whole(text) else _paragraphs(text)

    @property
    def line_by_line(self) -> bool:
        """No secret of the user's holds a line break: outside key blocks and ('NAME', 'value')
        after "(", every rule reads one line (a line changed alone can be redacted alone)."""
        return not self._multiline_secrets

    def _needs_whole(self, text: str) -> bool:
        return "PRIVATE KEY" in text or any(secret in text for secret in self._multiline_secrets)

    def redact_piece(self, paragraph: str, remember: bool = True) -> str:
        """One paragraph of pieces(), redacted, through the memo (put in it if ``remember``)."""
        memo = self._memo
        if paragraph in memo:
            memo.move_to_end(paragraph)
            redacted = memo[paragraph]
            return paragraph if redacted is None else redacted
        redacted = self._redact_whole(paragraph)
        if not remember:
            return redacted
        value = None if redacted == paragraph else redacted  # most code has no secret
        cost = len(paragraph) + (len(value) if value is not None else 0)
        if cost <= self._memo_limit:
            memo[paragraph] = value
            self._memo_chars += cost
            while self._memo_chars > self._memo_limit:
                old, old_value = memo.popitem(last=False)
                self._memo_chars -= len(old) + (len(old_value) if old_value is not None else 0)
        return redacted

    def _redact_lines(self, paragraph: str, once: str) -> str:
        """The paragraph holding the cursor marker, its lines through a line memo.

        It changes with every keystroke, so it misses the paragraph memo; its other lines
        come again. Within a paragraph (no key block, no secret of the user's with a line
        break: those texts are redacted whole) every rule reads one line, but for the look
        back over whitespace for "(" before ('NAME', 'value'): a line is remembered with
        whether the text before it ends with "(". Lines the memo lacks are redacted
        together, one call per run of them (a run after "(" behind "(\\n"); passes keep every
        line break, so the result splits back into lines. Lines are cut at "\\n" only, where
        _redact_assignments ends a line. The marker's line is never remembered.
        """
        memo = self._line_memo
        out: list[str] = []
        run: list[tuple[str, bool]] = []  # lines the memo lacks, in a row: (line, after "(")

        def redact_run() -> None:
            text = "".join(line for line, _ in run)
            redacted = self._redact_whole("(\n" + text)[2:] if run[0][1] else self._redact_whole(text)
            parts = redacted.split("\n")
            parts = [part + "\n" for part in parts[:-1]] + ([] if text.endswith("\n") else [parts[-1]])
            if len(parts) != len(run):  # (cannot happen: passes keep every line break)
                raise AssertionError("redaction changed the number of lines")
            if len(memo) + len(run) > _LINE_MEMO_SIZE:
                memo.clear()
            for key, part in zip(run, parts):
                if once not in key[0]:
                    memo[key] = part
            out.extend(parts)
            run.clear()

        after_paren = False
        lines = paragraph.split("\n")
        for i, line in enumerate(lines):
            if i < len(lines) - 1:
                line += "\n"
            elif not line:
                break  # (the text ended with a line break)
            key = (line, after_paren)
            if once not in line and key in memo:
                if run:
                    redact_run()
                out.append(memo[key])
            else:
                run.append(key)
            stripped = line.rstrip()
            if stripped:
                after_paren = stripped.endswith("(")
        if run:
            redact_run()
        return "".join(out)

    def _redact_whole(self, text: str) -> str:
        """redact() on the text in one piece: the rules, repeated until nothing changes."""
        self._whole_runs += 1
        self._whole_chars += len(text)
        # Every pass only replaces text with REDACTED, but one pass can expose a match
        # to an earlier one; repeating until nothing changes makes redact() idempotent.
        # Text without secrets takes one pass, text with secrets usually two.
        for _ in range(5):
            redacted = self._redact_once(text)
            if redacted == text:
                break
            text = redacted
        return text

    def _redact_once(self, text: str) -> str:
        if not text:
            return text
        # The user's own key first, before other passes cut it into pieces.
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, "\n".join(REDACTED for _ in secret.split("\n")))
        text = _redact_key_blocks(text)
        for pattern, needs_random, literals in _PREFIX_KEYS:
            if literals is None or any(literal in text for literal in literals):
                text = pattern.sub(lambda m, r=needs_random: _replace_key(m, r), text)
        text = _AUTH_SCHEME.sub(_replace_auth_scheme, text)
        text = _SLACK_WEBHOOK.sub(lambda m: m.group(1) + REDACTED, text)
        text = _URL_PASSWORD.sub(_replace_url_password, text)
        text = _QUERY_SECRET.sub(_replace_query_secret, text)
        text = _CURL_USER.sub(_replace_curl_user, text)
        text = _XML_SECRET.sub(_replace_xml_secret, text)
        text = _redact_assignments(text)
        return text


# --------------------------------------------------------------------------- paragraphs

# Texts shorter than this are redacted in one piece: the memo would save little.
_MEMO_MIN_CHARS = 400
# Characters (paragraphs and their redactions) a Privacy's memo holds at most.
_MEMO_LIMIT = 8_000_000
_LINE_MEMO_SIZE = 4096  # lines of the paragraphs around the cursor remembered (then forgotten at once)
# Blank lines (empty or whitespace-only) and the line break before them.
# [^\S\n] is whitespace other than "\n", the same set str.isspace() accepts.
PARAGRAPH_BREAK = re.compile(r"\n(?:[^\S\n]*\n)+")


def _paragraphs(text: str) -> list[str]:
    """The text cut after each run of blank lines; "".join() of the pieces is the text."""
    pieces: list[str] = []
    start = 0
    for m in PARAGRAPH_BREAK.finditer(text):
        # _redact_assignments accepts ('NAME', 'value') only after "(", looking back
        # over any whitespace: a paragraph after "define(" and blank lines stays with it.
        line = text[text.rfind("\n", 0, m.start()) + 1 : m.start()]
        if line.rstrip().endswith("(") or m.end() == len(text):
            continue
        pieces.append(text[start : m.end()])
        start = m.end()
    pieces.append(text[start:])
    return pieces


# --------------------------------------------------------------------------- helpers


def _entropy(s: str) -> float:
    n = len(s)
    return -sum(c / n * math.log2(c / n) for c in Counter(s).values())


def _looks_random(body: str) -> bool:
    """A key body rather than an identifier: digits among letters, or chaotic case."""
    has_digit = any(c.isdigit() for c in body)
    has_alpha = any(c.isalpha() for c in body)
    if has_digit and has_alpha:
        return True
    letters = [c for c in body if c.isalpha()]
    switches = sum(1 for a, b in zip(letters, letters[1:]) if a.isupper() != b.isupper())
    # "TokenizerFast" switches case 3 times; a random 10-char key about 5.
    return switches >= max(4, len(letters) // 4)


_NULLISH = {"none", "null", "nil", "undefined", "true", "false", "~", "yes", "no", "on", "off"}

# A value that refers to a secret instead of holding one: ${VAR}, {{ var }}, %(x)s, <your-key>...
_PLACEHOLDER = re.compile(
    r"\$\{|\{\{|%\(\w+\)[sd]|%[sd]\b|\{(?:\d+|[A-Za-z_][\w.]*)?(?:![rsa])?(?::[^{}]*)?\}|^\$[A-Za-z_]\w*$|^<[^<>]*>$|^\{[\w.\[\]'\"]*\}$"
    r"|^\*+$|^x{3,}$|^X{3,}$|^\.{3}$|^…$"
)


# --------------------------------------------------------------------------- key blocks

_BLOCK_BEGIN = re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----")
_BLOCK_END = re.compile(r"-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----")
# One line of a block: indentation / quote / "\n" escapes around the base64 material.
_BODY_PIECE = re.compile(
    r"(?P<pre>[ \t]*(?:\\[nr])*[\"'`]?(?:\\[nr])*)(?P<mid>.*?)"
    r"(?P<post>(?:\\[nr])*[\"'`]?(?:\\[nr])*[ \t]*[,+;\\]?[ \t]*\r?)",
    re.S,
)
# Key material: base64 (and "\n" escapes when a whole key sits on one line, as in JSON).
_KEY_MATERIAL = re.compile(r"(?:[A-Za-z0-9+/=]|\\[nr])+|\[REDACTED\]")


def _redact_piece(piece: str) -> str | None:
    """The piece with its key material redacted, or None if it is not key material."""
    m = _BODY_PIECE.fullmatch(piece)
    if m is None or not m["mid"]:
        return None
    if not _KEY_MATERIAL.fullmatch(m["mid"]):
        return None
    return m["pre"] + REDACTED + m["post"]


def _redact_key_blocks(text: str) -> str:
    if "PRIVATE KEY" not in text:
        return text
    lines = text.split("\n")
    out = list(lines)
    begin_at: int | None = None
    for i, line in enumerate(lines):
        begins = list(_BLOCK_BEGIN.finditer(line))
        begin = begins[-1] if begins else None  # the key follows the last header
        end = _BLOCK_END.search(line, begin.end() if begin else 0) or _BLOCK_END.search(line)
        if begin is not None:
            # Whatever follows the header on its line (a one-line key in JSON).
            tail_end = end.start() if end is not None and end.start() > begin.end() else len(line)
            redacted = _redact_piece(line[begin.end() : tail_end])
            if redacted is not None:
                out[i] = line[: begin.end()] + redacted + line[tail_end:]
            begin_at = None if end is not None and end.start() > begin.end() else i
            continue
        if end is not None:
            if begin_at is None:
                # A snippet that starts inside a key: walk back over the material.
                j = i - 1
                while j >= 0 and (r := _redact_piece(lines[j])) is not None:
                    out[j] = r
                    j -= 1
            head = _redact_piece(line[: end.start()])
            if head is not None:
                out[i] = head + line[end.start() :]
            begin_at = None
            continue
        if begin_at is not None:
            redacted = _redact_piece(line)
            if redacted is not None:
                out[i] = redacted
            elif line.strip() and not re.match(r"\s*[\w-]+: ", line):
                # Code, not key material (and not a "Proc-Type:" header): the block
                # was cut or the header is only a constant; stop redacting.
                begin_at = None
    return "\n".join(out)


# --------------------------------------------------------------------------- known prefixes

_L = r"(?<![A-Za-z0-9_\-])"  # not inside a longer word

# (pattern, needs _looks_random on the whole match, literals): the flag guards prefixes
# that identifiers also use ("hf_hub_download", "sk-button-primary"). Every match holds
# one of the literals: a C substring test skips the pattern's scan (its lookbehind makes
# the regex slow at every position) on the code that has none, which is most code.
_PREFIX_KEYS: list[tuple[re.Pattern[str], bool, tuple[str, ...] | None]] = [
    # AWS access key ids.
    (re.compile(_L + r"(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}(?![A-Za-z0-9])"), False, ("AKIA", "ASIA", "ABIA", "ACCA")),
    # Anthropic, OpenAI (project keys first, then any sk-...).
    (re.compile(_L + r"sk-ant-[A-Za-z0-9_\-]{8,}"), False, ("sk-ant-",)),
    (re.compile(_L + r"sk-proj-[A-Za-z0-9_\-]{8,}"), False, ("sk-proj-",)),
    (re.compile(_L + r"sk-[A-Za-z0-9_\-]{8,}"), True, ("sk-",)),
    # GitHub.
    (re.compile(_L + r"github_pat_[A-Za-z0-9_]{8,}"), False, ("github_pat_",)),
    (re.compile(_L + r"gh[pousr]_[A-Za-z0-9]{8,}(?![A-Za-z0-9_])"), True, ("ghp_", "gho_", "ghu_", "ghs_", "ghr_")),
    # Slack bot/user/app tokens.
    (re.compile(_L + r"(?:xox[bpars]|xapp)-[A-Za-z0-9\-]{8,}"), False, ("xox", "xapp-")),
    # Stripe secret, restricted and live publishable keys.
    (re.compile(_L + r"(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{8,}(?![A-Za-z0-9_])"), True, ("_live_", "_test_")),
    (re.compile(_L + r"pk_live_[A-Za-z0-9]{8,}(?![A-Za-z0-9_])"), True, ("pk_live_",)),
    # Google API keys.
    (re.compile(_L + r"AIza[0-9A-Za-z_\-]{8,}"), False, ("AIza",)),
    # GitLab, npm, Hugging Face.
    (re.compile(_L + r"glpat-[A-Za-z0-9_\-]{8,}"), False, ("glpat-",)),
    (re.compile(_L + r"npm_[A-Za-z0-9]{8,}(?![A-Za-z0-9_])"), True, ("npm_",)),
    (re.compile(_L + r"hf_[A-Za-z0-9]{8,}(?![A-Za-z0-9_])"), True, ("hf_",)),
    # SendGrid: SG.<id>.<secret>; the second part optional for truncated keys.
    (re.compile(r"(?<![A-Za-z0-9_.\-])SG\.[A-Za-z0-9_\-]{8,}(?:\.[A-Za-z0-9_\-]{8,})?"), True, ("SG.",)),
    # Z.AI / Zhipu (the GLM provider): <32 hex id>.<secret>.
    (re.compile(_L + r"[0-9a-fA-F]{32}\.[A-Za-z0-9]{16,}(?![A-Za-z0-9])"), False, None),
    # JWTs: base64url of '{"' twice, then an optional signature.
    (re.compile(_L + r"eyJ[A-Za-z0-9_\-]{2,}\.ey[A-Za-z0-9_\-]{2,}\.[A-Za-z0-9_\-]*"), False, ("eyJ",)),
]


def _replace_key(m: re.Match[str], needs_random: bool) -> str:
    key = m.group(0)
    if needs_random:
        body = key.split("_", 1)[-1] if key[:3] not in ("sk-", "SG.") else key[3:]
        if not _looks_random(body) or ("-" in body and _is_wordy(body)):
            return key  # "hf_tokenizer", "sk-ssh-ed25519"
    return REDACTED


# "Authorization: Bearer <token>", "Basic <base64>", DRF's "Token <key>".
_AUTH_SCHEME = re.compile(r"(?<![A-Za-z0-9])(Bearer|Basic|Token)([ \t]+)([A-Za-z0-9._~+/=\-]{8,})")


def _replace_auth_scheme(m: re.Match[str]) -> str:
    credential = m.group(3)
    if not _looks_random(credential.replace(".", "")):
        return m.group(0)  # "Bearer authentication" in prose
    return m.group(1) + m.group(2) + REDACTED


_SLACK_WEBHOOK = re.compile(r"(https://hooks\.slack\.com/(?:services|workflows)/)[A-Za-z0-9/_\-]+")

# scheme://user:password@host (user may be empty: redis://:pw@host). "#" is allowed in
# the password: people paste unencoded ones, and the required "@" keeps fragments out.
_URL_PASSWORD = re.compile(
    r"(?P<head>\b[A-Za-z][A-Za-z0-9+.\-]*://[^\s:/?#@\"'`<>]*:)(?P<pw>[^\s/?@\"'`<>]+)(?P<at>@)"
)


def _replace_url_password(m: re.Match[str]) -> str:
    pw = m["pw"]
    # "user:password@host" in documentation is an example, not a password.
    if _PLACEHOLDER.search(pw) or REDACTED in pw or _is_label(pw) or pw.lower() in ("pw", "pass"):
        return m.group(0)
    return m["head"] + REDACTED + m["at"]


# ?token=...&api_key=... in URLs.
_QUERY_SECRET = re.compile(r"(?P<head>[?&;](?P<name>[A-Za-z0-9_.\-]+)=)(?P<val>[^&#;\s\"'`<>]+)")


def _replace_query_secret(m: re.Match[str]) -> str:
    name, val = m["name"], m["val"]
    if len(val) < 6 or _PLACEHOLDER.search(val) or REDACTED in val:
        return m.group(0)
    if _sensitive_name(name) and not _is_label(val):
        return m["head"] + REDACTED
    # ?key=... (Google), &sig=... (Azure SAS): only random-looking values, not "?key=STRINGS".
    if name.lower() in ("key", "sig", "signature", "code") and _looks_random(val) and not _is_wordy(val):
        return m["head"] + REDACTED
    return m.group(0)


# curl -u user:password / --user user:password.
_CURL_USER = re.compile(r"(?P<head>(?<!\S)(?:-u|--user)(?:[ \t]+|=)[\"']?[^\s:\"']+:)(?P<pw>[^\s\"']+)")


def _replace_curl_user(m: re.Match[str]) -> str:
    pw = m["pw"]
    if len(pw) < 3 or _PLACEHOLDER.search(pw) or REDACTED in pw or _is_label(pw):
        return m.group(0)
    return m["head"] + REDACTED


# <password>...</password> in XML configs (Maven settings.xml, .NET).
_XML_SECRET = re.compile(r"<(?P<tag>[\w:.\-]+)>(?P<val>[^<>\n]{6,})</(?P=tag)>")


def _replace_xml_secret(m: re.Match[str]) -> str:
    if not _sensitive_name(m["tag"]) or not _quoted_is_secret(m["val"]):
        return m.group(0)
    return f"<{m['tag']}>{REDACTED}</{m['tag']}>"


# --------------------------------------------------------------------------- assignments


@functools.lru_cache(maxsize=16384)  # code repeats its names; this runs per assignment
def _components(name: str) -> tuple[str, ...]:
    """Words of an identifier: "AWS_SECRET_ACCESS_KEY", "apiKey", "db.password", "X-Auth-Token"."""
    words: list[str] = []
    for part in re.split(r"[^A-Za-z0-9]+", name):
        words += re.findall(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+\d*|[A-Z]+\d*|\d+", part)
    return tuple(w.lower() for w in words)


# One word that names a secret; glued forms ("mypassword", "authtoken") included.
_SECRET_WORD = re.compile(
    r"pwd|secrets?|auth|authorization|credentials?|passphrase|bearer"
    r"|.*(?:password|passwd|apikey|accesskey|privatekey|secretkey|clientsecret)"
    r"|.*token|.*secret"
)
_SECRET_PAIRS = {
    ("api", "key"), ("access", "key"), ("private", "key"), ("secret", "key"),
    ("auth", "key"), ("signing", "key"), ("encryption", "key"), ("master", "key"),
}
# A last word that makes the value metadata (a URL, a path, a type, a limit...):
# high entropy there is not a key.
_METADATA_WORDS = {
    "type", "types", "kind", "name", "names", "label", "url", "uri", "urls", "endpoint",
    "host", "hostname", "port", "path", "paths", "file", "files", "filename", "dir",
    "directory", "env", "var", "field", "fields", "header", "param", "prefix", "suffix",
    "len", "length", "count", "size", "limit", "limits", "max", "min", "budget",
    "timeout", "ttl", "expiry", "expires", "expiration", "expire", "format", "pattern",
    "regex", "re", "description", "desc", "help", "hint", "placeholder", "message",
    "msg", "error", "errors", "required", "enabled", "enable", "disabled", "mode",
    "method", "methods", "provider", "class", "cls", "factory", "id", "ids", "index",
    "idx", "usage", "policy", "strategy", "scheme", "style", "location", "source",
    "handler", "callback", "schema", "validator", "input", "widget", "column", "attr",
    "version", "level", "flag", "option", "options", "service", "store", "storage",
    "manager", "cache", "estimator", "counter", "parser", "command", "cmd", "text",
    "arn", "info", "exception", "marker",
}
# Names whose values are hashes, ids or versions: high entropy but not secret.
_HASH_WORDS = {
    "sha", "sha1", "sha256", "sha512", "md5", "hash", "digest", "checksum", "commit",
    "rev", "revision", "ref", "etag", "integrity", "uuid", "guid", "id", "version",
    "signature",
}


# Words that may follow the secret word without changing what the value is:
# "password_prod", "client_secret_value", "token2".
_QUALIFIER_WORDS = {
    "value", "val", "str", "string", "raw", "plain", "plaintext", "b64", "base64",
    "hex", "bytes", "enc", "encrypted", "prod", "production", "dev", "development", "test",
    "testing", "staging", "stage", "local", "old", "new", "current", "backup", "default",
    "override", "fallback", "confirm", "confirmation", "again", "repeat", "ci", "here",
}


def _is_secret_word(word: str) -> bool:
    word = word.rstrip("0123456789")  # "password2"
    return word != "secretary" and _SECRET_WORD.fullmatch(word) is not None


@functools.lru_cache(maxsize=16384)
def _sensitive_name(name: str) -> bool:
    """Does the name say its value is a secret? The secret word must come last.

    "api_token", "DB_PASSWORD", "aws_secret_access_key", "password_prod" name secrets;
    "token_type", "TOKEN_COMMENT_BEGIN", "password_hash", "secret_arn" name things
    about one. In "db.password" or "Token.String.Symbol" the last segment counts.
    """
    words = _components(name.rsplit(".", 1)[-1])
    if "public" in words:
        return False  # publicKeyToken, public_key: published on purpose
    end = len(words)
    while end > 1 and (words[end - 1] in _QUALIFIER_WORDS or words[end - 1].isdigit()):
        end -= 1
    if not end:
        return False
    last = words[end - 1]
    if _is_secret_word(last):
        return True
    if end >= 2 and (words[end - 2], last) in _SECRET_PAIRS:
        return True
    # "DB_PASS", "smtp_pass" ("pass_through" is not a password, nor is a bare "pass").
    return last == "pass" and end >= 2


def _is_label(value: str) -> bool:
    """UI text naming the secret ("Password", "API key:") rather than holding it."""
    letters = re.sub(r"[^a-z]", "", value.lower())
    return bool(letters) and bool(_SECRET_WORD.fullmatch(letters)) and not re.search(r"\d", value)


def _quoted_is_secret(value: str) -> bool:
    v = value.strip()
    if len(v) < 6 or REDACTED in v or v.lower() in _NULLISH:
        return False
    if _PLACEHOLDER.search(v):
        return False
    if re.fullmatch(r"[A-Za-z][A-Za-z0-9+.\-]*://[^@\s]*", v):
        return False  # a URL without credentials (those are handled on their own)
    if re.fullmatch(r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+", v):
        return False  # the name of an environment variable
    if re.fullmatch(r"(?:~|\.{1,2})?/[\w./\-]*", v):
        return False  # a file path
    if re.fullmatch(r"[\d.]+\.\d+", v):
        return False  # a version, an OID, an IP address (a PIN has no dots)
    if re.fullmatch(r"[a-z_][a-z0-9_]*(?:\.[a-z_][a-z0-9_]*)+", v):
        return False  # a module path or a settings key: "openai.azure_auth_origin"
    if re.search(r"(?:^|\s)#[0-9a-fA-F]{3,8}$", v):
        return False  # a colour ("bold #6C5A05")
    if re.fullmatch(r"[*•xX./\- ]+", v):
        return False  # masked: "****/**/**"
    if re.fullmatch(r"[a-z]+(?:_[a-z]+)+", v):
        return False  # a field name: "next_marker"
    if re.fullmatch(r"[A-Za-z]+(?:[ _\-]?[A-Za-z]+)*", v):
        words = _components(v)
        if len(words) > 1 and any(
            _is_secret_word(w) or (a, w) in _SECRET_PAIRS for a, w in zip(("", *words), words)
        ):
            return False  # about the secret: "no-password-required", "serverAuth", "Token does not exist"
    if re.search(r"\\[wdsbWDSB]|\[\^?[^\]]*\]|\(\?[:=!<P]", v):
        return False  # a regular expression
    if " " in v and _is_prose(v):
        return False  # "Enter your password", "Not a token"
    return not _is_label(v)


_NUMBER = re.compile(r"[+\-]?(?:0[xXoObB][\da-fA-F_]+|[\d_]+(?:\.[\d_]*)?(?:[eE][+\-]?\d+)?)[jJlLuUfF]*")


def _unquoted_is_secret(value: str, style: str) -> bool:
    """An unquoted value; ``style`` is "env" (.env/shell), "yaml" (key: value line) or "code"."""
    v = value
    if len(v) < 6 or REDACTED in v or v.lower() in _NULLISH or _PLACEHOLDER.search(v):
        return False
    if _NUMBER.fullmatch(v) or re.fullmatch(r"(?:~|\.{1,2})?/[\w./\-]*", v):
        return False  # numbers, paths
    if re.fullmatch(r"[A-Za-z_][\w.]*[\[(].*[\])]?", v) and re.search(r"\w[\[(]", v):
        return False  # "Required[str]", "Optional[Token]", "params.get(" (a call)
    if v[0] in "$%{<([@:&*!|>":
        return False  # $(cmd), references, YAML anchors/tags/blocks, Rust paths, pointers
    if re.fullmatch(r"[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)+", v):
        return False  # settings.SECRET, process.env.TOKEN, self._token
    if re.fullmatch(r"[A-Za-z_$][\w$]*", v):
        # A bare word: a variable in code, a literal in config files.
        if style == "env":
            return True
        if style == "yaml":
            # Type annotations ("api_key: SecretStr") and constants read as code.
            return not re.fullmatch(r"[A-Z][a-z]+(?:[A-Z][a-z]+)*|[a-z]+|[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+", v)
        # "hunter22" in an INI line; not "s3_client" (a variable) or "PKCS7PrivateKey" (a type).
        camel_type = sum(c.isupper() for c in v) >= 2 and _is_wordy(v)
        return "_" not in v and not camel_type and bool(re.search(r"\d", v)) and bool(re.search(r"[A-Za-z]", v))
    if style == "code" and re.fullmatch(r"[\w$.]+(?:[\-+*/%|&^<>!?=]+[\w$.]+)+", v):
        return False  # operands joined by operators: an expression
    return True  # punctuation inside a bare value: a literal, not an expression


def _high_entropy(value: str, quoted: bool) -> bool:
    """A random-looking token (a key with no telling name), not a path, identifier or hash."""
    v = value
    if len(v) < 20:
        return False
    charset = r"[A-Za-z0-9+/_\-.~]+=*" if quoted else r"[A-Za-z0-9+/_\-]+=*"
    if not re.fullmatch(charset, v) or v[0] == "-" or re.match(r"v?\d+\.\d+", v):
        return False  # "=" only as base64 padding; not "-march=...", not "1.8.0a1.dev-f1234afa"
    if re.fullmatch(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}", v):
        return False  # UUID
    classes = sum((any(c.islower() for c in v), any(c.isupper() for c in v), any(c.isdigit() for c in v)))
    if classes < 2:
        return False
    if _is_wordy(v):
        return False
    # Alphabet constants ("ABCDEF...abc...0123...").
    steps = sum(1 for a, b in zip(v, v[1:]) if ord(b) - ord(a) == 1)
    if steps > len(v) / 2:
        return False
    is_hex = re.fullmatch(r"[0-9a-fA-F]+", v) is not None
    if is_hex and len(v) in (40, 56, 64, 96, 128):
        return False  # SHA-1/224/256/384/512 digests: checksums, commits, test vectors
    return _entropy(v) >= (3.0 if is_hex else 3.5)


def _class(c: str) -> str:
    return "d" if c.isdigit() else "u" if c.isupper() else "l"


_TOKEN = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")


def _is_wordy(value: str) -> bool:
    """Words joined by separators or camelCase (module paths, identifiers, slugs), not noise.

    Counts how often the character class changes (a capital starting a word does not
    count): about 0.1 in "NoInfoWrapValidatorFunction", 0.4-0.7 in random base64 or
    hex. CamelCase with digits ("AllowAccessEC2Resource") switches more but is made of
    long words; random base64 averages under 2 characters a word.
    """
    switches = pairs = 0
    for part in re.split(r"[^A-Za-z0-9]+", value):
        for a, b in zip(part, part[1:]):
            pairs += 1
            ca, cb = _class(a), _class(b)
            switches += ca != cb and not (ca == "u" and cb == "l")
    rate = switches / max(1, pairs)
    if rate < 0.2:
        return True
    if rate >= 0.35 or not (any(c.isupper() for c in value) and any(c.islower() for c in value)):
        return False
    words = _TOKEN.findall(value)
    return sum(map(len, words)) / max(1, len(words)) >= 3.0


# name, optionally quoted ("key": / ['key'] =), then an operator. "--flag value" only with dashes.
_ASSIGN = re.compile(
    r"""
    (?<![\w$@.])
    (?P<dash>--?)?
    (?P<q>["'`]?)(?P<name>[A-Za-z_$@][\w$@.\-]*)(?P=q)
    (?P<op>
        \]?[ \t]*(?:===?|!==?|:=|=>|\?=|\+=|=(?!=)|:(?!:))[ \t]*
      | (?(dash)[ \t]+|(?!))
      | (?(q)[ \t]*,[ \t]*(?=[rRbBuUfF]{0,2}["'`])|(?!))
    )
    """,
    re.X,
)
_QUOTED = re.compile(r"""(?P<prefix>[rRbBuUfF]{0,2})(?P<q>["'`])(?P<val>(?:\\[^\n]|(?!(?P=q))[^\\\n])*)(?P=q)""")
_BARE = re.compile(r"""[^\s,;'"`()\[\]{}]+""")
_REST_OF_LINE = re.compile(r"[ \t]*[,;]?[ \t]*(?:(?:#|//).*)?\r?")
# What may follow a value in .env and YAML files: nothing, or a comment.
_LINE_END = re.compile(r"(?:[ \t]+#.*)?[ \t]*\r?")
_ENV_LEAD = re.compile(r"[ \t]*(?:- |export[ \t]+)?")
_YAML_LEAD = re.compile(r"[ \t]*(?:- )?")


_STOPWORDS = {
    "the", "a", "an", "to", "for", "of", "with", "is", "are", "be", "used", "use", "your",
    "this", "that", "and", "or", "in", "on", "by", "if", "from", "as", "it", "not", "see",
}


def _is_prose(value: str) -> bool:
    """A sentence (docstrings: "password: The password part of the URL.")."""
    words = value.split()
    return value.rstrip().endswith(".") or any(w.lower().strip("`'\",.") in _STOPWORDS for w in words)


def _bare_value(
    text: str, m: re.Match[str], start: int, line_start: int, line_end: int
) -> tuple[str, tuple[int, int], str, bool] | None:
    """An unquoted value: (value, span, style, rest_of_line), or None if it is an expression.

    The style says how to read a bare word: "env" (``NAME=value`` alone on its line, as
    in .env files and shell), "yaml" (``key: value`` alone on its line) or "code",
    where a bare word is a variable and only odd literals (``--password=s3cr3t!``) count.
    """
    before = text[line_start : m.start()]
    plain_key = not m["q"] and m["dash"] is None
    name_is_upper = re.fullmatch(r"[A-Z][A-Z0-9_.]*", m["name"]) is not None
    if plain_key and (m["op"] == "=" or re.fullmatch(r":[ \t]+", m["op"])):
        token = re.compile(r"\S+").match(text, start, line_end)
        if token is not None and _LINE_END.fullmatch(text, token.end(), line_end):
            value = token.group(0)
            # A trailing comma is a keyword argument or an object literal, not a file.
            if not value.endswith((",", ";")):
                # Indented lowercase "name=value" lines are keyword arguments.
                indented_lowercase = before != "" and not before.strip() and not name_is_upper
                if m["op"] == "=" and _ENV_LEAD.fullmatch(before) and not indented_lowercase:
                    return value, token.span(), "env", True
                if m["op"].strip() == ":" and _YAML_LEAD.fullmatch(before):
                    return value, token.span(), "yaml", True
        if m["op"].strip() == ":" and _YAML_LEAD.fullmatch(before):
            # A plain YAML scalar with spaces ("correct horse battery staple"); with
            # "=", "|", brackets or commas it is a Python annotation or JS object.
            plain = re.compile(r"[^\s#=|()\[\]{}<>,;'\"`][^#=|()\[\]{}<>,;\n]*?(?=[ \t]+#|[ \t]*\r?$)")
            scalar = plain.match(text, start, line_end)
            if scalar is not None and " " in scalar.group(0) and not _is_prose(scalar.group(0)):
                return scalar.group(0), scalar.span(), "yaml", True
    b = _BARE.match(text, start, line_end)
    if b is None:
        return None
    value, span = b.group(0), b.span()
    if value.endswith(":") and len(value) > 1:
        # "if password == confirm:" - the colon belongs to the statement.
        value, span = value[:-1], (span[0], span[1] - 1)
    after = text[span[1] : line_end]
    if after and after[0] not in " \t,;)]}\r":
        return None  # followed by "(", "." or "[": an expression
    # "...;Password=x;Encrypt=true": a connection string, a literal even mid-line.
    in_connection_string = m["op"] == "=" and after.startswith(";") and ";" in before
    return value, span, "code", in_connection_string or _REST_OF_LINE.fullmatch(after) is not None


_HASH_NAME = re.compile(r"sha\d*|md5|blake\w*|crc\d*|.*(?:hash|digest|checksum|signature|integrity|etag|uuid|guid)")


def _names_a_hash(words: list[str]) -> bool:
    return any(w in _HASH_WORDS or _HASH_NAME.fullmatch(w) for w in words)


def _redact_assignments(text: str) -> str:
    out: list[str] = []
    last = 0
    for m in _ASSIGN.finditer(text):
        start = m.end()
        if start < last:
            continue
        name, op = m["name"], m["op"].strip()
        if op == "," and not (
            m["q"] and re.fullmatch(r"[A-Z][A-Z0-9_]*", name) and text[: m.start()].rstrip().endswith("(")
        ):
            continue  # only define('DB_PASSWORD', '...') / setdefault("API_KEY", "..."), not tuples
        if text.startswith(("//", "/*"), start) and op == ":":
            continue  # "https://..." is not an assignment
        if text.startswith(REDACTED, start):
            continue  # already redacted (redact() is idempotent)
        line_start = text.rfind("\n", 0, m.start()) + 1
        line_end = text.find("\n", start)
        line_end = len(text) if line_end < 0 else line_end
        sensitive = _sensitive_name(name)
        # A random token under any name, unless the name says hash, id or path.
        words = _components(name.rsplit(".", 1)[-1])
        entropy_applies = not sensitive and not (
            _names_a_hash(words) or (words and words[-1] in _METADATA_WORDS)
        )

        q = _QUOTED.match(text, start, line_end)
        if q is not None and not text.startswith(q["q"] * 3, start + len(q["prefix"])):
            value, span = q["val"], (q.start("val"), q.end("val"))
            if "f" in q["prefix"].lower() and "{" in value:
                secret = False  # an f-string: the secret is in a variable
            elif sensitive:
                secret = _quoted_is_secret(value)
                if op in ("==", "===", "!=", "!==", ",", "+=") and re.fullmatch(r"\W?[A-Za-z_ ]+\W?", value):
                    # "if token == 'lambda'": a tokenizer; ("AUTH", "SELECTED"): a table.
                    secret = False
            else:
                # ("name", "value") pairs are too often test vectors and tables.
                secret = entropy_applies and op != "," and _high_entropy(value, True)
        else:
            found = _bare_value(text, m, start, line_start, line_end)
            if found is None:
                continue
            value, span, style, rest_of_line = found
            if sensitive:
                if m["dash"] is not None and not op and value.startswith("-"):
                    continue  # "--current-token --cut-at-cursor": the next flag
                secret = _unquoted_is_secret(value, style) and (
                    style != "code" or rest_of_line or m["dash"] is not None
                )
            else:
                secret = style != "code" and entropy_applies and _high_entropy(value, False)
        if secret:
            out.append(text[last : span[0]])
            out.append(REDACTED)
            last = span[1]
    out.append(text[last:])
    return "".join(out)
