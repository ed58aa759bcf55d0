"""End-to-end fixtures: the real glm-lsp process over stdio (pytest-lsp), the fake provider on 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from pathlib import Path

import pytest
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from tests.clients import PRESETS, capabilities

TEST_KEY = "test-key-lsp-0123456789abcdef"
SHUTDOWN_SECONDS = 5


class Recorder:
    """What the client saw from the server, beyond pytest-lsp's own records."""

    def __init__(self) -> None:
        self.applied_edits: list[types.ApplyWorkspaceEditParams] = []
        self.progress_created: list[str] = []
        self.cancel_progress_on_first_report = False


@pytest.fixture
def workspace(tmp_path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    return root


@pytest.fixture
def lsp(fake, workspace):
    """``async with lsp(preset, init_options=…) as client``: an initialized session."""

    @contextlib.asynccontextmanager
    async def start(
        preset: str = "vscode",
        *,
        init_options: dict | None = None,
        configuration: dict | None = None,
        env: dict | None = None,
        key: str | None = TEST_KEY,
        tweak=None,  # a function that edits the preset's ClientCapabilities
        args: tuple[str, ...] = (),  # more arguments for `glm-lsp serve`
    ):
        server_env = dict(os.environ)
        if key:
            server_env["ZAI_API_KEY"] = key
        server_env.update(env or {})
        config = ClientServerConfig(
            server_command=[sys.executable, "-m", "glm_lsp", "serve", *args], server_env=server_env
        )
        client: LanguageClient = await config.start()
        client.recorder = Recorder()

        @client.feature(types.WORKSPACE_APPLY_EDIT)
        def apply_edit(client: LanguageClient, params: types.ApplyWorkspaceEditParams):
            client.recorder.applied_edits.append(params)
            return types.ApplyWorkspaceEditResult(applied=True)

        if configuration is not None:
            client.set_configuration(configuration, section="glm")
        options = {"baseUrl": fake.url + "/api/paas/v4", "maxRetries": 0}
        options.update(init_options or {})
        caps = capabilities(preset)
        if tweak is not None:
            tweak(caps)
        client.init_result = await client.initialize_session(
            types.InitializeParams(
                capabilities=caps,
                client_info=PRESETS[preset].client_info(),
                initialization_options=options,
                root_uri=workspace.as_uri(),
                workspace_folders=[types.WorkspaceFolder(uri=workspace.as_uri(), name="project")],
            )
        )
        try:
            yield client
        finally:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.shutdown_session(), SHUTDOWN_SECONDS)
            await client.stop()

    return start


def count_configuration_pulls(client: LanguageClient) -> None:
    """Count the server's ``workspace/configuration`` requests in ``client.config_pulls``."""
    client.config_pulls = 0
    features = client.protocol.fm.features
    answer_configuration = features[types.WORKSPACE_CONFIGURATION]

    def counting_configuration(params: types.ConfigurationParams):
        client.config_pulls += 1
        return answer_configuration(params)

    features[types.WORKSPACE_CONFIGURATION] = counting_configuration


def open_doc(client: LanguageClient, workspace: Path, name: str, text: str, language: str = "python", version: int = 1) -> str:
    path = workspace / name
    path.write_text(text, encoding="utf-8", newline="")
    uri = path.as_uri()
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(uri=uri, language_id=language, version=version, text=text)
        )
    )
    return uri


def rng(text: str) -> dict:
    """"1:0-2:5" → an LSP range as JSON."""
    start, end = text.split("-")
    (sl, sc), (el, ec) = (tuple(int(n) for n in p.split(":")) for p in (start, end))
    return {"start": {"line": sl, "character": sc}, "end": {"line": el, "character": ec}}


async def execute(client: LanguageClient, command: str, *arguments, timeout: float = 15):
    params = types.ExecuteCommandParams(command=command, arguments=list(arguments) if arguments else None)
    return await asyncio.wait_for(client.workspace_execute_command_async(params), timeout)


async def until(predicate, timeout: float = 5.0, interval: float = 0.02):
    """Wait (bounded) until ``predicate()`` is true."""
    async def poll():
        while not predicate():
            await asyncio.sleep(interval)

    await asyncio.wait_for(poll(), timeout)
