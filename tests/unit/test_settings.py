"""glm_lsp.settings: defaults, base URLs, every source and its precedence, bad values, API keys."""

from __future__ import annotations

import pytest

from glm_lsp import settings as s
from glm_lsp.errors import MissingApiKeyError, SettingsError
from glm_lsp.settings import Layer

ALL_KEY_VARIABLES = ("ZAI_API_KEY", "BIGMODEL_API_KEY", "OXEN_API_KEY", "RUNWARE_API_KEY", "GLM_API_KEY")


def settings_of(*values: dict, env: dict | None = None) -> s.Settings:
    layers = [Layer(f"layer{i}", v) for i, v in enumerate(values)]
    return s.resolve(layers, env=env or {}).settings


# --------------------------------------------------------------------------- defaults


def test_default_provider_is_zai():
    assert settings_of().provider == "zai"


@pytest.mark.parametrize("provider,base,model,wire,url", [
    ("zai", "https://api.z.ai/api/paas/v4", "glm-5.1", "glm-5.1", "https://api.z.ai/api/paas/v4/chat/completions"),
    ("bigmodel", "https://open.bigmodel.cn/api/paas/v4", "glm-5.1", "glm-5.1",
     "https://open.bigmodel.cn/api/paas/v4/chat/completions"),
    ("oxen", "https://hub.oxen.ai/api/ai", "zai-org-glm-5-1", "zai-org-glm-5-1",
     "https://hub.oxen.ai/api/ai/chat/completions"),
    ("runware", "https://api.runware.ai/v1", "zai-glm-5-1", "zai:glm@5.1", "https://api.runware.ai/v1"),
])
def test_provider_defaults(provider, base, model, wire, url):
    settings = settings_of({"provider": provider})
    assert settings.effective_base_url == base
    assert settings.effective_model == model
    assert s.wire_model(settings) == wire
    assert s.chat_url(settings) == url


def test_runware_other_air_ids_pass_through():
    assert s.wire_model(settings_of({"provider": "runware", "model": "acme:thing@3"})) == "acme:thing@3"


def test_openai_has_no_default_base_url():
    settings = settings_of({"provider": "openai"})
    assert settings.effective_base_url is None
    with pytest.raises(SettingsError, match="baseUrl") as caught:
        s.chat_url(settings)
    assert caught.value.key == "baseUrl"


def test_openai_with_base_url_appends_chat_path():
    settings = settings_of({"provider": "openai", "baseUrl": "http://localhost:8000/v1"})
    assert s.chat_url(settings) == "http://localhost:8000/v1/chat/completions"


# --------------------------------------------------------------------------- base URL


@pytest.mark.parametrize("pasted", [
    "https://h.example/api/v4",
    "https://h.example/api/v4/",
    "https://h.example/api/v4///",
    "https://h.example/api/v4/chat/completions",
    "https://h.example/api/v4/chat/completions/",
    "  https://h.example/api/v4 \n",
    "\thttps://h.example/api/v4/chat/completions/  ",
])
@pytest.mark.parametrize("provider,url", [
    ("zai", "https://h.example/api/v4/chat/completions"),
    ("openai", "https://h.example/api/v4/chat/completions"),
    ("runware", "https://h.example/api/v4"),
])
def test_pasted_base_urls_give_a_correct_chat_url(pasted, provider, url):
    assert s.normalize_base_url(pasted) == "https://h.example/api/v4"
    assert s.chat_url(settings_of({"provider": provider, "baseUrl": pasted})) == url


@pytest.mark.parametrize("bad", ["api.z.ai/api/paas/v4", "ftp://api.z.ai/v4", "localhost:8000/v1"])
def test_non_http_base_url_is_a_settings_error(bad):
    with pytest.raises(SettingsError) as caught:
        settings_of({"baseUrl": bad})
    assert caught.value.key == "baseUrl"
    assert "baseUrl" in str(caught.value) and bad in str(caught.value)


def test_blank_base_url_means_the_default():
    assert settings_of({"baseUrl": "   "}).effective_base_url == "https://api.z.ai/api/paas/v4"


# --------------------------------------------------------------------------- sources and precedence


@pytest.fixture
def sources(tmp_path, monkeypatch):
    """Paths of the three TOML sources; user config under a private XDG_CONFIG_HOME."""
    xdg = tmp_path / "xdg"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(xdg))
    user = xdg / "glm-lsp" / "config.toml"
    user.parent.mkdir(parents=True)
    root = tmp_path / "project"
    root.mkdir()
    return {"user": user, "root": root, "project": root / ".glm-lsp.toml", "config": tmp_path / "extra.toml"}


# lowest first, as in DESIGN.md "Settings"
ORDER = ["user", "project", "environment", "initializationOptions", "workspace/configuration", "command line"]


def load_with(sources, monkeypatch, set_in: dict[str, dict], config_file: bool = False) -> s.Resolved:
    """``set_in`` maps a source to its values (snake_case for files, env and cli; camelCase for LSP)."""
    for name in ("user", "project", "config"):
        if name in set_in:
            sources[name].write_text(toml(set_in[name]), encoding="utf-8")
    for var, value in set_in.get("environment", {}).items():
        monkeypatch.setenv(var, value)
    return s.load(
        workspace_root=sources["root"],
        config_file=sources["config"] if config_file else None,
        init_options=set_in.get("initializationOptions"),
        workspace_config=set_in.get("workspace/configuration"),
        cli=set_in.get("command line"),
    )


def toml(values: dict) -> str:
    """A tiny TOML writer: top-level scalars, then one table per nested dict."""
    def scalar(v):
        return f'"{v}"' if isinstance(v, str) else str(v).lower() if isinstance(v, bool) else str(v)
    top = [f"{k} = {scalar(v)}" for k, v in values.items() if not isinstance(v, dict)]
    tables = [f"[{k}]\n" + "\n".join(f"{kk} = {scalar(vv)}" for kk, vv in v.items())
              for k, v in values.items() if isinstance(v, dict)]
    return "\n".join(top) + "\n\n" + "\n\n".join(tables) + "\n"


def model_in(source: str) -> dict:
    value = f"model-from-{source.split('/')[0]}"
    return {"environment": {"GLM_LSP_MODEL": value}}.get(source, {"model": value})


@pytest.mark.parametrize("count", range(1, len(ORDER) + 1), ids=ORDER)
def test_each_later_source_wins(sources, monkeypatch, count):
    chosen = ORDER[:count]
    resolved = load_with(sources, monkeypatch, {name: model_in(name) for name in chosen})
    winner = chosen[-1]
    assert resolved.settings.model == f"model-from-{winner.split('/')[0]}"
    origin = resolved.origins["model"]
    expected = {"user": f"user config {sources['user']}", "project": f"project config {sources['project']}"}
    assert origin == expected.get(winner, winner)


def test_config_file_beats_user_config_and_loses_to_environment(sources, monkeypatch):
    resolved = load_with(sources, monkeypatch, {"user": {"model": "u", "thinking": "enabled"},
                                                "config": {"model": "c", "thinking": "disabled"},
                                                "environment": {"GLM_LSP_MODEL": "e"}}, config_file=True)
    assert resolved.settings.model == "e" and resolved.origins["model"] == "environment"
    assert resolved.settings.thinking == "disabled"
    assert resolved.origins["thinking"] == f"config file {sources['config']}"


def test_config_file_beats_project_file(sources, monkeypatch):
    resolved = load_with(sources, monkeypatch, {"project": {"model": "p"}, "config": {"model": "c"}},
                         config_file=True)
    assert resolved.settings.model == "c"


def test_missing_config_file_is_an_error_naming_it(sources, monkeypatch):
    with pytest.raises(SettingsError, match="extra.toml"):
        load_with(sources, monkeypatch, {}, config_file=True)


def test_nested_keys_merge_across_sources(sources, monkeypatch):
    resolved = load_with(sources, monkeypatch, {
        "user": {"completion": {"debounce_ms": 100, "max_tokens": 50}},
        "project": {"completion": {"items": "never"}},
        "environment": {"GLM_LSP_COMPLETION__DEBOUNCE_MS": "7"},
        "initializationOptions": {"completion": {"debounceMs": 5}},
    })
    completion = resolved.settings.completion
    assert (completion.debounce_ms, completion.max_tokens, completion.items) == (5, 50, "never")
    assert resolved.origins["completion.debounce_ms"] == "initializationOptions"
    assert resolved.origins["completion.max_tokens"] == f"user config {sources['user']}"
    assert resolved.origins["completion.items"] == f"project config {sources['project']}"


def test_nested_environment_variable(sources, monkeypatch):
    resolved = load_with(sources, monkeypatch, {"environment": {"GLM_LSP_COMPLETION__DEBOUNCE_MS": "7",
                                                                "GLM_LSP_EDITS__STREAM": "false"}})
    assert resolved.settings.completion.debounce_ms == 7 and resolved.settings.edits.stream is False
    assert resolved.origins["completion.debounce_ms"] == "environment"


def test_glm_table_in_toml_is_accepted(sources, monkeypatch):
    sources["project"].write_text('[glm]\nmodel = "in-glm-table"\n', encoding="utf-8")
    assert load_with(sources, monkeypatch, {}).settings.model == "in-glm-table"


@pytest.mark.parametrize("source", ["user", "project", "config", "initializationOptions",
                                    "workspace/configuration", "command line"])
@pytest.mark.parametrize("spelling", ["camel", "snake"])
def test_both_spellings_accepted_in_every_source(sources, monkeypatch, source, spelling):
    values = ({"maxConcurrentRequests": 3, "completion": {"debounceMs": 9}} if spelling == "camel"
              else {"max_concurrent_requests": 3, "completion": {"debounce_ms": 9}})
    resolved = load_with(sources, monkeypatch, {source: values}, config_file=source == "config")
    assert resolved.settings.max_concurrent_requests == 3
    assert resolved.settings.completion.debounce_ms == 9
    assert resolved.unknown_keys == []


@pytest.mark.parametrize("source", ["user", "project", "initializationOptions", "workspace/configuration"])
def test_unknown_keys_are_ignored_and_listed(sources, monkeypatch, source):
    values = {"model": "m", "fooBar": 1, "completion": {"zzzTop": 2, "max_tokens": 64}}
    resolved = load_with(sources, monkeypatch, {source: values})
    assert resolved.settings.model == "m" and resolved.settings.completion.max_tokens == 64
    assert sorted(resolved.unknown_keys) == ["completion.zzzTop", "fooBar"]


def test_null_means_unset():
    resolved = s.resolve([
        Layer("first", {"model": "kept", "temperature": 0.3, "completion": {"debounceMs": 40}}),
        Layer("second", {"model": None, "temperature": None, "completion": {"debounceMs": None}, "topP": None}),
    ], env={})
    assert resolved.settings.model == "kept" and resolved.settings.temperature == 0.3
    assert resolved.settings.completion.debounce_ms == 40 and resolved.settings.top_p is None
    assert resolved.origins["model"] == "first" and "top_p" not in resolved.origins


# --------------------------------------------------------------------------- bad values


@pytest.mark.parametrize("values,key,bad,allowed", [
    ({"provider": "foo"}, "provider", "foo", ["zai", "bigmodel", "oxen", "runware", "openai"]),
    ({"completion": {"debounceMs": -1}}, "completion.debounceMs", "-1", ["0", "5000"]),
    ({"completion": {"debounce_ms": "abc"}}, "completion.debounceMs", "abc", ["0", "5000"]),
    ({"thinking": "sometimes"}, "thinking", "sometimes", ["auto", "enabled", "disabled"]),
    ({"temperature": 5}, "temperature", "5", ["0", "2"]),
    ({"edits": {"stream": "maybe"}}, "edits.stream", "maybe", ["true", "false"]),
    ({"context": {"exclude": 3}}, "context.exclude", "3", ["list"]),
    ({"maxConcurrentRequests": 0}, "maxConcurrentRequests", "0", ["1", "64"]),
    ({"max_concurrent_requests": 65}, "maxConcurrentRequests", "65", ["1", "64"]),
    ({"completion": {"items": "sometimes"}}, "completion.items", "sometimes", ["auto", "always", "never"]),
])
def test_bad_value_names_key_value_allowed_and_origin(values, key, bad, allowed):
    with pytest.raises(SettingsError) as caught:
        s.resolve([Layer("the-first-layer", {"model": "x"}), Layer("my-editor-layer", values)], env={})
    message = str(caught.value)
    assert caught.value.key == key
    assert key in message and "my-editor-layer" in message
    after_value = message.split(bad, 1)[1]  # the value is named, and what is allowed follows it
    assert all(word in after_value.lower() for word in allowed), message


def test_bad_value_from_a_file_names_the_file(sources, monkeypatch):
    with pytest.raises(SettingsError) as caught:
        load_with(sources, monkeypatch, {"user": {"thinking": "auto"}, "project": {"thinking": "sometimes"}})
    assert "thinking" in str(caught.value) and str(sources["project"]) in str(caught.value)


@pytest.mark.parametrize("value", [20240917123456789, ["sk-live-Zq7Xv2Lp9Wd4"]], ids=["number", "list"])
def test_bad_api_key_value_is_not_shown(value):
    with pytest.raises(SettingsError) as caught:
        s.resolve([Layer("user config", {"apiKey": value})], env={})
    secret = str(value[0] if isinstance(value, list) else value)
    assert secret[-8:] not in str(caught.value) and secret[-8:] not in repr(caught.value.value)


@pytest.mark.parametrize("which", ["user", "project", "config"])
def test_broken_toml_names_the_file(sources, monkeypatch, which):
    sources[which].write_text('model = "unterminated\n[completion\n', encoding="utf-8")
    with pytest.raises(SettingsError) as caught:
        load_with(sources, monkeypatch, {}, config_file=which == "config")
    assert str(sources[which]) in str(caught.value)


# --------------------------------------------------------------------------- API key


@pytest.mark.parametrize("provider,variable", [
    ("zai", "ZAI_API_KEY"), ("bigmodel", "BIGMODEL_API_KEY"), ("oxen", "OXEN_API_KEY"), ("runware", "RUNWARE_API_KEY"),
])
class TestApiKey:
    def test_from_the_provider_variable(self, provider, variable):
        env = {v: f"wrong-{v}" for v in ALL_KEY_VARIABLES if v not in (variable, "GLM_API_KEY")}
        resolved = s.resolve([Layer("x", {"provider": provider})], env={**env, variable: "  right-key \n"})
        assert s.require_api_key(resolved.settings) == "right-key"
        assert resolved.origins["api_key"] == f"environment {variable}"

    def test_generic_variable_is_the_fallback(self, provider, variable):
        resolved = s.resolve([Layer("x", {"provider": provider})], env={"GLM_API_KEY": "generic", variable: ""})
        assert s.require_api_key(resolved.settings) == "generic"
        assert resolved.origins["api_key"] == "environment GLM_API_KEY"

    def test_provider_variable_beats_generic(self, provider, variable):
        resolved = s.resolve([Layer("x", {"provider": provider})], env={"GLM_API_KEY": "generic", variable: "own"})
        assert s.require_api_key(resolved.settings) == "own"

    def test_explicit_setting_beats_environment(self, provider, variable):
        resolved = s.resolve([Layer("x", {"provider": provider}), Layer("initializationOptions", {"apiKey": "set"})],
                             env={"GLM_API_KEY": "generic", variable: "own"})
        assert s.require_api_key(resolved.settings) == "set"
        assert resolved.origins["api_key"] == "initializationOptions"

    def test_missing_key_names_the_variable(self, provider, variable):
        others = {v: "other" for v in ALL_KEY_VARIABLES if v not in (variable, "GLM_API_KEY")}
        settings = s.resolve([Layer("x", {"provider": provider})], env=others).settings
        with pytest.raises(MissingApiKeyError) as caught:
            s.require_api_key(settings)
        assert variable in str(caught.value) and "GLM_API_KEY" in str(caught.value)


def test_openai_needs_no_key():
    settings = settings_of({"provider": "openai", "baseUrl": "http://localhost:8000/v1"})
    assert s.require_api_key(settings) == ""


@pytest.mark.parametrize("key", ["k", "abc", "sk-12345", "Zq7Xv2Lp9Wd", "Zq7Xv2Lp9Wd4", "sk-Zq7Xv2Lp9Wd4Rk8Tn3Hy",
                                 "0123456789" * 10])
def test_mask_key_shows_at_most_two_characters(key):
    masked = s.mask_key(key)
    assert masked and key not in masked
    assert not any(key[i : i + 3] in masked for i in range(len(key) - 2)), masked


@pytest.mark.parametrize("key", [None, ""])
def test_mask_key_of_nothing(key):
    assert s.mask_key(key)  # says "not set" in some form, never raises


def test_settings_never_show_the_key():
    key = "sk-Zq7Xv2Lp9Wd4Rk8Tn3Hy"
    resolved = s.resolve([Layer("x", {"apiKey": key})], env={})
    settings = resolved.settings
    assert s.require_api_key(settings) == key
    for text in (repr(settings), str(settings), settings.model_dump_json(), repr(resolved), str(settings.api_key)):
        assert key not in text and "Zq7X" not in text
