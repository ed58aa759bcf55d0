"""The README's settings reference, generated from the settings model so they cannot drift.

``python -m glm_lsp.settings_reference`` rewrites the table in README.md; a test
fails when the README and the model disagree.
"""

from __future__ import annotations

import sys
from pathlib import Path

from pydantic import BaseModel

from glm_lsp.settings import DEFAULT_BASE_URLS, DEFAULT_MODELS, Settings, display_key

BEGIN = "<!-- settings-reference:begin -->"
END = "<!-- settings-reference:end -->"


def _default(path: str, info) -> str:
    if path == "base_url":
        return "per provider: " + ", ".join(f"{p} `{u}`" for p, u in DEFAULT_BASE_URLS.items() if u)
    if path == "model":
        return "per provider: " + ", ".join(f"{p} `{m}`" for p, m in DEFAULT_MODELS.items())
    if path == "api_key":
        return "from the environment"
    value = info.get_default(call_default_factory=True)
    if value is None:
        return "adaptive" if path.endswith("debounce_ms") else "per feature"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, list):
        return ", ".join(f"`{v}`" for v in value)
    return f"`{value}`"


def _rows(model: type[BaseModel], prefix: str = "") -> list[str]:
    rows = []
    for name, info in model.model_fields.items():
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            rows += _rows(annotation, f"{prefix}{name}.")
            continue
        path = prefix + name
        rows.append(f"| `{display_key(path)}` | {_default(path, info)} | {info.description or ''} |")
    return rows


def markdown() -> str:
    lines = [
        BEGIN,
        "| key (LSP / VS Code `glm.*`; snake_case in TOML and `GLM_LSP_*`) | default | meaning |",
        "|---|---|---|",
        *_rows(Settings),
        END,
    ]
    return "\n".join(lines)


def update_readme(readme: Path) -> bool:
    text = readme.read_text(encoding="utf-8")
    start, end = text.index(BEGIN), text.index(END) + len(END)
    new = text[:start] + markdown() + text[end:]
    if new != text:
        readme.write_text(new, encoding="utf-8")
    return new != text


if __name__ == "__main__":
    changed = update_readme(Path(sys.argv[1] if len(sys.argv) > 1 else "README.md"))
    print("README.md settings reference " + ("updated" if changed else "already up to date"))
