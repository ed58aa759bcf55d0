"""Driving the real Helix 25.01 in tmux, and reading Helix's own defaults.

* :func:`install` runs ``install.sh`` (Helix 25.01.1 and tmux from Debian trixie
  into ``<repo>/.cache/editors/helix``) unless it is already there.
* :func:`builtin_languages` reads the ``languages.toml`` compiled into the
  installed ``hx`` (Helix embeds it; the Debian package ships no copy), so the
  snippet's server lists can be checked against the editor itself.
* :func:`user_languages` turns ``editors/helix/languages.toml`` into the file a
  test gives Helix: the same snippet with ``command``/``args``/``config``
  pointed at this checkout and the fake provider.
* :class:`Terminal` is one ``hx`` in a private tmux server: send keys, read
  the screen, wait for text on it (polling, with a deadline, never a fixed sleep).
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import time
import tomllib
import uuid
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
SNIPPET = REPO / "editors" / "helix" / "languages.toml"
CONFIG_SNIPPET = REPO / "editors" / "helix" / "config.toml"
INSTALL_SCRIPT = HERE / "install.sh"
DEFAULT_DEST = REPO / ".cache" / "editors" / "helix"
SERVER_NAME = "glm-lsp"
GLM_FEATURES = ["code-action", "completion", "workspace-command"]


# --------------------------------------------------------------------------- install


def install(dest: Path = DEFAULT_DEST) -> tuple[Path, Path]:
    """Install Helix and tmux into *dest* (no-op when present); return (hx, tmux)."""
    result = subprocess.run(["bash", str(INSTALL_SCRIPT), str(dest)], capture_output=True, text=True, timeout=600)
    if result.returncode != 0:
        raise RuntimeError(f"{INSTALL_SCRIPT} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return dest / "bin" / "hx", dest / "bin" / "tmux"


# --------------------------------------------------------------------------- languages.toml


def builtin_languages(hx: Path) -> dict:
    """Helix's built-in ``languages.toml``, read out of the installed binary.

    ``helix-loader`` compiles the file in with ``include_bytes!``; its text starts
    with a fixed comment and is followed directly by other string data, so the
    parse is retried without the line TOML rejects until it succeeds.
    """
    binary = _real_binary(hx)
    data = binary.read_bytes()
    start = data.find(b"# Language support configuration.\n")
    if start < 0:
        raise RuntimeError(f"no built-in languages.toml in {binary}")
    chunk = data[start : start + 4_000_000]
    chunk = chunk.split(b"\0", 1)[0]
    lines = chunk.decode("utf-8", "replace").split("\n")
    for _ in range(10):
        try:
            return tomllib.loads("\n".join(lines))
        except tomllib.TOMLDecodeError as exc:
            match = re.search(r"line (\d+)", str(exc))
            if not match or int(match.group(1)) <= 1:
                raise
            lines = lines[: int(match.group(1)) - 1]
    raise RuntimeError(f"could not cut the built-in languages.toml out of {binary}")


def _real_binary(hx: Path) -> Path:
    """The ELF file behind the install.sh wrapper (or *hx* itself)."""
    text = hx.read_bytes()[:4096]
    if text.startswith(b"#!"):
        for word in shlex.split(text.decode(errors="replace").splitlines()[-1]):
            if word.endswith("/hx") and Path(word).is_file() and Path(word).read_bytes()[:4] == b"\x7fELF":
                return Path(word)
    return hx


def server_lists(config: dict) -> dict[str, list]:
    """``{language name: language-servers}`` of every ``[[language]]`` that sets it."""
    return {lang["name"]: lang["language-servers"] for lang in config.get("language", []) if "language-servers" in lang}


def user_languages(*, base_url: str | None, command: list[str] | None = None, extra_config: dict | None = None) -> str:
    """The repo's snippet, pointed at this checkout's server and the fake provider.

    Only the ``[language-server.glm-lsp]`` table is rewritten; every
    ``[[language]]`` table is kept as the user would copy it.
    """
    text = SNIPPET.read_text()
    snippet = tomllib.loads(text)  # the snippet itself must parse
    command = command or [sys.executable, "-m", "glm_lsp", "serve"]
    config = {"maxRetries": 0} | ({"baseUrl": base_url} if base_url else {}) | (extra_config or {})
    table = "\n".join(
        [
            f"[language-server.{SERVER_NAME}]",
            f"command = {_toml(command[0])}",
            f"args = [{', '.join(_toml(a) for a in command[1:])}]",
            f"timeout = {snippet['language-server'][SERVER_NAME]['timeout']}",
            "config = { " + ", ".join(f"{k} = {_toml(v)}" for k, v in config.items()) + " }",
            "",
        ]
    )
    head, sep, rest = text.partition(f"[language-server.{SERVER_NAME}]")
    if not sep:
        raise ValueError(f"{SNIPPET} has no [language-server.{SERVER_NAME}] table")
    # drop the snippet's own table: everything up to the next table header
    following = re.search(r"^\s*\[", rest, flags=re.MULTILINE)
    rest = rest[following.start() :] if following else ""
    return head + table + "\n" + rest


def _toml(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    raise TypeError(f"no TOML for {value!r}")


# --------------------------------------------------------------------------- terminal


class Timeout(AssertionError):
    pass


class Terminal:
    """One ``hx`` running in its own tmux server (``tmux -L <unique>``)."""

    def __init__(self, tmux: Path, *, width: int = 120, height: int = 30) -> None:
        self.tmux = str(tmux)
        self.socket = f"glm-helix-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.width, self.height = width, height
        self.started = False

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run([self.tmux, "-L", self.socket, *args], capture_output=True, text=True, check=check, timeout=20)

    def start(self, argv: list[str], *, cwd: Path, env: dict[str, str]) -> None:
        """Start *argv* in a new tmux server whose environment is exactly *env*."""
        command = shlex.join(argv)
        subprocess.run(
            [self.tmux, "-L", self.socket, "-f", "/dev/null", "new-session", "-d", "-s", "hx", "-x", str(self.width),
             "-y", str(self.height), "-c", str(cwd), command],
            env=env, cwd=cwd, check=True, capture_output=True, text=True, timeout=20,
        )  # fmt: skip
        self.started = True
        # keystrokes must not wait to see whether Escape starts an Alt sequence,
        # and a pane whose program exits stays readable
        self._run("set-option", "-s", "escape-time", "0", check=False)
        self._run("set-option", "-g", "remain-on-exit", "on", check=False)

    def keys(self, *keys: str) -> None:
        """tmux key names (``Enter``, ``Escape``, ``C-x``, ``Space``) or single characters."""
        self._run("send-keys", "-t", "hx:", *keys)

    def type(self, text: str) -> None:
        """Literal text, as typed."""
        self._run("send-keys", "-t", "hx:", "-l", text)

    def screen(self) -> str:
        result = self._run("capture-pane", "-p", "-t", "hx:", check=False)
        return result.stdout

    def wait(self, condition: str | Callable[[str], bool], timeout: float = 10.0, what: str | None = None) -> str:
        """Poll the screen until *condition* (text on it, or a predicate) holds; return that screen."""
        check = (lambda s: condition in s) if isinstance(condition, str) else condition
        deadline = time.monotonic() + timeout
        screen = ""
        while True:
            screen = self.screen()
            if check(screen):
                return screen
            if time.monotonic() >= deadline:
                label = what or (repr(condition) if isinstance(condition, str) else "condition")
                raise Timeout(f"waited {timeout:.0f} s for {label}; the screen was:\n{screen}")
            time.sleep(0.05)

    def mode(self) -> str | None:
        """NOR / INS / SEL from Helix's status line, when visible."""
        for line in reversed(self.screen().split("\n")):
            match = re.match(r"\s*(NOR|INS|SEL)\s", line)
            if match:
                return match.group(1)
        return None

    def normal_mode(self, timeout: float = 5.0) -> None:
        self.keys("Escape")
        self.wait(lambda s: self.mode() == "NOR", timeout, "normal mode")

    def command(self, text: str) -> None:
        """Run a typed command (``:w``) from normal mode."""
        self.keys(":")
        self.wait(lambda s: s.rstrip("\n").split("\n")[-1].startswith(":"), 5, "the command prompt")
        self.type(text)
        self.keys("Enter")

    def close(self) -> None:
        if self.started:
            self._run("kill-server", check=False)
            self.started = False


def install_ruff(dest: Path = DEFAULT_DEST) -> Path | None:
    """Ruff (Helix's first default server for Python) into *dest*/ruff, from PyPI.

    Returns the directory holding the ``ruff`` executable, or None when it cannot
    be installed (the scenarios then run with glm-lsp alone).
    """
    target = dest / "ruff"
    exe = target / "bin" / "ruff"
    if exe.is_file():
        return exe.parent
    result = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--target", str(target), "ruff"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    return exe.parent if result.returncode == 0 and exe.is_file() else None
