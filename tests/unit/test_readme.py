"""The README's settings reference is generated from the settings model: they must agree."""

from pathlib import Path

from glm_lsp.settings import Settings
from glm_lsp.settings_reference import markdown

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_settings_reference_matches_the_model():
    assert markdown() in README.read_text(encoding="utf-8"), (
        "README.md's settings reference is stale: run `python -m glm_lsp.settings_reference`"
    )


def test_every_setting_is_in_the_reference():
    text = markdown()
    for name in Settings.model_fields:
        assert f"`{name.split('_')[0]}" in text


def test_readme_test_command_is_what_ci_runs():
    ci = (README.parent / ".ci" / "run").read_text(encoding="utf-8")
    command = "python3 -m venv .venv && . .venv/bin/activate && pip install -e '.[test]' && python -m pytest"
    assert command in README.read_text(encoding="utf-8")
    assert command in ci
