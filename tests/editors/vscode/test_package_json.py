"""editors/vscode/package.json against the server: settings, commands, key variables.

The ``glm.*`` settings VS Code contributes must be exactly the server's settings
model (`glm_lsp.settings.Settings`) minus ``apiKey``: same keys (camelCase, dotted),
types, enums, defaults, descriptions and bounds. After changing the model run

    .venv/bin/python -m tests.editors.vscode.settings_schema --write

No editor and no Node needed: this runs everywhere.
"""

from __future__ import annotations

import json
import re
import typing

import pytest

from glm_lsp.features.commands import COMMANDS
from glm_lsp.settings import API_KEY_VARIABLES, GENERIC_KEY_VARIABLE, Settings
from tests.editors.vscode.settings_schema import (
    CHECKED,
    EXTENSION_KEYS,
    PACKAGE_JSON,
    REPO,
    expected,
    provider_descriptions,
)

FIX = "run: .venv/bin/python -m tests.editors.vscode.settings_schema --write"
EXTENSION = REPO / "editors" / "vscode"


@pytest.fixture(scope="module")
def package() -> dict:
    return json.loads(PACKAGE_JSON.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def properties(package) -> dict:
    return package["contributes"]["configuration"]["properties"]


def test_every_server_setting_is_contributed_and_nothing_else(properties):
    server_keys = set(expected())
    assert set(properties) - EXTENSION_KEYS == server_keys, FIX
    assert EXTENSION_KEYS <= set(properties)


def test_walk_covers_the_whole_model():
    """Every leaf of the model is contributed, except apiKey: the walk misses nothing."""

    def leaves(model, prefix=""):
        for name, info in model.model_fields.items():
            annotation = info.annotation
            if isinstance(annotation, type) and hasattr(annotation, "model_fields"):
                yield from leaves(annotation, f"{prefix}{name}.")
            else:
                yield prefix + name

    count = sum(1 for _ in leaves(Settings))
    assert len(expected()) == count - 1  # api_key


@pytest.mark.parametrize("key", sorted(expected()))
def test_setting_matches_the_model(properties, key):
    want = expected()[key]
    got = {field: properties.get(key, {}).get(field) for field in CHECKED if field in properties.get(key, {})}
    assert got == want, f"{key} drifted from glm_lsp.settings; {FIX}"


def test_api_key_is_never_a_setting(properties):
    assert not any("apikey" in key.lower() for key in properties)


def test_enum_descriptions_fit_their_enums(properties):
    for key, entry in properties.items():
        if "enumDescriptions" in entry:
            assert len(entry["enumDescriptions"]) == len(entry["enum"]), key
    assert properties["glm.provider"]["enumDescriptions"] == provider_descriptions(), FIX


def test_settings_have_a_scope_and_an_order(properties):
    for key, entry in properties.items():
        assert entry.get("scope") in {"window", "machine-overridable", "resource", "application"}, key
        assert isinstance(entry.get("description"), str) and entry["description"], key
    assert [entry["order"] for entry in properties.values()] == list(range(len(properties)))


def test_untrusted_workspaces_cannot_redirect_the_server_or_the_key(package, properties):
    restricted = set(package["capabilities"]["untrustedWorkspaces"]["restrictedConfigurations"])
    assert {"glm.server.command", "glm.baseUrl", "glm.provider"} <= restricted
    assert restricted <= set(properties)


def test_palette_commands_cover_every_server_command(package):
    """Each glm.* server command has a palette entry glm-lsp.<same name> titled "GLM: …"."""
    contributed = {c["command"]: c for c in package["contributes"]["commands"]}
    for name in COMMANDS:
        palette = "glm-lsp." + name.removeprefix("glm.")
        assert palette in contributed, palette
        assert contributed[palette]["category"] == "GLM"
    # The server's own command ids are registered by vscode-languageclient: never contributed.
    assert not any(c.startswith("glm.") for c in contributed)
    source = (EXTENSION / "src" / "extension.ts").read_text(encoding="utf-8")
    for palette in contributed:
        assert f'command("{palette}"' in source, f"{palette} is contributed but not registered"


def test_context_menu_lists_the_editing_commands(package):
    menu = {item["command"] for item in package["contributes"]["menus"]["glm-lsp.editorContext"]}
    assert {"glm-lsp.fix", "glm-lsp.rewrite", "glm-lsp.docstring", "glm-lsp.tests", "glm-lsp.explain"} <= menu


def test_key_variables_match_the_server():
    source = (EXTENSION / "src" / "settings.ts").read_text(encoding="utf-8")
    table = dict(re.findall(r'^\s+(\w+): "([A-Z_]+)",$', source, re.MULTILINE))
    assert table == API_KEY_VARIABLES
    assert f'GENERIC_KEY_VARIABLE = "{GENERIC_KEY_VARIABLE}"' in source
    providers = typing.get_args(Settings.model_fields["provider"].annotation)
    assert set(table) == set(providers)


def test_versions_are_pinned_and_locked(package):
    for deps in (package["dependencies"], package["devDependencies"]):
        for name, version in deps.items():
            assert re.fullmatch(r"\d+\.\d+\.\d+", version), f"{name} {version} is not pinned"
    lock = json.loads((EXTENSION / "package-lock.json").read_text(encoding="utf-8"))
    assert lock["packages"][""]["dependencies"] == package["dependencies"]
    tools = json.loads((REPO / "tests" / "editors" / "vscode" / "package.json").read_text(encoding="utf-8"))
    assert tools["dependencies"]["code-server"] == "4.100.3"
    tools_lock = json.loads((REPO / "tests" / "editors" / "vscode" / "package-lock.json").read_text(encoding="utf-8"))
    assert tools_lock["packages"]["node_modules/code-server"]["version"] == "4.100.3"
