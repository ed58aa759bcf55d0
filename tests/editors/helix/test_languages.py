"""editors/helix/languages.toml against the Helix 25.01 it is written for.

A user's ``language-servers`` list replaces Helix's built-in one, so the snippet
re-lists every language's default servers; these tests compare them with the
``languages.toml`` compiled into the installed ``hx`` and with what
``hx --health LANG`` resolves from the snippet, so they cannot drift apart.
"""

from __future__ import annotations

import subprocess
import tomllib

import pytest
from pydantic import BaseModel
from pydantic.alias_generators import to_camel

from glm_lsp.settings import Settings
from tests.editors.helix.helix import GLM_FEATURES, SERVER_NAME, SNIPPET, builtin_languages, server_lists

REQUIRED = ["python", "rust", "go", "typescript", "tsx", "javascript", "jsx", "c", "cpp", "java", "lua", "markdown"]
GLM_ENTRY = {"name": SERVER_NAME, "only-features": GLM_FEATURES}


@pytest.fixture(scope="module")
def snippet() -> dict:
    return tomllib.loads(SNIPPET.read_text())


@pytest.fixture(scope="module")
def builtin(helix_tools) -> dict:
    return builtin_languages(helix_tools.hx)


def test_the_server_entry(snippet):
    server = snippet["language-server"][SERVER_NAME]
    assert server["command"] == "glm-lsp"
    assert server["args"] == ["serve"]
    assert server["timeout"] >= 120, "Helix's default of 20 s cuts long streamed edits"
    assert "config" not in server, "settings stay commented examples: a shim sends only what its user set"
    assert set(server) == {"command", "args", "timeout"}


def test_every_required_language_is_there(snippet):
    names = [lang["name"] for lang in snippet["language"]]
    assert len(names) == len(set(names)), "one [[language]] table per language"
    assert set(REQUIRED) <= set(names)


def test_glm_lsp_comes_last_and_only_with_its_features(snippet):
    for lang in snippet["language"]:
        assert set(lang) == {"name", "language-servers"}, f"{lang['name']}: only language-servers is overridden"
        servers = lang["language-servers"]
        assert servers[-1] == GLM_ENTRY, lang["name"]
        assert GLM_ENTRY not in servers[:-1]


def test_each_language_relists_helix_own_defaults_exactly(snippet, builtin):
    defaults = server_lists(builtin)
    known = {lang["name"] for lang in builtin["language"]}
    drift = {}
    for lang in snippet["language"]:
        name = lang["name"]
        assert name in known, f"{name} is not a Helix 25.01 language"
        if lang["language-servers"][:-1] != defaults.get(name, []):
            drift[name] = {"snippet": lang["language-servers"][:-1], "helix": defaults.get(name, [])}
    assert not drift, f"default servers differ from Helix 25.01's languages.toml: {drift}"


def test_helix_resolves_the_snippet_to_the_defaults_plus_glm_lsp(snippet, builtin, helix_tools, tmp_path):
    """``hx --health LANG`` with the snippet as the user's languages.toml (also proves Helix accepts it)."""
    (tmp_path / "helix").mkdir()
    (tmp_path / "helix" / "languages.toml").write_text(SNIPPET.read_text())
    commands = {name: table.get("command") for name, table in builtin["language-server"].items()}
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path), "LANG": "C.UTF-8"}
    for lang in snippet["language"]:
        listed = health_servers(helix_tools.hx, lang["name"], env)
        expected = [commands[s if isinstance(s, str) else s["name"]] for s in lang["language-servers"][:-1]]
        assert listed == expected + ["glm-lsp"], lang["name"]


def test_a_later_language_table_replaces_an_earlier_list(helix_tools, tmp_path):
    """What README says about merging: appending the snippet after your own python table drops your list."""
    mine = '[[language]]\nname = "python"\nlanguage-servers = ["pyright"]\n\n'
    (tmp_path / "helix").mkdir()
    (tmp_path / "helix" / "languages.toml").write_text(mine + SNIPPET.read_text())
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path), "LANG": "C.UTF-8"}
    assert health_servers(helix_tools.hx, "python", env) == ["ruff", "jedi-language-server", "pylsp", "glm-lsp"]


def test_the_commented_config_example_uses_real_setting_names():
    """The ``# [language-server.glm-lsp.config]`` block, uncommented, holds only known settings."""
    lines = SNIPPET.read_text().splitlines()
    start = lines.index(f"# [language-server.{SERVER_NAME}.config]")
    block = []
    for line in lines[start + 1 :]:
        if not line.startswith("# ") or not line[2:3].isalpha():
            break
        block.append(line[2:].split("  #")[0])
    values = tomllib.loads("\n".join(block))
    assert values, "the example block is empty"
    unknown = unknown_keys(Settings, values)
    assert not unknown, f"not glm-lsp settings: {unknown}"
    Settings.model_validate(values)


def unknown_keys(model: type[BaseModel], values: dict, prefix: str = "") -> list[str]:
    fields = {to_camel(name): field for name, field in model.model_fields.items()}
    unknown = []
    for key, value in values.items():
        field = fields.get(key)
        if field is None:
            unknown.append(prefix + key)
        elif isinstance(value, dict) and isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel):
            unknown += unknown_keys(field.annotation, value, f"{prefix}{key}.")
    return unknown


def health_servers(hx, language: str, env: dict) -> list[str]:
    """The commands ``hx --health LANG`` lists under "Configured language servers"."""
    result = subprocess.run([str(hx), "--health", language], env=env, capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stdout + result.stderr
    out, listed, inside = result.stdout, [], False
    for line in out.splitlines():
        if line.startswith("Configured language servers"):
            inside = True
            continue
        if inside:
            if not line.startswith("  "):
                break
            # "  ✘ ruff: 'ruff' not found in $PATH" or "  ✓ ruff: /usr/bin/ruff"
            listed.append(line.strip().split(" ", 1)[1].split(":", 1)[0])
    assert inside, f"no language servers section in hx --health {language}:\n{out}"
    return listed
