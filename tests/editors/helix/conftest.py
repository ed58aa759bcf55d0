"""Fixtures for the real-Helix tests: Helix 25.01 installed once, one ``hx`` per test in tmux.

``helix_tools`` (session) installs Helix 25.01.1 and tmux from Debian trixie into
``<repo>/.cache/editors/helix`` with ``install.sh`` (skipped when already there),
and Ruff from PyPI, Helix's first default server for Python, so the GLM actions
are seen beside a real default server's. ``helix`` (function) starts ``hx`` in a
private tmux server with ``XDG_CONFIG_HOME`` pointing at a temporary folder whose
``helix/languages.toml`` is the repo's snippet, its server command pointed at
this checkout (``<venv python> -m glm_lsp serve``) and its ``config`` at the fake
provider. Every wait polls the screen with a deadline.
"""

from __future__ import annotations

import os
import platform
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.editors.helix.helix import (
    CONFIG_SNIPPET,
    DEFAULT_DEST,
    Terminal,
    Timeout,
    install,
    install_ruff,
    user_languages,
)

TEST_KEY = "test-key"
NO_CODE_ACTION_SERVER = "No configured language server supports code actions"


@dataclass
class Tools:
    hx: Path
    tmux: Path
    ruff_dir: Path | None
    install_seconds: float
    installed_now: bool


_timings: dict[str, float | str] = {}


@pytest.fixture(scope="session")
def helix_tools() -> Tools:
    if sys.platform != "linux" or platform.machine() != "x86_64":
        pytest.skip("the Helix tests install Debian's x86_64 packages")
    if not (shutil.which("apt-get") and shutil.which("dpkg")):
        pytest.skip("the Helix tests need apt-get and dpkg (a Debian-like system) to install Helix 25.01")
    present = (DEFAULT_DEST / "bin" / "hx").exists() and (DEFAULT_DEST / "bin" / "tmux").exists()
    started = time.monotonic()
    hx, tmux = install(DEFAULT_DEST)
    helix_seconds = time.monotonic() - started
    version = subprocess.run([str(hx), "--version"], capture_output=True, text=True, timeout=30).stdout.strip()
    assert version.startswith("helix 25.01"), f"these tests are written for Helix 25.01; {hx} is {version!r}"
    ruff_dir = install_ruff(DEFAULT_DEST)
    total = time.monotonic() - started
    _timings["helix install"] = f"{version}, {helix_seconds:.1f} s" + (" (already installed)" if present else "")
    _timings["ruff install"] = f"{total - helix_seconds:.1f} s" if ruff_dir else "failed: scenarios run without Ruff"
    return Tools(hx, tmux, ruff_dir, total, not present)


def pytest_terminal_summary(terminalreporter):
    if _timings:
        terminalreporter.write_sep("-", "Helix 25.01 set-up")
        for name, value in _timings.items():
            terminalreporter.write_line(f"{name}: {value}")


@dataclass
class HelixSession:
    """One ``hx`` on a temporary workspace, and the helpers the scenarios share."""

    term: Terminal
    workspace: Path
    log: Path
    tools: Tools
    env: dict[str, str] = field(repr=False, default_factory=dict)

    # -- reading ---------------------------------------------------------------------

    def read(self, name: str) -> str:
        return (self.workspace / name).read_text()

    def log_tail(self, lines: int = 30, width: int = 400) -> str:
        try:
            tail = self.log.read_text(errors="replace").splitlines()[-lines:]
        except OSError:
            return "(no helix log)"
        return "\n".join(line if len(line) <= width else line[:width] + " …" for line in tail)

    def wait_initialized(self, server: str = "glm-lsp", timeout: float = 20.0) -> None:
        """Until Helix has sent *server* ``initialized`` (read from Helix's ``-v`` log).

        Nothing on the screen says so, and keys sent earlier reach Helix while the
        server is not yet one it asks (no completion request, no GLM actions).
        """
        marker = f'{server} -> {{"jsonrpc":"2.0","method":"initialized"'
        deadline = time.monotonic() + timeout
        while marker not in self._log_text():
            if time.monotonic() >= deadline:
                raise Timeout(f"{server} was not initialized within {timeout:.0f} s\n"
                              f"--- helix log (tail) ---\n{self.log_tail()}")  # fmt: skip
            time.sleep(0.05)

    def _log_text(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except OSError:
            return ""

    @staticmethod
    def progress_message(screen: str) -> str | None:
        """A ``$/progress`` message on the message line: ``[token] title - message``.

        Helix 25.01 shows these only with ``editor.lsp.display-progress-messages``
        (set by editors/helix/config.toml); its spinner follows only the *first*
        server of the document, which is never glm-lsp.
        """
        last = screen.rstrip("\n").split("\n")[-1]
        return last if re.match(r"\[[^\]]+\] \S", last) else None

    def settled(self, condition, timeout: float = 15.0, what: str | None = None, quiet: float = 0.3) -> str:
        """Wait for *condition*, then for it to still hold with the screen unchanged *quiet* s later."""
        deadline = time.monotonic() + timeout
        while True:
            screen = self.wait(condition, max(0.1, deadline - time.monotonic()), what)
            time.sleep(quiet)
            again = self.term.screen()
            if again == screen:
                return screen
            if time.monotonic() >= deadline:
                raise Timeout(f"the screen never settled on {what or 'the condition'}:\n{again}")

    def wait(self, condition, timeout: float = 15.0, what: str | None = None) -> str:
        try:
            return self.term.wait(condition, timeout, what)
        except Timeout as exc:
            raise Timeout(f"{exc}\n--- helix log (tail) ---\n{self.log_tail()}") from None

    # -- acting ----------------------------------------------------------------------

    def code_actions(self, expect: list[str], timeout: float = 20.0) -> str:
        """Open the code-action menu (``space a``) until every *expect* text is on it.

        Language servers start in the background after the file opens; until one
        that offers code actions is initialized Helix says so on the status line,
        and a menu opened while a second server is still starting lacks its
        actions. Both cases close and retry.
        """
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            before = self.term.screen()
            self.term.keys("Space", "a")
            try:  # a menu (with some of the actions) or the status-line error
                wait = min(5.0, max(0.5, deadline - time.monotonic()))
                screen = self.term.wait(lambda s, before=before: s != before, wait)
                if not all(e in screen for e in expect):  # let a second server's actions arrive
                    screen = self.term.wait(lambda s: all(e in s for e in expect), 0.5)
            except Timeout as exc:
                screen = str(exc)
            if all(e in screen for e in expect):
                return screen
            self.term.keys("Escape")
            self.term.wait(lambda s: self.term.mode() == "NOR" and not any(e in s for e in expect), 5, "no menu")
            time.sleep(0.2)
        raise Timeout(f"the code-action menu never showed {expect}; last screen:\n{screen}\n"
                      f"--- helix log (tail) ---\n{self.log_tail()}")  # fmt: skip

    def pick(self, screen: str, title: str) -> None:
        """Choose *title* in the open menu: Helix pre-selects the first row."""
        rows = menu_rows(screen, title)
        index = next(i for i, row in enumerate(rows) if row.strip() == title)
        for _ in range(index):
            self.term.keys("Down")
        self.term.keys("Enter")

    def command(self, text: str) -> None:
        self.term.command(text)

    def save(self, name: str) -> None:
        """``:w`` and wait for Helix to say the file was written."""
        self.term.normal_mode()
        self.command("w")
        self.wait(f"'{name}' written", 10)

    def quit(self) -> None:
        if not self.term.started:
            return
        try:
            self.term.keys("Escape")
            self.command("qa!")
            self.term.wait(lambda s: self._pane_dead(), 5, "hx to exit")
        except Exception:
            pass
        self.term.close()

    def _pane_dead(self) -> bool:
        result = subprocess.run(
            [self.term.tmux, "-L", self.term.socket, "display-message", "-p", "-t", "hx:", "#{pane_dead}"],
            capture_output=True, text=True, timeout=10,
        )  # fmt: skip
        return result.stdout.strip() == "1" or result.returncode != 0


def menu_rows(screen: str, title: str) -> list[str]:
    """The rows of the popup menu holding *title*, top to bottom (text from the menu's column)."""
    lines = screen.split("\n")
    where = next(((n, line.index(title)) for n, line in enumerate(lines) if title in line), None)
    if where is None:
        raise AssertionError(f"{title!r} is not on the screen:\n{screen}")
    row, column = where

    def in_menu(n: int) -> bool:
        line = lines[n]
        return len(line) > column and line[column] != " " and (column == 0 or line[column - 1] == " ")

    top = row
    while top > 0 and in_menu(top - 1):
        top -= 1
    bottom = row
    while bottom + 1 < len(lines) and in_menu(bottom + 1):
        bottom += 1
    return [re.sub(r"\s{2,}.*$", "", lines[n][column:]) for n in range(top, bottom + 1)]


@pytest.fixture
def helix(helix_tools, fake, tmp_path):
    """``helix(files, open=name, command=None, config=None, with_ruff=True, keys=True)`` → a started session.

    *command* replaces the server command (default: this checkout's), *config* adds
    settings to ``config``, *keys* installs ``editors/helix/config.toml``.
    """
    sessions: list[HelixSession] = []

    def start(files: dict[str, str], open: str, *, command: list[str] | None = None,
              config: dict | None = None, with_ruff: bool = True, keys: bool = True) -> HelixSession:  # fmt: skip
        root = tmp_path / f"helix-{len(sessions)}"
        workspace = root / "project"
        config_home = root / "config"
        (config_home / "helix").mkdir(parents=True)
        workspace.mkdir(parents=True)
        for name, text in files.items():
            (workspace / name).write_text(text)
        (workspace / ".helix").mkdir()  # the workspace root, as Helix sees it
        (config_home / "helix" / "languages.toml").write_text(
            user_languages(base_url=f"{fake.url}/api/paas/v4", command=command, extra_config=config)
        )
        if keys:  # the optional editors/helix/config.toml: space i c/r/i, progress messages
            shutil.copy(CONFIG_SNIPPET, config_home / "helix" / "config.toml")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("GLM_LSP_", "TMUX"))}
        for key in ("ZAI_API_KEY", "BIGMODEL_API_KEY", "OXEN_API_KEY", "RUNWARE_API_KEY", "OPENAI_API_KEY",
                    "GLM_API_KEY"):  # fmt: skip
            env.pop(key, None)
        # Only what the test puts there: no language server of this machine's own
        # (a system pylsp, say) may join the menus. hx and the server are absolute.
        (root / "bin").mkdir()
        path = [str(root / "bin")]
        if with_ruff and helix_tools.ruff_dir:
            path.insert(0, str(helix_tools.ruff_dir))
        env.update(
            PATH=os.pathsep.join(path),
            HOME=str(root / "home"),
            XDG_CONFIG_HOME=str(config_home),
            XDG_CACHE_HOME=str(root / "cache"),
            XDG_DATA_HOME=str(root / "data"),
            XDG_STATE_HOME=str(root / "state"),
            LANG="C.UTF-8",
            ZAI_API_KEY=TEST_KEY,
        )
        log = root / "helix.log"
        term = Terminal(helix_tools.tmux)
        session = HelixSession(term, workspace, log, helix_tools, env)
        sessions.append(session)
        term.start([str(helix_tools.hx), "-v", "--log", str(log), open], cwd=workspace, env=env)
        session.wait(lambda s: open in s and term.mode() == "NOR", 15, f"{open} open in normal mode")
        if command is None:
            session.wait_initialized()
        return session

    yield start
    for session in sessions:
        session.quit()
