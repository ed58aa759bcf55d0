"""Settings: one model (section ``glm``), its sources, their precedence and origins.

Sources, later wins (DESIGN.md): defaults → user TOML
(``$XDG_CONFIG_HOME/glm-lsp/config.toml``) → project ``.glm-lsp.toml`` →
environment (``GLM_LSP_*``, nested keys joined by ``__``) → LSP
``initializationOptions`` → ``workspace/configuration`` → CLI flags.

Keys are camelCase in LSP JSON and snake_case in TOML and the environment; both
spellings are accepted everywhere. Unknown keys are ignored (and reported), so an
editor sending extra keys never breaks the server. A bad value raises
`SettingsError` naming the key, the bad value and what is allowed.

pydantic validates; pydantic-settings reads the environment and TOML files; we
merge the layers ourselves so `doctor` can say where each value came from.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Mapping

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic.alias_generators import to_camel

from glm_lsp.errors import SettingsError

ProviderName = Literal["zai", "bigmodel", "oxen", "runware", "openai"]

DEFAULT_BASE_URLS: dict[str, str | None] = {
    "zai": "https://api.z.ai/api/paas/v4",
    "bigmodel": "https://open.bigmodel.cn/api/paas/v4",
    "oxen": "https://hub.oxen.ai/api/ai",
    "runware": "https://api.runware.ai/v1",
    "openai": None,
}
DEFAULT_MODELS: dict[str, str] = {
    "zai": "glm-5.1",
    "bigmodel": "glm-5.1",
    "oxen": "zai-org-glm-5-1",
    "runware": "zai-glm-5-1",
    "openai": "glm-5.1",
}
# Runware's page names the model by slug; its API knows only the AIR id.
RUNWARE_AIR_IDS = {"zai-glm-5-1": "zai:glm@5.1"}
API_KEY_VARIABLES: dict[str, str] = {
    "zai": "ZAI_API_KEY",
    "bigmodel": "BIGMODEL_API_KEY",
    "oxen": "OXEN_API_KEY",
    "runware": "RUNWARE_API_KEY",
    "openai": "OPENAI_API_KEY",
}
GENERIC_KEY_VARIABLE = "GLM_API_KEY"
PROVIDER_LABELS = {
    "zai": "Z.AI",
    "bigmodel": "BigModel",
    "oxen": "Oxen",
    "runware": "Runware",
    "openai": "the OpenAI-compatible server",
}
ZAI_CODING_PLAN_URL = "https://api.z.ai/api/coding/paas/v4"

DEFAULT_EXCLUDE = [
    ".env",
    ".env.*",
    "*.pem",
    "*.key",
    "id_rsa*",
    "id_dsa*",
    "id_ecdsa*",
    "id_ed25519*",
    "*.p12",
    "*.pfx",
    "*.keystore",
    "*.jks",
    ".netrc",
    ".npmrc",
    ".pypirc",
    "*credentials*",
    "*secret*",
    ".git/",
]

ENV_PREFIX = "GLM_LSP_"
_CHAT_PATH = "/chat/completions"


class _Model(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="ignore", validate_default=True
    )


class CompletionSettings(_Model):
    """Inline completion and completion items."""

    enabled: bool = Field(True, description="Offer inline completions from GLM-5.1.")
    debounce_ms: int | None = Field(
        None,
        ge=0,
        le=5000,
        description="Wait this long after typing before asking (ms); unset = adaptive, 0 = no wait.",
    )
    max_tokens: int = Field(128, ge=1, le=4096, description="Longest completion, in tokens.")
    items: Literal["auto", "always", "never"] = Field(
        "auto",
        description="Also offer the suggestion as a completion item: auto = only for clients "
        "without inline completion (Helix), always, never.",
    )


class ContextSettings(_Model):
    """What may be sent to the model."""

    max_tokens: int = Field(
        8000, ge=256, le=200_000, description="Token budget for context snippets in an action prompt."
    )
    exclude: list[str] = Field(
        default_factory=lambda: list(DEFAULT_EXCLUDE),
        description="Glob patterns of files never sent to the model (added to .gitignore).",
    )


class EditsSettings(_Model):
    stream: bool = Field(True, description="Stream edits into the buffer, or apply once at the end.")


class UsageSettings(_Model):
    daily_token_limit: int = Field(
        0, ge=0, description="Stop automatic completions once today's tokens reach this (0 = no limit)."
    )


class Settings(_Model):
    """Every glm-lsp setting (section ``glm``)."""

    provider: ProviderName = Field(
        "zai",
        description="Which GLM-5.1 provider: zai, bigmodel, oxen, runware, or openai "
        "(any OpenAI-compatible server: vLLM, SGLang, Ollama, OpenRouter).",
    )
    base_url: str | None = Field(
        None, description="API base URL; unset = the provider's default (required for openai)."
    )
    model: str | None = Field(None, description="Model id; unset = the provider's GLM-5.1 id.")
    api_key: SecretStr | None = Field(
        None,
        description="API key; normally left unset and read from ZAI_API_KEY, BIGMODEL_API_KEY, "
        "OXEN_API_KEY, RUNWARE_API_KEY or OPENAI_API_KEY by provider, else GLM_API_KEY.",
    )
    thinking: Literal["auto", "enabled", "disabled"] = Field(
        "auto",
        description="Model reasoning: auto = on for actions and explain, off for completions.",
    )
    temperature: float | None = Field(
        None, ge=0.0, le=2.0, description="Sampling temperature; unset = per feature."
    )
    top_p: float | None = Field(None, gt=0.0, le=1.0, description="Nucleus sampling; unset = per feature.")
    max_tokens: int | None = Field(
        None, ge=1, le=131_072, description="Longest answer for actions and explain, reasoning included."
    )
    timeout_seconds: float = Field(
        120.0,
        gt=0,
        le=3600,
        description="Longest wait for the first token, and for each next chunk, in seconds.",
    )
    connect_timeout_seconds: float = Field(
        10.0, gt=0, le=600, description="Longest wait to connect to the provider, in seconds."
    )
    max_retries: int = Field(
        2, ge=0, le=10, description="Retries before the first token (connect errors, 429, 5xx); never after."
    )
    max_concurrent_requests: int = Field(
        2, ge=1, le=64, description="Model requests in flight per provider and model; actions go first."
    )
    completion: CompletionSettings = Field(default_factory=CompletionSettings)
    context: ContextSettings = Field(default_factory=ContextSettings)
    edits: EditsSettings = Field(default_factory=EditsSettings)
    usage: UsageSettings = Field(default_factory=UsageSettings)

    @field_validator("base_url")
    @classmethod
    def _clean_base_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        return normalize_base_url(value)

    @property
    def effective_base_url(self) -> str | None:
        return self.base_url or DEFAULT_BASE_URLS[self.provider]

    @property
    def effective_model(self) -> str:
        return self.model or DEFAULT_MODELS[self.provider]

    @property
    def provider_label(self) -> str:
        return PROVIDER_LABELS[self.provider]

    def key_variable(self) -> str:
        return API_KEY_VARIABLES[self.provider]


def normalize_base_url(url: str) -> str:
    """A pasted ``…/chat/completions`` or trailing slash must not break the URL."""
    url = url.strip()
    if not url.startswith(("http://", "https://")):
        raise ValueError("must start with http:// or https://")
    url = url.rstrip("/")
    if url.endswith(_CHAT_PATH):
        url = url[: -len(_CHAT_PATH)].rstrip("/")
    return url


def chat_url(settings: Settings) -> str:
    """Where requests go: ``/chat/completions`` below the base, Runware's base itself."""
    base = settings.effective_base_url
    if base is None:
        raise SettingsError(
            "The openai provider needs baseUrl: set it to your server's API root, "
            "e.g. http://localhost:8000/v1 for vLLM.",
            key="baseUrl",
        )
    return base if settings.provider == "runware" else base + _CHAT_PATH


def wire_model(settings: Settings) -> str:
    model = settings.effective_model
    if settings.provider == "runware":
        return RUNWARE_AIR_IDS.get(model, model)
    return model


# --------------------------------------------------------------------------- sources


@dataclass
class Layer:
    """One source of settings, already in snake_case."""

    name: str
    values: dict[str, Any] = field(default_factory=dict)


@dataclass
class Resolved:
    settings: Settings
    origins: dict[str, str]  # dotted snake_case key → layer name
    unknown_keys: list[str]


def user_config_path(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    base = env.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "glm-lsp" / "config.toml"


def toml_layer(name: str, path: Path, *, required: bool = False) -> Layer:
    """A TOML file as a layer; a missing optional file is an empty layer."""
    if not path.is_file():
        if required:
            raise SettingsError(f"Config file {path} does not exist.", key="config")
        return Layer(name)
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"Config file {path} is not valid TOML: {exc}. Fix or remove it.") from exc
    except OSError as exc:
        raise SettingsError(f"Config file {path} cannot be read: {exc.strerror}.") from exc
    # A `[glm]` table is accepted too, so one file can hold the VS Code-like section.
    if isinstance(data.get("glm"), dict) and len(data) == 1:
        data = data["glm"]
    return Layer(name, data)


def env_layer() -> Layer:
    """``GLM_LSP_*`` variables, read by pydantic-settings (nested keys joined by ``__``)."""
    from pydantic_settings import EnvSettingsSource

    source = EnvSettingsSource(
        Settings, env_prefix=ENV_PREFIX, env_nested_delimiter="__", case_sensitive=False
    )
    return Layer("environment", source())


def default_layers(
    workspace_root: Path | None, config_file: Path | None = None
) -> list[Layer]:
    """The file and environment layers, in precedence order (lowest first)."""
    layers = [toml_layer(f"user config {user_config_path()}", user_config_path())]
    if workspace_root is not None:
        project = workspace_root / ".glm-lsp.toml"
        layers.append(toml_layer(f"project config {project}", project))
    if config_file is not None:  # named on the command line: above the files found by convention
        layers.append(toml_layer(f"config file {config_file}", config_file, required=True))
    layers.append(env_layer())
    return layers


def resolve(layers: list[Layer], env: Mapping[str, str] | None = None) -> Resolved:
    """Merge the layers (later wins), validate, and fill the API key from the environment."""
    env = os.environ if env is None else env
    merged: dict[str, Any] = {}
    origins: dict[str, str] = {}
    unknown: list[str] = []
    for layer in layers:
        values = _normalize(Settings, layer.values, "", unknown)
        _merge(merged, values, layer.name, origins, "")
    try:
        settings = Settings.model_validate(merged)
    except ValidationError as exc:
        raise _settings_error(exc, merged, origins) from None
    if settings.api_key is not None:
        _mask_in_logs(settings.api_key.get_secret_value())
    if settings.api_key is None:
        for var in (settings.key_variable(), GENERIC_KEY_VARIABLE):
            if env.get(var):
                settings.api_key = SecretStr(env[var].strip())
                origins["api_key"] = f"environment {var}"
                break
    return Resolved(settings, origins, unknown)


def _mask_in_logs(key: str) -> None:
    from glm_lsp.logs import SecretFilter

    SecretFilter.add(key)


def _normalize(model: type[BaseModel], data: Any, prefix: str, unknown: list[str]) -> dict:
    """camelCase or snake_case keys → field names; unknown keys dropped and noted."""
    if not isinstance(data, Mapping):
        return {}
    by_name: dict[str, str] = {}
    for name, info in model.model_fields.items():
        by_name[name] = name
        by_name[info.alias or to_camel(name)] = name
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = by_name.get(str(key))
        if name is None:
            unknown.append(prefix + str(key))
            continue
        annotation = model.model_fields[name].annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel) and isinstance(value, Mapping):
            value = _normalize(annotation, value, f"{prefix}{name}.", unknown)
        if value is None:
            continue  # JSON null in an editor's settings means "not set"
        out[name] = value
    return out


def _merge(into: dict, values: dict, origin: str, origins: dict[str, str], prefix: str) -> None:
    for key, value in values.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value, origin, origins, f"{prefix}{key}.")
        elif isinstance(value, dict):
            into[key] = {}
            _merge(into[key], value, origin, origins, f"{prefix}{key}.")
        else:
            into[key] = value
            origins[prefix + key] = origin


def display_key(snake_path: str) -> str:
    """``completion.debounce_ms`` → ``completion.debounceMs`` (the name in DESIGN.md)."""
    return ".".join(to_camel(part) for part in snake_path.split("."))


def _allowed(model: type[BaseModel], path: tuple[str, ...]) -> str:
    """What a field accepts, in words, from its annotation and constraints."""
    info = None
    for part in path:
        info = model.model_fields.get(part) if model else None
        if info is None:
            return ""
        ann = info.annotation
        model = ann if isinstance(ann, type) and issubclass(ann, BaseModel) else None
    assert info is not None
    ann_text = str(info.annotation)
    literal = getattr(info.annotation, "__args__", None)
    if "Literal" in ann_text and literal:
        return "one of " + ", ".join(str(a) for a in literal)
    bounds = []
    for meta in info.metadata:
        for attr, word in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<")):
            if getattr(meta, attr, None) is not None:
                bounds.append(f"{word} {getattr(meta, attr)}")
    kind = {
        bool: "true or false",
        int: "a whole number",
        float: "a number",
        str: "a string",
    }
    base_type = info.annotation
    args = [a for a in getattr(base_type, "__args__", ()) if a is not type(None)]
    if args and "list" not in ann_text:
        base_type = args[0]  # Optional[X] → X
    text = "a list of strings" if "list" in ann_text else kind.get(base_type, "a valid value")
    if path[-1] == "base_url":
        text = "an http:// or https:// URL"
    return text + (" " + " and ".join(bounds) if bounds else "")


def _settings_error(exc: ValidationError, merged: dict, origins: dict[str, str]) -> SettingsError:
    err = exc.errors()[0]
    path = tuple(str(p) for p in err["loc"] if isinstance(p, str))
    key = ".".join(path)
    value = err.get("input")
    if path and path[-1] == "api_key":
        value = "(hidden)"  # whatever was typed there may be a key
    origin = origins.get(key)
    where = f" (from {origin})" if origin else ""
    allowed = _allowed(Settings, path) or err["msg"]
    message = f"Invalid setting {display_key(key)} = {value!r}{where}: allowed is {allowed}."
    return SettingsError(message, key=display_key(key), value=value, path=key)


def load(
    *,
    workspace_root: Path | None = None,
    config_file: Path | None = None,
    init_options: Mapping[str, Any] | None = None,
    workspace_config: Mapping[str, Any] | None = None,
    cli: Mapping[str, Any] | None = None,
) -> Resolved:
    """All sources in precedence order, resolved (raises `SettingsError`)."""
    layers = default_layers(workspace_root, config_file)
    if init_options:
        layers.append(Layer("initializationOptions", dict(init_options)))
    if workspace_config:
        layers.append(Layer("workspace/configuration", dict(workspace_config)))
    if cli:
        layers.append(Layer("command line", dict(cli)))
    return resolve(layers)


def mask_key(key: str | None) -> str:
    """Enough to recognise a key, never enough to use it."""
    if not key:
        return "(not set)"
    if len(key) < 12:
        return f"**** ({len(key)} chars)"
    return f"****{key[-2:]} ({len(key)} chars)"


def require_api_key(settings: Settings) -> str:
    from glm_lsp.errors import MissingApiKeyError

    if settings.api_key is not None and settings.api_key.get_secret_value():
        return settings.api_key.get_secret_value()
    if settings.provider == "openai":
        return ""  # self-hosted servers often need no key
    raise MissingApiKeyError(
        f"No API key for {settings.provider_label}: set {settings.key_variable()} "
        f"(or {GENERIC_KEY_VARIABLE}) in the environment the server runs in."
    )


class LiveSettings:
    """The server's settings: file and environment layers plus the editor's, kept valid.

    `update` swaps one editor layer and re-resolves; a bad value leaves the last good
    settings in place and returns the error for the user. At start, layers that do not
    validate are dropped (newest first) so the server always has settings.
    """

    EDITOR_LAYERS = ("initializationOptions", "workspace/configuration")

    def __init__(self, base: list[Layer], top: list[Layer] | None = None) -> None:
        self._base = base
        self._top = top or []  # command-line flags: above the editor's layers
        self._editor: dict[str, Layer] = {}
        self.current, self.startup_error = self._resolve_dropping_bad(base + self._top)
        self.generation = 0  # bumped on every change, so caches know to rebuild

    def _layers(self, editor: dict[str, Layer]) -> list[Layer]:
        return self._base + [editor[name] for name in self.EDITOR_LAYERS if name in editor] + self._top

    @staticmethod
    def _resolve_dropping_bad(layers: list[Layer]) -> tuple[Resolved, SettingsError | None]:
        first_error: SettingsError | None = None
        layers = list(layers)
        while True:
            try:
                return resolve(layers), first_error
            except SettingsError as exc:
                first_error = first_error or exc
                if not layers:
                    raise
                layers.pop()

    def update(self, name: str, values: Mapping[str, Any] | None) -> SettingsError | None:
        """Apply the editor's layer; each bad key keeps its last good value, the rest applies."""
        unknown: list[str] = []
        new_values = _normalize(Settings, values or {}, "", unknown)
        old_values = self._editor[name].values if name in self._editor else {}
        first_error: SettingsError | None = None
        for _ in range(32):  # one pass per bad key; settings have fewer keys than this
            editor = dict(self._editor)
            editor[name] = Layer(name, new_values)
            try:
                resolved = resolve(self._layers(editor))
            except SettingsError as exc:
                first_error = first_error or exc
                if not exc.path or not _replace_path(new_values, exc.path, old_values):
                    return first_error
                continue
            resolved.unknown_keys.extend(unknown)
            self._editor, self.current = editor, resolved
            self.generation += 1
            return first_error
        return first_error

    @property
    def settings(self) -> Settings:
        return self.current.settings


def _replace_path(values: dict, path: str, fallback: dict) -> bool:
    """Put ``fallback``'s value at the dotted ``path`` into ``values`` (or drop it); False if absent."""
    *parents, leaf = path.split(".")
    target, source = values, fallback
    for part in parents:
        target = target.get(part) if isinstance(target, dict) else None
        source = source.get(part) if isinstance(source, dict) else None
    if not isinstance(target, dict) or leaf not in target:
        return False
    if isinstance(source, dict) and leaf in source:
        target[leaf] = source[leaf]
    else:
        del target[leaf]
    return True
