"""initialize, initialized, workspace/didChangeConfiguration, shutdown: settings from the editor.

``initializationOptions`` is the settings object. After ``initialized`` the server asks
``workspace/configuration`` for section ``glm`` (and again on every
``didChangeConfiguration``); requests that need settings wait for that first answer.
A bad value: one ``window/showMessage`` naming the key and the allowed values, and the
last good settings stay.
"""

from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import unquote, urlparse

from lsprotocol import types

log = logging.getLogger(__name__)


def register(server) -> None:
    state = server.state

    @server.feature(types.INITIALIZE)
    def initialize(params: types.InitializeParams) -> None:
        """Keep what later handlers need; pygls builds the capabilities."""
        options = params.initialization_options
        state.init_options = options if isinstance(options, dict) else None
        state.root = _root_path(params)
        state.encoding = str(server.workspace.position_encoding or "utf-16")
        state.client_info = params.client_info

    @server.feature(types.INITIALIZED)
    async def initialized(params: types.InitializedParams) -> None:
        """Load settings: files and environment, initializationOptions, then the editor's section."""
        try:
            live = state.ensure_live()
            if live.startup_error:
                _show_settings_error(server, live.startup_error)
            _warn_if_project_redirects(server, live)
            if state.init_options is not None:
                _apply(server, "initializationOptions", state.init_options)
            if _supports_configuration(server):
                await _pull_configuration(server)
        finally:
            state.settings_ready.set()

    @server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    async def did_change_configuration(params: types.DidChangeConfigurationParams) -> None:
        """Re-read settings; they apply to the next request, no restart."""
        if _supports_configuration(server) and await _pull_configuration(server):
            return
        values = params.settings  # Helix answers the pull with null but sends its config here
        if isinstance(values, dict) and isinstance(values.get("glm"), dict):
            values = values["glm"]
        if isinstance(values, dict):
            _apply(server, "workspace/configuration", values)

    @server.feature(types.SHUTDOWN)
    async def shutdown(params: None = None) -> None:
        await state.stop()


async def _pull_configuration(server) -> bool:
    """Ask for section ``glm``; False when the client had nothing (null) to give."""
    state = server.state
    root_uri = state.root.as_uri() if state.root else None
    try:
        result = await server.workspace_configuration_async(
            types.ConfigurationParams(items=[types.ConfigurationItem(section="glm", scope_uri=root_uri)])
        )
    except Exception as exc:  # a client error must not stop the server from starting
        log.warning("workspace/configuration failed: %s", exc)
        return False
    values = result[0] if result else None
    if isinstance(values, dict):
        _apply(server, "workspace/configuration", values)
        return True
    return False


def _apply(server, layer: str, values: dict) -> None:
    live = server.state.ensure_live()
    error = live.update(layer, values)
    if error is not None:
        _show_settings_error(server, error)
    for key in live.current.unknown_keys:
        log.info("ignoring unknown setting %s", key)


def _warn_if_project_redirects(server, live) -> None:
    """A cloned repository's .glm-lsp.toml could send the user's key elsewhere: say so."""
    origins = live.current.origins
    moved = [key for key in ("base_url", "provider") if origins.get(key, "").startswith("project config")]
    if moved:
        settings = live.settings
        server.window_show_message(types.ShowMessageParams(
            type=types.MessageType.Warning,
            message=f"glm-lsp: this workspace's .glm-lsp.toml sets {' and '.join(moved)}: requests and your "
                    f"{settings.key_variable()} key go to {settings.effective_base_url}. Remove it from "
                    ".glm-lsp.toml if you do not trust this project.",
        ))


def _show_settings_error(server, error) -> None:
    log.warning("%s", error)
    server.window_show_message(
        types.ShowMessageParams(
            type=types.MessageType.Error,
            message=f"glm-lsp: {error} Keeping the last good settings.",
        )
    )


def _supports_configuration(server) -> bool:
    workspace = server.client_capabilities.workspace
    return bool(workspace and workspace.configuration)


def _root_path(params: types.InitializeParams) -> Path | None:
    uri = None
    if params.workspace_folders:
        uri = params.workspace_folders[0].uri
    uri = uri or params.root_uri
    if uri and uri.startswith("file:"):
        return Path(unquote(urlparse(uri).path))
    if params.root_path:
        return Path(params.root_path)
    return None
