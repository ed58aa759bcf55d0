"""The canary suite: secrets planted everywhere must never leave by any way glm-lsp has.

Real parts only: the glm-lsp process over stdio (pytest-lsp, with the simulated
VS Code of ``tests/lsp/editor.py``), the CLI as a subprocess, and the fake GLM
provider on 127.0.0.1, which records every request.

**Planted** (fresh random values every run, in realistic formats — AWS ``AKIA…``,
``sk-proj-…``, ``ghp_…``, ``xoxb-…``, ``sk_live_…``, ``AIza…``, a JWT, a PEM private
key block, a password assignment, a Z.AI ``<32 hex>.<16 alnum>`` key):

* open buffers the model may see (the target ``main.py``, the imported ``config.py``,
  text pasted into ``config.py`` while working);
* excluded files, open in the editor and on disk: ``.env``, ``deploy.pem``, a file
  ignored by the root ``.gitignore``, one ignored by a nested ``.gitignore``, one
  matching the ``*secret*`` glob, and text pasted into the open ``.env``;
* a diagnostic of another tool that quotes a literal (Pyright: ``Type
  "Literal['sk_live_…']" is not assignable…``), passed to ``glm.fix`` as editors do;
* settings: the provider key in ``ZAI_API_KEY``, in ``initializationOptions.apiKey``
  (with a different, unused ``ZAI_API_KEY`` beside it), in ``OPENAI_API_KEY`` for the
  ``openai`` provider; unrelated secrets in the environment;
* provider error bodies that echo the request: the key and a buffer secret in a 401
  message, the key deep inside a long 400 "request dump", the key in an in-band
  stream error, the key in a non-JSON stream line;
* files given to ``glm-lsp ask --file`` (allowed, and excluded).

**Run**: every feature (explain, fix, "Fix again", rewrite, docstring, tests, inline
completion, completion items, showPrompt, usage; commands on the excluded files;
the error echoes) in five server runs — the default log level, ``-v``, ``-vv``,
``-vvv`` and an ``openai``-provider run — each with ``--log-file`` and its stderr
captured; then ``glm-lsp ask`` (allowed file, excluded file, error echoes, ``-v``
with ``--log-file``) and ``glm-lsp doctor``.

**Scanned**: every request the fake received (path, body, every header; the key may
appear only as ``Authorization: Bearer <the provider key>``), every log line of every
level, the server's stderr, everything shown to the user (``showMessage``,
``logMessage``, ``showMessageRequest``, progress), every command result, the files
the server wrote (explanations, usage book), and the CLI's stdout, stderr and log
file. A leak is one record (one request, log line, message…) holding a canary whole
or any 16-character piece of its random part (so truncated keys count too).

**Log levels — the decision.** DESIGN.md says "apiKey … never logged", and the
contract for this suite is: *at the default level logs never contain the API key,
prompt text or file contents; the API key never appears at any level*. So logs at the
default level and at ``-v`` (INFO: still an everyday level, what a user pastes into a
bug report) must hold no canary at all. At ``-vv`` (DEBUG; pygls warnings join) and
``-vvv`` (pygls' raw protocol traffic) the user asked for debugging output that by
nature holds file contents, so buffer and file canaries are allowed there — but the
API keys (every provider key, the unused one) and the unrelated environment secrets
still count as leaks at every level.

The table of leaks (place planted × where scanned) is printed by the first test;
each later test asserts zero for one slice, and the slices that expose a server bug
are marked ``xfail(strict=True)`` with the bug in the reason (B1…B11 below).
``PROOF_SEED=<n>`` replays a run's canaries; ``PROOF_SECRETS_DETAILS=1`` prints every
leak with the text around it.
"""

from __future__ import annotations

import asyncio
import base64
import collections
import json
import os
import random
import re
import string
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from lsprotocol import types
from pytest_lsp import ClientServerConfig

from tests.clients import PRESETS, capabilities
from tests.fake_glm import ErrorFrame, Raw, Reply, reply_error, reply_text
from tests.lsp.conftest import execute, rng
from tests.lsp.editor import Editor

WINDOW = 16  # a leaked piece of a canary's random part this long counts
ALNUM = string.ascii_letters + string.digits
B64 = ALNUM + "+/"


# --------------------------------------------------------------------------- canaries


@dataclass
class Canary:
    place: str
    kind: str
    value: str
    cores: list[str]  # the random parts; any WINDOW-long piece of one is a leak

    def found_in(self, text: str) -> bool:
        if self.value in text:
            return True
        for core in self.cores:
            if len(core) <= WINDOW:
                if core in text:
                    return True
                continue
            for i in range(len(core) - WINDOW + 1):
                if core[i:i + WINDOW] in text:
                    return True
        return False


def _random(rand: random.Random, alphabet: str, n: int) -> str:
    while True:
        text = "".join(rand.choice(alphabet) for _ in range(n))
        classes = [any(c.isdigit() for c in text), any(c.isupper() for c in text), any(c.islower() for c in text)]
        wanted = [c for c in (string.digits, string.ascii_uppercase, string.ascii_lowercase) if set(c) & set(alphabet)]
        if sum(classes) >= len(wanted):
            return text


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def make_canary(rand: random.Random, place: str, kind: str, lower: bool = False) -> Canary:
    """``lower``: a body of lowercase letters and digits only (see ``P_FIXED``)."""
    if lower:
        body = _random(rand, string.ascii_lowercase + string.digits, 36)
        prefix = {"github": "ghp_", "stripe": "sk_live_"}[kind]
        return Canary(place, kind, prefix + body, [body])
    if kind == "aws":
        body = _random(rand, string.ascii_uppercase + string.digits, 16)
        return Canary(place, kind, "AKIA" + body, ["AKIA" + body])
    if kind == "openai":
        body = _random(rand, ALNUM, 40)
        return Canary(place, kind, "sk-proj-" + body, [body])
    if kind == "github":
        body = _random(rand, ALNUM, 36)
        return Canary(place, kind, "ghp_" + body, [body])
    if kind == "slack":
        a, b, c = _random(rand, string.digits, 11), _random(rand, string.digits, 13), _random(rand, ALNUM, 24)
        return Canary(place, kind, f"xoxb-{a}-{b}-{c}", [f"{a}-{b}-{c}"])
    if kind == "stripe":
        body = _random(rand, ALNUM, 24)
        return Canary(place, kind, "sk_live_" + body, [body])
    if kind == "google":
        body = _random(rand, ALNUM, 35)
        return Canary(place, kind, "AIza" + body, [body])
    if kind == "jwt":
        payload = _b64url(json.dumps({"sub": _random(rand, ALNUM, 24), "admin": True}).encode())
        signature = _b64url(bytes(rand.randrange(256) for _ in range(32)))
        return Canary(place, kind, f"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.{payload}.{signature}", [signature])
    if kind == "pem":
        lines = [_random(rand, B64, 64) for _ in range(5)] + [_random(rand, B64, 24) + "=="]
        block = "-----BEGIN RSA PRIVATE KEY-----\n" + "\n".join(lines) + "\n-----END RSA PRIVATE KEY-----"
        return Canary(place, kind, block, lines)
    if kind == "password":
        body = _random(rand, ALNUM + "!#@^-_", 22)
        return Canary(place, kind, body, [body])
    if kind == "zai":
        value = "".join(rand.choice("0123456789abcdef") for _ in range(32)) + "." + _random(rand, ALNUM, 16)
        return Canary(place, kind, value, [value])
    raise ValueError(kind)


KINDS = ("aws", "openai", "github", "slack", "stripe", "google", "jwt", "pem", "password", "zai")

# Rows of the table: where a canary was planted.
P_MAIN = "buffer main.py (target)"
P_CONFIG = "buffer config.py (imported)"
P_TYPED = "pasted into config.py"
P_ENV = ".env (open, excluded)"
P_PEM = "deploy.pem (open, excluded)"
P_BUILD = "build/out.py (.gitignore)"
P_NESTED = "sub/local_conf.py (nested .gitignore)"
P_GLOB = "my_secrets.py (*secret* glob)"
P_TYPED_ENV = "pasted into .env"
P_DIAG = "diagnostic quoting a literal"
P_FIXED = "buffer main.py, fixed twice"
P_ECHO = "buffer secret echoed by errors"
P_CLI_OK = "ask --file tools/deploy.py"
P_CLI_EXCL = "ask --file .env.local"
K_ENV = "key: ZAI_API_KEY"
K_INIT = "key: initializationOptions.apiKey"
K_UNUSED = "key: ZAI_API_KEY overridden"
K_OPENAI = "key: OPENAI_API_KEY (openai)"
K_ENVIRON = "environment secrets"
KEY_ROWS = (K_ENV, K_INIT, K_UNUSED, K_OPENAI, K_ENVIRON)  # count at every log level
ROWS = (P_MAIN, P_CONFIG, P_TYPED, P_ENV, P_PEM, P_BUILD, P_NESTED, P_GLOB, P_TYPED_ENV, P_DIAG, P_FIXED, P_ECHO,
        P_CLI_OK, P_CLI_EXCL, *KEY_ROWS)


class Canaries:
    def __init__(self, rand: random.Random) -> None:
        self.by_place: dict[str, dict[str, Canary]] = {}
        for place in (P_MAIN, P_CONFIG, P_ENV, P_PEM, P_BUILD, P_NESTED, P_GLOB, P_CLI_OK, P_CLI_EXCL):
            self.by_place[place] = {k: make_canary(rand, place, k) for k in KINDS}
        self.by_place[P_TYPED] = {k: make_canary(rand, P_TYPED, k) for k in ("github", "zai", "password")}
        self.by_place[P_TYPED_ENV] = {k: make_canary(rand, P_TYPED_ENV, k) for k in ("stripe", "aws")}
        # The two lines "Fix again" is tried on. Lowercase bodies: the unredaction of glm-lsp
        # (context/builder.py Unredactor) only works on secrets without the capitals of
        # "[REDACTED]", and these must reach the buffer again for "Fix again" to be tested.
        self.by_place[P_DIAG] = {"stripe": make_canary(rand, P_DIAG, "stripe", lower=True)}
        self.by_place[P_FIXED] = {"github": make_canary(rand, P_FIXED, "github", lower=True)}
        self.by_place[P_ECHO] = {"github": make_canary(rand, P_ECHO, "github")}
        for place in (K_ENV, K_INIT, K_UNUSED, K_OPENAI):
            self.by_place[place] = {"zai": make_canary(rand, place, "zai")}
        self.by_place[K_ENVIRON] = {k: make_canary(rand, K_ENVIRON, k) for k in ("aws", "github", "slack", "password")}

    def __getitem__(self, place: str) -> dict[str, str]:
        return {k: c.value for k, c in self.by_place[place].items()}

    def all(self) -> list[Canary]:
        return [c for place in self.by_place.values() for c in place.values()]


# --------------------------------------------------------------------------- the workspace


def python_secrets(c: dict[str, str], prefix: str = "") -> str:
    return (
        f'{prefix}AWS_ACCESS_KEY_ID = "{c["aws"]}"\n'
        f'{prefix}OPENAI_API_KEY = "{c["openai"]}"\n'
        f'{prefix}GITHUB_TOKEN = "{c["github"]}"\n'
        f'{prefix}SLACK_BOT_TOKEN = "{c["slack"]}"\n'
        f'{prefix}STRIPE_SECRET_KEY = "{c["stripe"]}"\n'
        f'{prefix}GOOGLE_MAPS_KEY = "{c["google"]}"\n'
        f'{prefix}session_jwt = "{c["jwt"]}"\n'
        f'{prefix}PRIVATE_KEY = """{c["pem"]}"""\n'
        f'{prefix}db_password = "{c["password"]}"\n'
        f'{prefix}ZHIPU_KEY = "{c["zai"]}"\n'
    )


def env_secrets(c: dict[str, str]) -> str:
    pem = c["pem"].replace("\n", "\\n")
    return (
        f"AWS_ACCESS_KEY_ID={c['aws']}\nOPENAI_API_KEY={c['openai']}\nGITHUB_TOKEN={c['github']}\n"
        f"SLACK_BOT_TOKEN={c['slack']}\nSTRIPE_SECRET_KEY={c['stripe']}\nGOOGLE_MAPS_KEY={c['google']}\n"
        f"SESSION_JWT={c['jwt']}\nPRIVATE_KEY=\"{pem}\"\nDB_PASSWORD={c['password']}\nZHIPU_KEY={c['zai']}\n"
    )


def main_py(canaries: Canaries, provider_key: str) -> str:
    return (
        '"""Payment service: charges cards and reports to the team."""\n'
        "import config\n"
        "from config import charge_fee\n"
        "\n"
        + python_secrets(canaries[P_MAIN])
        + f'PROVIDER_KEY = "{provider_key}"\n'
        f'WEBHOOK_TOKEN = "{canaries[P_ECHO]["github"]}"\n'
        f'REQUEST_TIMEOUT: int = "{canaries[P_DIAG]["stripe"]}"\n'
        f'RETRY_TOKEN = "{canaries[P_FIXED]["github"]}"\n'
        "\n"
        "\n"
        "def charge(amount):\n"
        "    fee = charge_fee(amount)\n"
        "    return amount + fee\n"
    )


def line_of(text: str, prefix: str) -> int:
    return next(i for i, line in enumerate(text.split("\n")) if line.startswith(prefix))


def config_py(canaries: Canaries) -> str:
    return (
        '"""Settings of the payment service."""\n'
        "\n"
        + python_secrets(canaries[P_CONFIG])
        + "\n\n"
        "def charge_fee(amount):\n"
        "    return amount * 0.03\n"
    )


@dataclass
class Workspace:
    root: Path
    files: dict[str, str]  # relative path -> text (all on disk)
    open: dict[str, str]  # relative path -> language id (open in the editor)

    def uri(self, name: str) -> str:
        return (self.root / name).as_uri()


def make_workspace(root: Path, canaries: Canaries, provider_key: str) -> Workspace:
    files = {
        "main.py": main_py(canaries, provider_key),
        "config.py": config_py(canaries),
        ".env": env_secrets(canaries[P_ENV]),
        "deploy.pem": canaries[P_PEM]["pem"] + "\n# " + " ".join(v for k, v in canaries[P_PEM].items() if k != "pem") + "\n",
        "build/out.py": python_secrets(canaries[P_BUILD]),
        "sub/local_conf.py": python_secrets(canaries[P_NESTED]),
        "my_secrets.py": python_secrets(canaries[P_GLOB]),
        "tools/deploy.py": '"""Deploy helper."""\n' + python_secrets(canaries[P_CLI_OK]) + "\n\ndef deploy():\n    pass\n",
        ".env.local": env_secrets(canaries[P_CLI_EXCL]),
        ".gitignore": "build/\n",
        "sub/.gitignore": "local_*.py\n",
    }
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    opened = {"config.py": "python", ".env": "dotenv", "deploy.pem": "plaintext", "build/out.py": "python",
              "sub/local_conf.py": "python", "my_secrets.py": "python", "main.py": "python"}
    return Workspace(root, files, opened)


# --------------------------------------------------------------------------- the fake model


class EchoModel:
    """Stands in for the fake's reply queue: answers like a model that saw the request.

    Forced replies (errors) go first; otherwise a fix/rewrite/docstring answer echoes
    the target it was sent (placeholders included, as a model does) plus one line, a
    test request gets a test, a completion a short suggestion, anything else prose.
    The fake records a request and takes its reply under one lock, so
    ``requests[-1]`` is the request being answered.
    """

    def __init__(self, fake) -> None:
        self.fake = fake
        self.forced: collections.deque[Reply] = collections.deque()

    def extend(self, replies) -> None:
        self.forced.extend(replies)

    def clear(self) -> None:
        self.forced.clear()

    def __len__(self) -> int:
        return len(self.forced)

    def __bool__(self) -> bool:
        return True

    def popleft(self) -> Reply:
        if self.forced:
            return self.forced.popleft()
        body = self.fake.requests[-1].body
        try:
            system, user = body["messages"][0]["content"], body["messages"][-1]["content"]
        except (TypeError, KeyError, IndexError):
            return reply_text("ok")
        if "single word: pong" in user:
            return reply_text("pong")
        if "code completion engine" in system:
            return reply_text("  # noqa", chunk_size=3)
        if "writing unit tests" in system:
            return reply_text("```python\ndef test_charge():\n    assert True\n```\n")
        target = re.search(r"Target, lines \d+-\d+:\n(`{3,4})\w*\n(.*?)\n\1", user, re.S)
        if target:
            code = target.group(2) + "\n# reviewed by GLM\n"
            return reply_text(f"Here it is:\n\n```python\n{code}```\n", chunk_size=40)
        return reply_text("This code configures the payment client; the [REDACTED] values are hidden from me.")


# --------------------------------------------------------------------------- runs


@dataclass
class Record:
    sink: str  # a column of the table
    label: str  # where exactly (for the details)
    text: str
    run: str = ""


@dataclass
class RunConfig:
    name: str
    verbosity: list[str]
    key_place: str  # which K_* row is the provider key
    init_key: bool = False
    unused_env_key: bool = False
    provider: str = "zai"


RUNS = [
    RunConfig("default", [], K_ENV),
    RunConfig("-v", ["-v"], K_ENV),
    RunConfig("-vv", ["-vv"], K_INIT, init_key=True, unused_env_key=True),
    RunConfig("-vvv", ["-vvv"], K_INIT, init_key=True, unused_env_key=True),
    RunConfig("openai", [], K_OPENAI, provider="openai"),
]


def base_env(xdg: Path) -> dict[str, str]:
    env = {n: v for n, v in os.environ.items()
           if not n.startswith("GLM_LSP_") and not n.endswith("_API_KEY") and n != "GLM_API_KEY"}
    for sub in ("config", "cache", "data"):
        (xdg / sub).mkdir(parents=True, exist_ok=True)
    env.update(XDG_CONFIG_HOME=str(xdg / "config"), XDG_CACHE_HOME=str(xdg / "cache"), XDG_DATA_HOME=str(xdg / "data"))
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    return env


def environment_secrets(canaries: Canaries) -> dict[str, str]:
    c = canaries[K_ENVIRON]
    return {
        "AWS_ACCESS_KEY_ID": c["aws"],
        "GITHUB_TOKEN": c["github"],
        "SLACK_BOT_TOKEN": c["slack"],
        "DATABASE_URL": f"postgres://app:{c['password']}@db.internal:5432/app",
    }


class Scenario:
    def __init__(self, fake, base: Path, canaries: Canaries) -> None:
        self.fake, self.base, self.canaries = fake, base, canaries
        self.records: list[Record] = []
        self.request_feature: list[tuple[str, str, str]] = []  # per fake request: (run, feature, provider key)
        self.notes: list[str] = []
        #: after each AI edit over the planted secrets: (run, command, secrets gone from the buffer, "[REDACTED]" in it)
        self.buffer_checks: list[tuple[str, str, int, bool]] = []

    # -- bookkeeping ----------------------------------------------------------------------
    def feature(self, run: str, name: str, key: str):
        scenario = self

        class _Mark:
            def __enter__(self_inner):
                self_inner.start = len(scenario.fake.requests)

            def __exit__(self_inner, *exc):
                for _ in range(self_inner.start, len(scenario.fake.requests)):
                    scenario.request_feature.append((run, name, key))
                return False

        return _Mark()

    def record(self, sink: str, label: str, text: str, run: str = "") -> None:
        self.records.append(Record(sink, label, text, run))

    # -- one server run ------------------------------------------------------------------
    async def server_run(self, cfg: RunConfig) -> None:
        c = self.canaries
        key = c[cfg.key_place]["zai"]
        root = self.base / cfg.name / "project"
        root.mkdir(parents=True)
        ws = make_workspace(root, c, key)
        xdg = self.base / cfg.name / "xdg"
        env = base_env(xdg) | environment_secrets(c)
        if cfg.provider == "openai":
            env["OPENAI_API_KEY"] = key
        elif not cfg.init_key:
            env["ZAI_API_KEY"] = key
        if cfg.unused_env_key:
            env["ZAI_API_KEY"] = c[K_UNUSED]["zai"]
        log_file = self.base / cfg.name / "server.log"
        stderr_file = self.base / cfg.name / "server.stderr"
        env["PROOF_STDERR"] = str(stderr_file)
        command = ["sh", "-c", 'exec "$@" 2>>"$PROOF_STDERR"', "sh", sys.executable, "-m", "glm_lsp", "serve",
                   "--log-file", str(log_file), *cfg.verbosity]
        options: dict = {"maxRetries": 0, "completion": {"items": "always", "debounceMs": 0}}
        if cfg.provider == "openai":
            options |= {"provider": "openai", "baseUrl": self.fake.url + "/v1"}
        else:
            options["baseUrl"] = self.fake.url + "/api/paas/v4"
        if cfg.init_key:
            options["apiKey"] = key
        client = await ClientServerConfig(server_command=command, server_env=env).start()
        editor = Editor(client, encoding="utf-16", behaviour="vscode")
        results: list[tuple[str, object]] = []
        try:
            await client.initialize_session(types.InitializeParams(
                capabilities=capabilities("vscode"), client_info=PRESETS["vscode"].client_info(),
                initialization_options=options, root_uri=root.as_uri(),
                workspace_folders=[types.WorkspaceFolder(uri=root.as_uri(), name="project")],
            ))
            for name, language in ws.open.items():
                editor.open(ws.uri(name), ws.files[name], language=language)
            await self.features(cfg, ws, client, editor, key, results)
        finally:
            try:
                await asyncio.wait_for(client.shutdown_session(), 5)
            except Exception as exc:  # noqa: BLE001
                self.notes.append(f"{cfg.name}: shutdown: {exc!r}")
            await client.stop()

        run = cfg.name
        for label, value in results:
            self.record("command results", label, repr(value), run)
        for m in client.messages:
            self.record("shown to the user", f"showMessage: {m.message[:60]}", m.message, run)
        for m in client.log_messages:
            self.record("shown to the user", "logMessage", m.message, run)
        for m in editor.message_requests:
            self.record("shown to the user", "showMessageRequest", repr(m), run)
        for token, reports in client.progress_reports.items():
            for report in reports:
                self.record("shown to the user", "progress", repr(report), run)
        level = f"logs ({' '.join(cfg.verbosity) or 'default'})"
        for path, sink in ((log_file, level), (stderr_file, "server stderr")):
            if path.is_file():
                for n, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
                    self.record(sink, f"{path.name}:{n}", line, run)
        for path in sorted(xdg.rglob("*")):
            if path.is_file():
                self.record("files the server wrote", str(path.relative_to(xdg)),
                            path.read_text(encoding="utf-8", errors="replace"), run)

    async def features(self, cfg, ws: Workspace, client, editor: Editor, key: str, results: list) -> None:
        c, run, fake = self.canaries, cfg.name, self.fake
        # Completion answers go back to the same editor and carry the word before the cursor (the
        # user's own text, by design): not scanned as leaks, but kept for a look when debugging.
        completions: list[tuple[str, object]] = []
        self.completions = completions
        main = ws.uri("main.py")

        async def command(label: str, name: str, *args):
            with self.feature(run, label, key):
                value = await execute(client, name, *args, timeout=30)
                await editor.wait_idle(quiet=0.05)
            results.append((f"{name} ({label})", value))
            return value

        source = ws.files["main.py"]
        first, diag = line_of(source, "AWS_ACCESS_KEY_ID"), line_of(source, "REQUEST_TIMEOUT")
        charge, last = line_of(source, "def charge"), len(source.split("\n")) - 1
        secrets = rng(f"{first}:0-{diag + 2}:0")  # every planted line
        await command("explain", "glm.explain", {"uri": main, "range": secrets})
        await command("explain", "glm.explain", {"uri": main})
        diagnostic = {"range": rng(f"{diag}:0-{diag}:60"), "source": "Pyright",
                      "message": f'Type "Literal[\'{c[P_DIAG]["stripe"]}\']" is not assignable to declared type "int"'}
        planted = [v for place in (P_MAIN, P_ECHO, P_DIAG, P_FIXED) for v in c[place].values()] + [key]

        async def edit(label: str, name: str, arguments: dict) -> None:
            """An AI edit over the secrets; then the user checks the buffer and undoes the edit."""
            await command(label, name, arguments)
            now = editor.text(main)
            missing = [v for v in planted if v not in now]
            self.buffer_checks.append((run, label, len(missing), "[REDACTED]" in now))
            lines = now.split("\n")
            editor.type(main, (0, 0), source, end=(len(lines) - 1, len(lines[-1])))  # undo
            await editor.wait_idle(quiet=0.05)

        # Fix the line Pyright complains about (and the one below), then "Fix again" for the same
        # diagnostic; rewrite the whole block of secrets; a docstring for the function (no secret).
        fix = {"uri": main, "range": rng(f"{diag}:0-{diag + 2}:0"), "diagnostics": [diagnostic]}
        await edit("fix", "glm.fix", fix)
        await edit("fix again", "glm.fix", fix)
        await edit("rewrite", "glm.rewrite", {"uri": main, "range": secrets, "instruction": "sort the settings"})
        await edit("docstring", "glm.docstring", {"uri": main, "range": rng(f"{charge}:0-{charge + 3}:0")})
        await command("showPrompt", "glm.showPrompt", {"uri": main})
        await command("showPrompt", "glm.showPrompt")
        await command("tests", "glm.tests", {"uri": main, "range": rng(f"{first}:0-{charge + 3}:0")})

        # Work goes on: the user pastes secrets into config.py and into the open .env.
        config_uri, env_uri = ws.uri("config.py"), ws.uri(".env")
        typed = c[P_TYPED]
        editor.type(config_uri, (2, 0), f'LATE_GITHUB_TOKEN = "{typed["github"]}"\nLATE_ZHIPU_KEY = "{typed["zai"]}"\n'
                                        f'smtp_password = "{typed["password"]}"\n')
        typed_env = c[P_TYPED_ENV]
        editor.type(env_uri, (0, 0), f"LATE_STRIPE_KEY={typed_env['stripe']}\nLATE_AWS_KEY={typed_env['aws']}\n")
        await editor.wait_idle(quiet=0.05)

        text = editor.text(main).split("\n")
        password_line = next(i for i, line in enumerate(text) if line.startswith("db_password"))
        aws_line = next(i for i, line in enumerate(text) if line.startswith("AWS_ACCESS_KEY_ID"))
        import_line = next(i for i, line in enumerate(text) if line.startswith("from config import"))
        spots = {
            # The cursor where it is after pasting a password between auto-closed quotes.
            "cursor before the closing quote of a password": (password_line, len(text[password_line]) - 1),
            # The cursor inside a key (editing it).
            "cursor inside an AWS key": (aws_line, text[aws_line].index("AKIA") + 10),
            # The cursor at the end of a line; the next lines hold secrets.
            "cursor above the secrets": (import_line, len(text[import_line])),
            "cursor at the end of the file": (len(text) - 1, 0),
        }
        for label, (line, character) in spots.items():
            position = types.Position(line=line, character=character)
            document = types.TextDocumentIdentifier(uri=main)
            # Completion items one character to the left: the same kind of spot, not served from the
            # cache of the inline suggestion.
            with self.feature(run, "inline completion", key):
                value = await asyncio.wait_for(client.text_document_inline_completion_async(types.InlineCompletionParams(
                    text_document=document, position=position,
                    context=types.InlineCompletionContext(trigger_kind=types.InlineCompletionTriggerKind.Invoked),
                )), 30)
            completions.append((f"inlineCompletion ({label})", value))
            with self.feature(run, "completion items", key):
                value = await asyncio.wait_for(client.text_document_completion_async(types.CompletionParams(
                    text_document=document, position=types.Position(line=line, character=max(0, character - 1)),
                )), 30)
            completions.append((f"completion ({label})", value))
            # Type one character so the next spot is not served from the suggestion cache.
            editor.type(main, (len(editor.text(main).split("\n")) - 1, 0), "#")
            await editor.wait_idle(quiet=0.05)

        # Commands and completions on the excluded files: refused, never sent.
        for name in (".env", "deploy.pem", "build/out.py", "sub/local_conf.py", "my_secrets.py"):
            uri = ws.uri(name)
            for command_name, extra in (("glm.explain", {}), ("glm.fix", {"range": rng("0:0-3:0")}),
                                        ("glm.tests", {"range": rng("0:0-3:0")})):
                await command(f"excluded: {command_name.removeprefix('glm.')}", command_name, {"uri": uri, **extra})
            with self.feature(run, "excluded: completion", key):
                value = await asyncio.wait_for(client.text_document_inline_completion_async(types.InlineCompletionParams(
                    text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(line=1, character=3),
                    context=types.InlineCompletionContext(trigger_kind=types.InlineCompletionTriggerKind.Invoked),
                )), 30)
            completions.append((f"inlineCompletion ({name})", value))
        await command("showPrompt after tests and completions", "glm.showPrompt", {"uri": main})
        await command("showPrompt after tests and completions", "glm.showPrompt", {"uri": ws.uri(".env")})
        await command("usage", "glm.usage")

        # Provider errors that echo the request back.
        echo = c[P_ECHO]["github"]
        for label, reply in error_echoes(key, echo):
            fake.push(reply)
            await command(f"error echo: {label}", "glm.explain", {"uri": main, "range": rng(f"{charge}:0-{charge + 3}:0")})
        fake.push(reply_error(401, message=f"Invalid API key {key} for request {{'WEBHOOK_TOKEN': '{echo}'}}"))
        with self.feature(run, "error echo: completion 401", key):
            value = await asyncio.wait_for(client.text_document_inline_completion_async(types.InlineCompletionParams(
                text_document=types.TextDocumentIdentifier(uri=main), position=types.Position(line=1, character=0),
                context=types.InlineCompletionContext(trigger_kind=types.InlineCompletionTriggerKind.Invoked),
            )), 30)
        completions.append(("inlineCompletion (error echo)", value))
        await command("usage", "glm.usage")
        await asyncio.sleep(0.2)  # let the last notifications arrive before shutdown

    # -- the command line ---------------------------------------------------------------------
    def cli_runs(self) -> None:
        c, fake = self.canaries, self.fake
        key = c[K_ENV]["zai"]
        root = self.base / "cli" / "project"
        root.mkdir(parents=True)
        make_workspace(root, c, key)
        env = base_env(self.base / "cli" / "xdg") | environment_secrets(c) | {"ZAI_API_KEY": key}
        url = fake.url + "/api/paas/v4"
        echo = c[P_ECHO]["github"]
        log_file = self.base / "cli" / "ask.log"

        def run(label: str, feature: str, *args: str) -> None:
            with self.feature("cli", feature, key):
                done = subprocess.run([sys.executable, "-m", "glm_lsp", *args], cwd=root, env=env,
                                      capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
            self.record("CLI output", f"{label}: stdout", done.stdout.decode("utf-8", "replace"), "cli")
            self.record("CLI output", f"{label}: stderr", done.stderr.decode("utf-8", "replace"), "cli")

        run("ask --file tools/deploy.py", "cli ask", "ask", "--base-url", url, "--file", "tools/deploy.py",
            "What does deploy do?")
        run("ask -v --log-file --file tools/deploy.py", "cli ask", "ask", "-v", "--log-file", str(log_file),
            "--base-url", url, "--file", "tools/deploy.py", "Explain the settings.")
        run("ask --file .env.local", "cli ask", "ask", "--base-url", url, "--file", ".env.local", "Is this right?")
        run("ask --file main.py", "cli ask", "ask", "--base-url", url, "--file", "main.py", "Review this.")
        for label, reply in error_echoes(key, echo):
            fake.push(reply)
            run(f"ask ({label})", "cli ask: error echo", "ask", "-v", "--base-url", url, "--file", "tools/deploy.py", "hi")
        run("doctor", "cli doctor", "doctor", "--base-url", url)
        run("doctor -v", "cli doctor", "doctor", "-v", "--base-url", url)
        if log_file.is_file():
            for n, line in enumerate(log_file.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
                self.record("CLI output", f"ask.log:{n}", line, "cli")

    # -- what reached the provider ------------------------------------------------------------
    def scan_requests(self) -> None:
        assert len(self.request_feature) == len(self.fake.requests), (len(self.request_feature), len(self.fake.requests))
        for rec, (run, feature, key) in zip(self.fake.requests, self.request_feature):
            headers = {k: v for k, v in rec.headers.items() if k != "authorization"}
            try:
                contents = "\n".join(m["content"] for m in rec.body["messages"])
            except (TypeError, KeyError):
                contents = ""
            # The completion prompt's cursor marker splits a secret typed around the cursor into two
            # halves the provider receives side by side: scan the text without the marker too.
            text = "\n".join([rec.path, json.dumps(headers), rec.raw_body.decode("utf-8", "replace"), contents,
                              contents.replace("<|CURSOR|>", "")])
            self.record(f"provider: {feature}", f"{run} {rec.path}", text, run)
            auth = rec.headers.get("authorization", "")
            # The one allowed place of the key: exactly "Bearer <the run's provider key>".
            self.record("Authorization header", f"{run} {feature}", "" if auth == f"Bearer {key}" else auth, run)
            if auth != f"Bearer {key}":
                self.notes.append(f"{run} {feature}: Authorization is {auth[:14]}…, not the provider key")


def error_echoes(key: str, echo: str) -> list[tuple[str, Reply]]:
    """Provider errors that echo what was sent: the key and a buffer secret."""
    dump = ("Invalid request parameters. Request dump follows for support: "
            '{"model": "glm-5.1", "stream": true, "thinking": {"type": "enabled"}, "messages": [...], '
            '"temperature": 0.7, "max_tokens": 8192, "headers": {"Accept": "text/event-stream", ')
    dump += " " * (280 - len(dump) - len('"Authorization": "Bearer ')) + '"Authorization": "Bearer '
    assert len(dump) == 280
    return [
        ("401 with key and buffer secret",
         reply_error(401, message=f"Invalid API key {key}; request was {{'WEBHOOK_TOKEN': '{echo}'}}")),
        ("400 long request dump", reply_error(400, code="1214", message=dump + key + '"}}')),
        ("in-band error event", Reply(steps=[ErrorFrame({"error": {"code": "1214", "message": f"bad key {key}"}})])),
        ("non-JSON stream line", Reply(steps=[Raw(f"data: upstream rejected Authorization: Bearer {key}\n\n")])),
    ]


# --------------------------------------------------------------------------- the report


@dataclass
class Leak:
    canary: Canary
    record: Record


@dataclass
class Report:
    canaries: Canaries
    records: list[Record]
    leaks: list[Leak]
    notes: list[str]
    requests: int
    seconds: float
    buffer_checks: list = field(default_factory=list)
    counted: dict[tuple[str, str], int] = field(default_factory=dict)

    def where(self, *, sinks=None, rows=None, sink_prefix: str | None = None) -> list[Leak]:
        found = []
        for leak in self.leaks:
            if sinks is not None and leak.record.sink not in sinks:
                continue
            if sink_prefix is not None and not leak.record.sink.startswith(sink_prefix):
                continue
            if rows is not None and leak.canary.place not in rows:
                continue
            found.append(leak)
        return found


def counts(canary: Canary, record: Record) -> bool:
    """Does a hit of this canary in this record count as a leak (see the module docstring)?"""
    if record.sink in ("logs (-vv)", "logs (-vvv)"):
        return canary.place in KEY_ROWS  # debug output: file contents allowed, keys never
    return True


def scan(records: list[Record], canaries: list[Canary]) -> list[Leak]:
    leaks = []
    for record in records:
        if not record.text:
            continue
        for canary in canaries:
            if counts(canary, record) and canary.found_in(record.text):
                leaks.append(Leak(canary, record))
    return leaks


def describe(leaks: list[Leak], limit: int = 6) -> str:
    lines = []
    for leak in leaks[:limit]:
        r = leak.record
        lines.append(f"{leak.canary.place} [{leak.canary.kind}] -> {r.sink} / {r.run} {r.label}")
    if len(leaks) > limit:
        lines.append(f"… and {len(leaks) - limit} more")
    return "\n".join(lines)


@pytest.fixture(scope="module")
def report(fake_server, tmp_path_factory) -> Report:
    import time

    started = time.monotonic()
    seed = int(os.environ.get("PROOF_SEED") or random.SystemRandom().randrange(1 << 30))
    canaries = Canaries(random.Random(seed))
    base = tmp_path_factory.mktemp("canaries")
    fake_server.reset()
    original_queue = fake_server._queue
    fake_server._queue = EchoModel(fake_server)
    try:
        scenario = Scenario(fake_server, base, canaries)

        async def servers():
            for cfg in RUNS:
                await scenario.server_run(cfg)

        asyncio.run(servers())
        scenario.cli_runs()
        scenario.scan_requests()
        requests = len(fake_server.requests)
    finally:
        fake_server._queue = original_queue
        fake_server.reset()
    leaks = scan(scenario.records, canaries.all())
    rep = Report(canaries, scenario.records, leaks, scenario.notes + [f"seed {seed}"], requests,
                 time.monotonic() - started, scenario.buffer_checks)
    for leak in leaks:
        cell = (leak.canary.place, leak.record.sink)
        rep.counted[cell] = rep.counted.get(cell, 0) + 1
    return rep


COLUMNS = [
    ("provider", lambda sink: sink.startswith("provider: ")),
    ("Authz", lambda sink: sink == "Authorization header"),
    ("logs 0", lambda sink: sink == "logs (default)"),
    ("logs -v", lambda sink: sink == "logs (-v)"),
    ("logs -vv", lambda sink: sink == "logs (-vv)"),
    ("logs -vvv", lambda sink: sink == "logs (-vvv)"),
    ("stderr", lambda sink: sink == "server stderr"),
    ("user msgs", lambda sink: sink == "shown to the user"),
    ("results", lambda sink: sink == "command results"),
    ("files", lambda sink: sink == "files the server wrote"),
    ("CLI", lambda sink: sink == "CLI output"),
]
FILE_ROWS = [r for r in ROWS if r not in KEY_ROWS]


def test_print_the_leak_table(report: Report, capsys):
    width = max(len(r) for r in ROWS)
    head = f"{'planted in':{width}} |" + "|".join(f"{name:>9} " for name, _ in COLUMNS) + "| total"
    lines = [head, "-" * len(head)]
    grand = 0
    for row in ROWS:
        cells = []
        for _, match in COLUMNS:
            cells.append(sum(n for (place, sink), n in report.counted.items() if place == row and match(sink)))
        grand += sum(cells)
        lines.append(f"{row:{width}} |" + "|".join(f"{n:>9} " for n in cells) + f"| {sum(cells):>5}")
    per_sink = collections.Counter(leak.record.sink for leak in report.leaks)
    sinks = collections.Counter(r.sink for r in report.records)
    with capsys.disabled():
        print(f"\n[proof/secrets] {len(report.canaries.all())} canaries, {len(report.records)} records scanned "
              f"({report.requests} provider requests), {report.seconds:.1f} s; {report.notes[-1]}")
        print("leaks = records (one request, log line, message, result, CLI stream) holding a canary or a "
              f"{WINDOW}-character piece of it; logs at -vv/-vvv count only the key rows (see the docstring)")
        print("\n".join(lines))
        print(f"total leaks: {grand} (goal 0)")
        print("leaks by sink: " + ", ".join(f"{s}: {n}" for s, n in sorted(per_sink.items())))
        print("records scanned by sink: " + ", ".join(f"{s}: {n}" for s, n in sorted(sinks.items())))
        print("buffer after AI edits over secrets (run, command, secrets gone, '[REDACTED]' written): "
              + ", ".join(f"{r}/{c}: {n}/{b}" for r, c, n, b in report.buffer_checks if n or b))
        for note in report.notes[:-1]:
            print("  note:", note)
        if os.environ.get("PROOF_SECRETS_DETAILS"):  # every leak, with the text around it
            for leak in report.leaks:
                r, text = leak.record, leak.record.text.replace("<|CURSOR|>", "")
                at = max((text.find(p) for p in [leak.canary.value, *leak.canary.cores] if p in text), default=-1)
                if at < 0:
                    at = next((text.find(core[i:i + WINDOW]) for core in leak.canary.cores
                               for i in range(max(1, len(core) - WINDOW + 1)) if core[i:i + WINDOW] in text), 0)
                print(f"  * {leak.canary.place} [{leak.canary.kind}] -> {r.sink} / {r.run} / {r.label}: "
                      f"{text[max(0, at - 90):at + 60]!r}")
    assert report.requests > 50 and len(report.records) > 200


def test_the_scenario_took_every_path(report: Report):
    """The zeros of the table mean something only if every path was really taken."""
    by_sink = collections.Counter(r.sink for r in report.records)
    for feature in PROVIDER_FEATURES:
        if not feature.startswith("excluded: "):
            assert by_sink[f"provider: {feature}"] > 0, f"no request for {feature}"
    for sink in ("logs (-v)", "logs (-vv)", "logs (-vvv)"):  # the default level may well log nothing
        assert by_sink[sink] > 0, f"nothing logged in {sink}"
    prompts = "\n".join(r.text for r in report.records if r.sink == "provider: inline completion")
    assert "recent edits" in prompts and "LATE_GITHUB_TOKEN" in prompts, "the pasted lines were not offered as context"
    assert "[REDACTED]" in prompts
    context = "\n".join(r.text for r in report.records if r.sink == "provider: explain")
    assert "config.py" in context and "[REDACTED]" in context, "config.py was not offered as context"
    shown = "\n".join(r.text for r in report.records if r.sink == "shown to the user")
    # explain and fix on each of the five excluded files, in every run, are refused with a message
    assert shown.count("will not send this file") >= 2 * 5 * len(RUNS)
    cli = "\n".join(r.text for r in report.records if r.sink == "CLI output")
    assert "not sending --file .env.local" in cli and "OK: Z.AI answered" in cli
    assert [n for n in report.notes if "Authorization is" in n] == []


def test_the_authorization_header_is_exactly_bearer_and_the_provider_key(report: Report):
    """Every request: ``Authorization: Bearer <the run's provider key>``, nothing else in it."""
    assert report.where(sinks={"Authorization header"}) == []
    assert [n for n in report.notes if "Authorization is" in n] == []


B1 = ("glm.tests sends code unredacted: features/tests_gen.py run() builds the prompt from _code_task() "
      "(target, 40 lines above/below) and the existing test file with no Privacy.redact, unlike transform._prepare; "
      "every secret in the target (and the API key pasted in it) reaches the provider. Fix: redact task.target/"
      "before/after and `existing` as transform._prepare does (and keep an Unredactor if tests are written back)")
B2 = ("glm.tests on an excluded file (.env, *.pem, .gitignore'd, *secret*) is not refused: features/tests_gen.py "
      "run() never calls state.check_allowed(uri, settings), so the whole file is sent. Fix: call "
      "state.check_allowed() first, as explain/transform do")
B3 = ("completion prompts are redacted in two halves: features/completion.py _suggest() calls redact(window_prefix) "
      "and redact(window_suffix) separately, so a secret the cursor is in (a key being edited, a password pasted "
      "between auto-closed quotes: `db_password = \"<pw>|\"` has no closing quote in the prefix) matches no rule and "
      "both halves are sent around <|CURSOR|>. Fix: redact prefix+suffix as one text and split the result at the "
      "cursor's mapped offset (a cursor inside a redacted span moves to its end)")
B4 = ("completion stop words leak the next line: features/completion.py _suggest() sends the first non-blank "
      "line after the cursor, raw, as a stop sequence (Query.stop -> ChatRequest.stop); providers/openai_compat."
      "build() sends stop[:4] for openai/oxen (zai/bigmodel send only stop[:1] = '\\n\\n'), so the line "
      "`AWS_ACCESS_KEY_ID = \"AKIA…\"` below the cursor reaches the provider. Fix: take the stop line from the "
      "redacted suffix, or drop it when it contains [REDACTED]")
B5 = ("diagnostics are sent unredacted: features/transform.py _describe() -> prompts/code.py 'Diagnostics reported "
      "in the target' puts each diagnostic message verbatim; Pyright quotes literals (Type \"Literal['sk_live_…']\" "
      "is not assignable…), so a secret redacted from the code is sent in the diagnostic. Fix: redact the "
      "diagnostic messages with the same Privacy.redact")
B6 = ("'Fix again' sends the previous fix unredacted: transform.run() stores new_text = the region as written into "
      "the buffer, i.e. after Unredactor put the user's secrets back (state.remember_fix), and prompts/fix.py "
      "messages() fences it raw as 'A previous attempt…'. Fix: redact previous_attempt before building the prompt "
      "(or store the model's redacted answer instead)")
B7 = ("unredaction loses the user's secrets: context/builder.py Unredactor diffs original vs redacted text "
      "character by character (difflib); a secret sharing letters with '[REDACTED]' (AKIA…, any key with A/C/D/E/R/T) "
      "is matched piecewise, the opcode no longer holds a whole placeholder, redacted[j1:j2].count(placeholder) is 0 "
      "and the secret is dropped from the list; apply() then hands the secrets it did find to the first "
      "placeholders, in order, and writes the literal '[REDACTED]' over the rest (glm.rewrite over a block of "
      "settings: AWS_ACCESS_KEY_ID gets REQUEST_TIMEOUT's sk_live_ key, 10-11 of 18 secrets become "
      "'[REDACTED]' in the user's file). Fix: record the redacted spans in Privacy.redact (or split "
      "the redacted text on the placeholder and find the literal pieces in order in the original; the gaps are "
      "the secrets)")
B8 = ("a provider error message is cut to 300 characters before the key is scrubbed: providers/classify.py "
      "code_and_message()/parse_body() truncate (_MAX_PROVIDER_TEXT) and classify()._scrub() replaces only the "
      "whole key, so a key straddling the cut (an echoed request dump) is shown in part (here 20 characters) in "
      "showMessage, the CLI's stderr and logs. Fix: scrub before truncating (and scrub any ≥8-char prefix of the "
      "key at the end of the text)")
B9 = ("a non-JSON stream event is quoted unscrubbed: providers/wire.py Decoder.decode() raises ProtocolError with "
      "data[:80]!r, never passed through classify._scrub, so 'data: … Bearer <key>' shows the key (40 characters "
      "here) to the user. Fix: scrub the API key (and redact) in the quoted excerpt")
B10 = ("provider error messages are shown and logged verbatim except for the API key: providers/classify.py "
       "classify() only _scrub()s the key, so a buffer secret the provider echoes back ({'WEBHOOK_TOKEN': "
       "'ghp_…'}) is in window/showMessage, in `glm-lsp ask` stderr, and at -v in the log "
       "(state.report_completion_failure / completion/engine.py log.info('completion failed: %s')). Fix: pass "
       "provider messages through Privacy.redact (with the key as a secret) in classify()")
B11 = ("-vvv logs the API key: server.py _quiet_pygls() turns pygls DEBUG on at verbosity ≥ 3, and pygls logs raw "
       "traffic: the initialize params with initializationOptions.apiKey, every didOpen/didChange holding a pasted "
       "key, and the showMessage texts of B8/B9. Fix: add a logging.Filter on the glm-lsp handler that replaces "
       "the configured key(s) (and their prefixes) in every record, or drop apiKey from logged params")


FIXED = {B1, B2, B3, B4, B5, B6, B7, B8, B9, B10, B11}  # fixed in the server; their tests must pass now


def xfail(*reasons: str):
    open_bugs = [r for r in reasons if r not in FIXED]
    if not open_bugs:
        return pytest.mark.fixed_bug  # a plain label: the test must pass
    return pytest.mark.xfail(strict=True, reason=" | ".join(open_bugs))


PROVIDER_FEATURES = [
    "explain", "rewrite", "docstring",
    "excluded: explain", "excluded: fix", "excluded: completion",
    "error echo: 401 with key and buffer secret", "error echo: 400 long request dump",
    "error echo: in-band error event", "error echo: non-JSON stream line", "error echo: completion 401",
    "cli ask", "cli ask: error echo", "cli doctor",
    "fix", "fix again", "tests", "excluded: tests", "inline completion", "completion items",
]
PROVIDER_BUGS = {
    "fix": [B5], "fix again": [B5, B6], "tests": [B1], "excluded: tests": [B2],
    "inline completion": [B3, B4], "completion items": [B3, B4],
}


@pytest.mark.parametrize("feature", [
    pytest.param(f, marks=xfail(*PROVIDER_BUGS[f])) if f in PROVIDER_BUGS else f for f in PROVIDER_FEATURES
])
def test_no_canary_reaches_the_provider(report: Report, feature: str):
    leaks = report.where(sinks={f"provider: {feature}"})
    assert leaks == [], describe(leaks)


@xfail(B1)
def test_no_key_reaches_the_provider_outside_the_authorization_header(report: Report):
    leaks = report.where(rows=KEY_ROWS, sink_prefix="provider: ")
    assert leaks == [], describe(leaks)


@pytest.mark.parametrize("sink", [
    "logs (default)",
    pytest.param("logs (-v)", marks=xfail(B10)),
    "logs (-vv)",
    pytest.param("logs (-vvv)", marks=xfail(B11)),
    "server stderr",
    "files the server wrote",
])
def test_logs_and_files_hold_no_secret(report: Report, sink: str):
    leaks = report.where(sinks={sink})
    assert leaks == [], describe(leaks)


@xfail(B8, B9)
def test_user_messages_hold_no_key(report: Report):
    leaks = report.where(sinks={"shown to the user"}, rows=KEY_ROWS)
    assert leaks == [], describe(leaks)


@xfail(B10)
def test_user_messages_hold_no_file_secret(report: Report):
    leaks = report.where(sinks={"shown to the user"}, rows=FILE_ROWS)
    assert leaks == [], describe(leaks)


def test_command_results_hold_no_secret(report: Report):
    leaks = [leak for leak in report.where(sinks={"command results"}) if "after tests" not in leak.record.label]
    assert leaks == [], describe(leaks)


@xfail(B2)
def test_show_prompt_after_tests_and_completions_holds_no_secret(report: Report):
    leaks = [leak for leak in report.where(sinks={"command results"}) if "after tests" in leak.record.label]
    assert leaks == [], describe(leaks)


@xfail(B8, B9)
def test_cli_output_holds_no_key(report: Report):
    leaks = report.where(sinks={"CLI output"}, rows=KEY_ROWS)
    assert leaks == [], describe(leaks)


@xfail(B10)
def test_cli_output_holds_no_file_secret(report: Report):
    leaks = report.where(sinks={"CLI output"}, rows=FILE_ROWS)
    assert leaks == [], describe(leaks)


@pytest.mark.parametrize("command", [
    "fix", "fix again", pytest.param("rewrite", marks=xfail(B7)), "docstring",
])
def test_ai_edits_keep_the_users_secrets_in_the_buffer(report: Report, command: str):
    """Not a leak but the other half of redaction: what the model saw as [REDACTED] must come back as the
    user's own secret when the edit is written into the buffer (checked in every run)."""
    checks = [check for check in report.buffer_checks if check[1] == command]
    broken = [check for check in checks if check[2] or check[3]]
    assert len(checks) == len(RUNS) and broken == [], broken
