"""Shared fixtures: the fake GLM provider on 127.0.0.1 and a clean settings environment."""

from __future__ import annotations

import os

import pytest

from tests.fake_glm import FakeGLM

KEY_VARIABLES = ("ZAI_API_KEY", "BIGMODEL_API_KEY", "OXEN_API_KEY", "RUNWARE_API_KEY", "OPENAI_API_KEY", "GLM_API_KEY")


@pytest.fixture(scope="session")
def fake_server():
    with FakeGLM() as server:
        yield server


@pytest.fixture
def fake(fake_server):
    """The fake provider with an empty script and no recorded requests."""
    fake_server.reset()
    yield fake_server
    fake_server.reset()


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch, tmp_path_factory):
    """No test reads the developer's own config, keys or GLM_LSP_* variables."""
    for name in list(os.environ):
        if name.startswith("GLM_LSP_") or name in KEY_VARIABLES:
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("xdg-config")))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg-cache")))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path_factory.mktemp("xdg-data")))
