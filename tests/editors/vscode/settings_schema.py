"""The VS Code settings (``contributes.configuration``) that glm-lsp's settings model implies.

`expected()` walks `glm_lsp.settings.Settings` and returns, for every server setting
but ``apiKey``, the JSON-schema fields VS Code needs (``glm.<camelCase key>``: type,
enum, default, description, bounds). ``test_package_json.py`` fails when
``editors/vscode/package.json`` disagrees; after changing the model, rewrite the
package.json properties with

    .venv/bin/python -m tests.editors.vscode.settings_schema --write

which keeps the hand-written extras (``scope``, ``order``, ``enumDescriptions`` of
other settings) and the extension's own settings (`EXTENSION_KEYS`).
"""

from __future__ import annotations

import json
import sys
import types
import typing
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, SecretStr

from glm_lsp.settings import API_KEY_VARIABLES, DEFAULT_BASE_URLS, DEFAULT_MODELS, PROVIDER_LABELS, Settings, display_key

REPO = Path(__file__).resolve().parents[3]
PACKAGE_JSON = REPO / "editors" / "vscode" / "package.json"

# Settings of the extension itself, never sent to the server.
EXTENSION_KEYS = {"glm.server.command", "glm.trace.server"}
NOT_CONTRIBUTED = {"glm.apiKey"}  # kept in SecretStorage ("GLM: Set API Key"), never in settings.json
# The fields a server setting's contribution must carry exactly as the model says.
CHECKED = ("type", "items", "enum", "default", "description", "minimum", "maximum",
           "exclusiveMinimum", "exclusiveMaximum")
# Hand-written, kept by --write (the model has no per-value descriptions for these).
ENUM_DESCRIPTIONS = {
    "glm.thinking": [
        "On for actions and explain, off for completions.",
        "Always let the model reason first (slower, often better).",
        "Never ask for reasoning.",
    ],
    "glm.completion.items": [
        "Only for clients without inline completion (Helix); in VS Code, none.",
        "Always also offer the suggestion in the completion list.",
        "Never offer completion items.",
    ],
}
# One server per window, asked with the workspace root as scope: window-scoped settings.
DEFAULT_SCOPE = "window"

_JSON_TYPES = {bool: "boolean", int: "integer", float: "number", str: "string"}


def _schema_type(annotation: Any) -> dict[str, Any]:
    """The JSON-schema type of a field's annotation: Optional → [type, "null"]."""
    args = typing.get_args(annotation)
    nullable = isinstance(annotation, types.UnionType | typing._UnionGenericAlias) and type(None) in args  # type: ignore[attr-defined]
    if nullable:
        (annotation,) = [a for a in args if a is not type(None)]
    origin = typing.get_origin(annotation)
    if origin is Literal:
        values = list(typing.get_args(annotation))
        out: dict[str, Any] = {"type": "string", "enum": values}
    elif origin is list:
        (item,) = typing.get_args(annotation)
        out = {"type": "array", "items": {"type": _JSON_TYPES[item]}}
    else:
        out = {"type": _JSON_TYPES[annotation]}
    if nullable:
        out["type"] = [out["type"], "null"]
    return out


def _bounds(metadata: list) -> dict[str, Any]:
    out = {}
    for meta in metadata:
        for attr, key in (("ge", "minimum"), ("le", "maximum"), ("gt", "exclusiveMinimum"), ("lt", "exclusiveMaximum")):
            value = getattr(meta, attr, None)
            if value is not None:
                out[key] = value
    return out


def _walk(model: type[BaseModel], prefix: str = "") -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for name, info in model.model_fields.items():
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            out |= _walk(annotation, f"{prefix}{name}.")
            continue
        key = "glm." + display_key(prefix + name)
        if key in NOT_CONTRIBUTED or SecretStr in typing.get_args(annotation):
            continue
        entry = _schema_type(annotation)
        entry["default"] = info.get_default(call_default_factory=True)
        entry["description"] = info.description
        entry |= _bounds(info.metadata)
        out[key] = entry
    return out


def provider_descriptions() -> list[str]:
    """One line per provider, from the same tables the server uses."""
    lines = []
    for provider in typing.get_args(Settings.model_fields["provider"].annotation):
        url = DEFAULT_BASE_URLS[provider] or "set glm.baseUrl"
        lines.append(f"{PROVIDER_LABELS[provider]}: {url}, model {DEFAULT_MODELS[provider]}, "
                     f"key from {API_KEY_VARIABLES[provider]}.")
    return lines


def expected() -> dict[str, dict[str, Any]]:
    """Every server setting as VS Code contributes it (checked fields only)."""
    return _walk(Settings)


def contribution(key: str, checked: dict[str, Any], old: dict[str, Any] | None) -> dict[str, Any]:
    """The package.json entry: the model's fields, then scope and enum descriptions."""
    entry = dict(checked)
    extras = {k: v for k, v in (old or {}).items() if k not in CHECKED}
    entry.setdefault("scope", extras.pop("scope", DEFAULT_SCOPE))
    if key == "glm.provider":
        extras["enumDescriptions"] = provider_descriptions()
    elif key in ENUM_DESCRIPTIONS:
        extras.setdefault("enumDescriptions", ENUM_DESCRIPTIONS[key])
    return entry | extras


def write(path: Path = PACKAGE_JSON) -> bool:
    package = json.loads(path.read_text(encoding="utf-8"))
    properties = package["contributes"]["configuration"]["properties"]
    new = {key: contribution(key, checked, properties.get(key)) for key, checked in expected().items()}
    new |= {key: properties[key] for key in sorted(EXTENSION_KEYS) if key in properties}
    for order, key in enumerate(new):
        new[key]["order"] = order
    package["contributes"]["configuration"]["properties"] = new
    text = json.dumps(package, indent=2, ensure_ascii=False) + "\n"
    if text == path.read_text(encoding="utf-8"):
        return False
    path.write_text(text, encoding="utf-8")
    return True


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        print(json.dumps(expected(), indent=2))
        sys.exit(0)
    print(f"{PACKAGE_JSON}: " + ("updated" if write() else "already up to date"))
