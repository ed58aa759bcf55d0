"""Run the real ``glm-lsp`` in a subprocess against the fake provider, in a controlled environment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

KEY = "Zq7Xv2Lp9Wd4Rk8Tn3Hy"  # random-looking, so no 4-character window of it occurs in normal output
ZAI_PATH = "/api/paas/v4"
RESTORE_SIGINT = "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); os.execv(sys.argv[1], sys.argv[1:])"


def child_env(extra: dict[str, str] | None = None, *, xdg: Path) -> dict[str, str]:
    """os.environ without glm-lsp settings or keys, a private config dir, 127.0.0.1 never proxied."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("GLM_LSP_") and not name.endswith("_API_KEY") and name != "GLM_API_KEY"
    }
    env["XDG_CONFIG_HOME"] = str(xdg)
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    env.update(extra or {})
    return env


class Cli:
    """``cli.run(*args, env={...})``: glm-lsp in a subprocess with cwd and XDG config in tmp dirs."""

    def __init__(self, tmp_path: Path) -> None:
        self.cwd = tmp_path / "cwd"
        self.xdg = tmp_path / "xdg"
        self.cwd.mkdir()
        self.xdg.mkdir()

    def argv(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "glm_lsp", *args]

    def env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        return child_env(extra, xdg=self.xdg)

    def run(self, *args: str, env: dict[str, str] | None = None, input: str | None = None) -> subprocess.CompletedProcess:
        done = subprocess.run(
            self.argv(*args),
            cwd=self.cwd,
            env=self.env(env),
            input=(input or "").encode(),
            capture_output=True,
            timeout=60,
        )
        done.stdout = done.stdout.decode("utf-8")
        done.stderr = done.stderr.decode("utf-8")
        return done

    def popen(self, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
        """The command, running: with Ctrl-C (SIGINT) at its default even when this test
        run was started in the background (``cmd &`` in a script), which ignores SIGINT
        for itself and its children. The exec keeps the default; Python then handles it."""
        return subprocess.Popen(
            [sys.executable, "-c", RESTORE_SIGINT, *self.argv(*args)],
            cwd=self.cwd,
            env=self.env(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )


@pytest.fixture
def cli(tmp_path) -> Cli:
    return Cli(tmp_path)


@pytest.fixture
def zai_url(fake) -> str:
    return fake.url + ZAI_PATH
