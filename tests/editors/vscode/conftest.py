"""Fixtures for the real-VS Code tests: one code-server per module, driven in headless chromium.

``vscode_tools`` (session) runs ``install.sh`` (skipped with the reason when chromium
cannot be installed). ``vscode`` (module) makes a private network namespace, starts
the fake provider inside it, installs the ``.vsix`` into a fresh code-server whose
user settings point ``glm.server.command`` at this checkout's server and
``glm.baseUrl`` at the fake, and opens the workspace in chromium. Each test gets the
fake with an empty script (``timed``), and a screenshot of the page when it fails.
Timings are printed at the end of the run.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.editors.vscode.codeserver import (
    CHROMIUM,
    SCREENSHOTS,
    VSIX,
    CodeServer,
    Driver,
    InstallError,
    NetNS,
    install,
)
from tests.fake_glm import FakeGLM

TEST_KEY = "test-key"
# The server's own log (-vv: each completion request's fate) goes to a file that explain() shows.
SERVER_LOG = Path(tempfile.gettempdir()) / f"glm-lsp-vscode-tests-{os.getpid()}.log"
SERVER = [sys.executable, "-m", "glm_lsp", "serve", "-vv", "--log-file", str(SERVER_LOG)]
KEY_VARIABLES = ("ZAI_API_KEY", "BIGMODEL_API_KEY", "OXEN_API_KEY", "RUNWARE_API_KEY", "OPENAI_API_KEY", "GLM_API_KEY")
TIMINGS: dict[str, float] = {}
NOTES: list[str] = []


@pytest.fixture(scope="session")
def vscode_tools() -> None:
    if sys.platform != "linux" or platform.machine() != "x86_64":
        pytest.skip("the VS Code tests use Debian's chromium and code-server's linux-x64 build")
    node = shutil.which("node")
    if node is None:
        pytest.skip("the VS Code tests need Node 20 (code-server 4.100.3) on PATH")
    version = subprocess.run([node, "--version"], capture_output=True, text=True).stdout.strip()
    if not version.startswith("v20."):
        pytest.skip(f"the VS Code tests need Node 20 for code-server 4.100.3; found {version}")
    started = time.monotonic()
    try:
        install()
    except InstallError as exc:
        if not CHROMIUM.exists():
            pytest.skip(f"chromium could not be installed (apt-get install chromium needs root and the "
                        f"Debian mirror); run tests/editors/vscode/install.sh as root. {str(exc)[-800:]}")
        raise
    TIMINGS["install.sh (already installed: fast)"] = time.monotonic() - started


@dataclass
class VSCode:
    """The running editor: ``driver`` drives the page, ``server`` is code-server, ``fake`` the provider."""

    server: CodeServer
    driver: Driver
    fake: FakeGLM
    netns: NetNS
    settings: dict

    @property
    def project(self) -> Path:
        return self.server.project

    def call(self, op: str, timeout: float | None = None, **params):
        return self.driver.call(op, timeout=timeout, **params)

    def open(self, name: str) -> None:
        """Open the project file ``name`` in an editor with the focus."""
        self.call("open", path=str(self.project / name))

    def ghost_text(self) -> str:
        """The inline suggestion drawn in the editor ("" when none)."""
        return "".join(self.call("texts", selector=".monaco-editor .ghost-text-decoration, "
                                 ".monaco-editor .ghost-text")).replace("\u00a0", " ")

    def wait_ghost_text(self, text: str, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while (shown := self.ghost_text()) != text:
            if time.monotonic() > deadline:
                raise AssertionError(f"ghost text {shown!r}, wanted {text!r}\n{self.explain()}")
            time.sleep(0.05)

    def ready(self) -> None:
        """Wait for the server: a keystroke before it runs gets no completion request at all."""
        self.wait_log("is running", timeout=60)

    def type_for_ghost_text(self, text: str, attempts: int = 4) -> None:
        """Type ``text`` so that VS Code asks the server for an inline completion.

        For a second or two after the language client starts, VS Code's renderer does not
        yet know the client's inline completion provider and a keystroke asks nothing (seen
        on this machine: no request reaches the server). A user just types on; the test
        undoes the keystroke and types it again, up to ``attempts`` times, and says so.
        """
        for attempt in range(attempts):
            asked = self.server_log().count("inlineCompletion ")
            self.call("type", text=text)
            deadline = time.monotonic() + 3
            while time.monotonic() < deadline:
                if self.server_log().count("inlineCompletion ") > asked:
                    if attempt:
                        NOTES.append(f"VS Code asked for an inline completion at keystroke {attempt + 1}")
                    return
                time.sleep(0.05)
            self.call("press", keys=["Backspace"] * len(text))
        raise AssertionError(f"VS Code never asked for an inline completion after {attempts} keystrokes\n"
                             f"{self.explain()}")

    def server_log(self) -> str:
        return SERVER_LOG.read_text(errors="replace") if SERVER_LOG.exists() else ""

    def wait_log(self, text: str, timeout: float = 30) -> str:
        """Wait until the GLM output channel (on disk) contains ``text``."""
        deadline = time.monotonic() + timeout
        while text not in (log := self.server.glm_log()):
            if time.monotonic() > deadline:
                raise AssertionError(f"GLM log never showed {text!r}:\n{log[-3000:]}\n{self.explain()}")
            time.sleep(0.1)
        return log

    def screenshot(self, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        return Path(self.call("screenshot", path=str(SCREENSHOTS / name)))

    def explain(self) -> str:
        """Everything useful when an assertion fails."""
        try:
            notes = self.call("notifications")
        except Exception as exc:  # the page may be gone
            notes = repr(exc)
        server_log = self.server_log() or "(empty)"
        return (f"notifications: {notes}\n--- GLM log\n{self.server.glm_log()[-4000:]}\n"
                f"--- server log ({SERVER_LOG})\n{server_log[-4000:]}\n"
                f"--- code-server log\n{self.server.log_path.read_text(errors='replace')[-2000:]}")


def user_settings(fake: FakeGLM) -> dict:
    return {
        "glm.server.command": SERVER,
        "glm.baseUrl": fake.url + "/api/paas/v4",
        "glm.maxRetries": 0,
        # Quiet, deterministic editor: no suggest widget over the ghost text, no tours.
        "editor.quickSuggestions": {"other": "off", "comments": "off", "strings": "off"},
        "editor.suggestOnTriggerCharacters": False,
        "editor.inlineSuggest.enabled": True,
        "workbench.startupEditor": "none",
        "workbench.tips.enabled": False,
        "workbench.enableExperiments": False,
        "workbench.editor.enablePreview": False,
        "security.workspace.trust.enabled": False,
        "telemetry.telemetryLevel": "off",
        "update.mode": "none",
        "extensions.autoCheckUpdates": False,
        "extensions.autoUpdate": False,
        "chat.commandCenter.enabled": False,
        "files.autoSave": "off",
        "window.restoreWindows": "none",
    }


@pytest.fixture(scope="module")
def vscode(vscode_tools, tmp_path_factory):
    started = time.monotonic()
    netns = NetNS()
    if not netns.isolated:
        NOTES.append(f"VS Code tests ran without network isolation ({netns.reason})")
    fake = netns.run_inside(lambda: FakeGLM().start())
    env = {k: v for k, v in os.environ.items() if not k.startswith("GLM_LSP_") and k not in KEY_VARIABLES}
    env["ZAI_API_KEY"] = TEST_KEY
    # A server setting from the environment: it must survive, since the extension sends
    # only what the user set (never VS Code's copy of the default, thinking = auto).
    env["GLM_LSP_THINKING"] = "disabled"
    # "GLM: Install glm-lsp" runs pip, which cannot reach PyPI from the private network:
    # fail at once instead of retrying for 10 s.
    env |= {"PIP_RETRIES": "0", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    # No glm-lsp on PATH (CI activates the venv): the extension must find the server
    # through glm.server.command, and without it must say that glm-lsp is missing.
    env["PATH"] = os.pathsep.join(d for d in env.get("PATH", "").split(os.pathsep)
                                  if d and not (Path(d) / "glm-lsp").exists())
    settings = user_settings(fake)
    root = tmp_path_factory.mktemp("vscode")
    server = CodeServer(root, netns, env, settings)
    driver = None
    try:
        t = time.monotonic()
        server.install_extension(VSIX)
        TIMINGS["code-server --install-extension glm-lsp.vsix"] = time.monotonic() - t
        t = time.monotonic()
        server.start()
        TIMINGS["code-server start"] = time.monotonic() - t
        driver = Driver(netns, server.env, root / "driver.log")
        t = time.monotonic()
        driver.call("launch", url=server.url, timeout=90)
        TIMINGS["chromium: workbench loaded"] = time.monotonic() - t
        editor = VSCode(server, driver, fake, netns, settings)
        TIMINGS["vscode fixture total"] = time.monotonic() - started
        yield editor
    finally:
        if driver is not None:
            driver.close()
        server.stop()
        fake.stop()
        netns.close()
        SERVER_LOG.unlink(missing_ok=True)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture
def timed(request, vscode):
    """A fresh fake script; the test's duration recorded; on failure, a screenshot of the page."""
    vscode.fake.reset()
    started = time.monotonic()
    yield
    TIMINGS[request.node.name] = time.monotonic() - started
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        try:
            path = vscode.screenshot(f"failed-{request.node.name}.png")
            report.sections.append(("screenshot", str(path)))
        except Exception:  # the page may be gone
            pass


def pytest_terminal_summary(terminalreporter):
    if TIMINGS or NOTES:
        terminalreporter.section("VS Code editor tests: seconds")
        for name, seconds in TIMINGS.items():
            terminalreporter.write_line(f"{seconds:7.2f}  {name}")
        for note in NOTES:
            terminalreporter.write_line(note)
