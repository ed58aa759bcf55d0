"""Fault-injection fixtures: the real glm-lsp process over stdio, the fake provider, and a survival table.

``lsp`` is the end-to-end session of ``tests/lsp/conftest.py`` with three additions
fault tests need:

* ``client.config_pulls`` counts the server's ``workspace/configuration`` requests, so
  :func:`reconfigure` can wait until a changed setting was actually read;
* the session never hangs the suite: a server that does not exit after
  ``shutdown``/``exit`` is killed (the test that cares asserts on the exit itself);
* proxy variables are removed, so ``127.0.0.1`` and the ``.invalid`` DNS name are
  reached directly, never through a proxy that would answer for them.

Every test parametrized with both ``fault`` and ``feature`` lands in a table printed
at the end of the run (``pytest_terminal_summary``): survived / BUG (strict xfail) / FAIL.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from tests.clients import PRESETS, capabilities
from tests.lsp.conftest import TEST_KEY, count_configuration_pulls, until

SHUTDOWN_SECONDS = 5
EXIT_SECONDS = 10
PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "ws_proxy", "wss_proxy")
CLI_KEY = "Fq8Wm3Zr6Tn1Yp4Kd7Hx"  # random-looking: no 4-character window of it occurs in normal output


# --------------------------------------------------------------------------- environment


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch):
    for name in list(os.environ):
        if name.lower() in PROXY_VARIABLES:
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")


@pytest.fixture
def workspace(tmp_path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    return root


@pytest.fixture
def closed_port() -> int:
    """A local TCP port nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --------------------------------------------------------------------------- the server session


@pytest.fixture
def lsp(fake, workspace):
    """``async with lsp(preset, init_options=…) as client``: an initialized glm-lsp session."""

    @contextlib.asynccontextmanager
    async def start(
        preset: str = "vscode",
        *,
        init_options: dict | None = None,
        configuration: dict | None = None,
        env: dict | None = None,
        key: str | None = TEST_KEY,
        shutdown: bool = True,
    ):
        server_env = dict(os.environ)
        if key:
            server_env["ZAI_API_KEY"] = key
        server_env.update(env or {})
        config = ClientServerConfig(
            server_command=[sys.executable, "-m", "glm_lsp", "serve"], server_env=server_env
        )
        client: LanguageClient = await config.start()
        count_configuration_pulls(client)

        @client.feature(types.WORKSPACE_APPLY_EDIT)
        def apply_edit(params: types.ApplyWorkspaceEditParams):  # replaced by an Editor in most tests
            return types.ApplyWorkspaceEditResult(applied=True)

        if configuration is not None:
            client.set_configuration(configuration, section="glm")
        options = {"baseUrl": fake.url + "/api/paas/v4", "maxRetries": 0}
        options.update(init_options or {})
        try:
            client.init_result = await asyncio.wait_for(client.initialize_session(
                types.InitializeParams(
                    capabilities=capabilities(preset),
                    client_info=PRESETS[preset].client_info(),
                    initialization_options=options,
                    root_uri=workspace.as_uri(),
                    workspace_folders=[types.WorkspaceFolder(uri=workspace.as_uri(), name="project")],
                )
            ), 30)
            if PRESETS[preset].configuration:  # settings from the editor are in before the test starts
                await until(lambda: client.config_pulls >= 1, timeout=10)
                await answer_applied(client)
            yield client
        finally:
            process = client._server
            if shutdown and process is not None and process.returncode is None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(client.shutdown_session(), SHUTDOWN_SECONDS)
            if process is not None and process.returncode is None:
                try:
                    await asyncio.wait_for(process.wait(), EXIT_SECONDS if shutdown else 0.1)
                except (TimeoutError, asyncio.TimeoutError):
                    process.kill()
                    await process.wait()
            await client.stop()

    return start


async def reconfigure(client: LanguageClient, values: dict) -> None:
    """Change the ``glm`` section the editor serves and wait until the server has read it."""
    before = client.config_pulls
    client.set_configuration(values, section="glm")
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=None))
    await until(lambda: client.config_pulls > before, timeout=10)
    await answer_applied(client)


async def answer_applied(client: LanguageClient) -> None:
    """Wait until the server has applied the configuration the client just answered.

    One barrier is not enough: the answer and the barrier's request can arrive in one read,
    and the server answers that (synchronous) hover before it resumes the coroutine that
    awaited the configuration. The second request can only be read after the server's
    loop went idle, so by then the answer is applied."""
    await barrier(client)
    await barrier(client)


async def barrier(client: LanguageClient) -> None:
    """A round trip that says nothing to the user: every notification the server sent
    before its answer has been received (hover on a document nobody opened is None)."""
    params = types.HoverParams(text_document=types.TextDocumentIdentifier(uri="file:///glm-faults/barrier.py"),
                               position=types.Position(0, 0))
    assert await asyncio.wait_for(client.text_document_hover_async(params), 10) is None


def user_messages(client: LanguageClient) -> list[types.ShowMessageParams]:
    """What the user was told, without the Info 'nothing to cancel' our own stuck-task probe causes."""
    return [m for m in client.messages if "nothing to cancel" not in m.message]


# --------------------------------------------------------------------------- the CLI


def run_ask(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """``glm-lsp ask …`` in a subprocess: private cwd and XDG dirs, no GLM_LSP_* or keys inherited."""
    cwd = tmp_path / "cwd"
    cwd.mkdir(exist_ok=True)
    child = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("GLM_LSP_") and not name.endswith("_API_KEY") and name != "GLM_API_KEY"
    }
    for name in ("XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME"):
        (tmp_path / name.lower()).mkdir(exist_ok=True)
        child[name] = str(tmp_path / name.lower())
    child.update(env or {})
    done = subprocess.run(
        [sys.executable, "-m", "glm_lsp", "ask", *args],
        cwd=cwd, env=child, stdin=subprocess.DEVNULL, capture_output=True, timeout=60,
    )
    done.stdout = done.stdout.decode("utf-8", errors="replace")
    done.stderr = done.stderr.decode("utf-8", errors="replace")
    return done


# --------------------------------------------------------------------------- the survival table

_OUTCOMES: dict[tuple[str, str], str] = {}
_FAULT_ORDER: list[str] = []
_FEATURE_ORDER: list[str] = []


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    params = getattr(getattr(item, "callspec", None), "params", {})
    if "fault" not in params or "feature" not in params:
        return
    fault, feature = str(params["fault"]), str(params["feature"])
    if fault not in _FAULT_ORDER:
        _FAULT_ORDER.append(fault)
    if feature not in _FEATURE_ORDER:
        _FEATURE_ORDER.append(feature)
    key = (fault, feature)
    if report.when == "call" or (report.when == "setup" and not report.passed):
        if hasattr(report, "wasxfail"):
            state = "BUG(xfail)" if report.skipped else "FAIL(xpass)"
        elif report.passed:
            state = "survived"
        elif report.skipped:
            state = "skipped"
        else:
            state = "FAIL"
        _OUTCOMES[key] = state
    elif report.when == "teardown" and report.failed:
        _OUTCOMES[key] = "FAIL(teardown)"


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if not _OUTCOMES:
        return
    faults = [f for f in _FAULT_ORDER if any((f, x) in _OUTCOMES for x in _FEATURE_ORDER)]
    features = [x for x in _FEATURE_ORDER if any((f, x) in _OUTCOMES for f in faults)]
    width = max(len("fault \\ feature"), *(len(f) for f in faults))
    cell = max(12, *(len(x) for x in features), *(len(v) for v in _OUTCOMES.values()))
    terminalreporter.write_sep("=", "provider faults: did each feature survive?")
    terminalreporter.write_line("fault \\ feature".ljust(width) + " | " + " | ".join(x.ljust(cell) for x in features))
    terminalreporter.write_line("-" * width + "-+-" + "-+-".join("-" * cell for _ in features))
    for fault in faults:
        row = [_OUTCOMES.get((fault, x), "-").ljust(cell) for x in features]
        terminalreporter.write_line(fault.ljust(width) + " | " + " | ".join(row))
    counts: dict[str, int] = {}
    for state in _OUTCOMES.values():
        counts[state] = counts.get(state, 0) + 1
    terminalreporter.write_line("totals: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
