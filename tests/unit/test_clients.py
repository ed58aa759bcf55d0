"""The client capability presets in tests/clients.py are valid and say what they claim."""

from __future__ import annotations

import pytest
from lsprotocol import types
from lsprotocol.converters import get_converter
from pygls.capabilities import ServerCapabilitiesBuilder

from tests.clients import PRESETS, Preset, capabilities, preset_names

ALL = sorted(PRESETS)


def _value(x) -> str:
    return getattr(x, "value", x)


def test_preset_names_are_the_three_main_editors():
    assert preset_names() == ["vscode", "neovim", "helix"]
    assert set(preset_names()) < set(PRESETS)
    assert "neovim-0.12" in PRESETS


@pytest.mark.parametrize("name", ALL)
def test_preset_is_named_after_its_key(name):
    assert isinstance(PRESETS[name], Preset)
    assert PRESETS[name].name == name


@pytest.mark.parametrize("name", ALL)
def test_round_trips_through_the_lsprotocol_converter(name):
    caps = capabilities(name)
    assert isinstance(caps, types.ClientCapabilities)
    converter = get_converter()
    wire = converter.unstructure(caps, types.ClientCapabilities)
    again = converter.structure(wire, types.ClientCapabilities)
    assert converter.unstructure(again, types.ClientCapabilities) == wire
    # And inside a whole initialize request, as a test client would send it.
    params = types.InitializeParams(capabilities=caps, process_id=None, root_uri=None)
    converter.structure(converter.unstructure(params, types.InitializeParams), types.InitializeParams)


@pytest.mark.parametrize("name", ALL)
def test_each_call_returns_a_fresh_object(name):
    first, second = capabilities(name), capabilities(name)
    assert first is not second
    assert first == second
    first.text_document.code_action.resolve_support = None
    assert capabilities(name).text_document.code_action.resolve_support is not None


@pytest.mark.parametrize("name", ALL)
def test_pygls_chooses_the_expected_encoding(name):
    chosen = ServerCapabilitiesBuilder.choose_position_encoding(capabilities(name))
    assert _value(chosen) == PRESETS[name].expected_encoding


@pytest.mark.parametrize("name", ALL)
def test_flags_agree_with_the_capabilities(name):
    preset, caps = PRESETS[name], capabilities(name)
    td, ws, win = caps.text_document, caps.workspace, caps.window

    assert (td.inline_completion is not None) is preset.inline_completion
    assert bool(win and win.show_document and win.show_document.support) is preset.show_document
    assert bool(ws.workspace_edit and ws.workspace_edit.document_changes) is preset.document_changes
    assert bool(ws.configuration) is preset.configuration
    assert bool(win and win.work_done_progress) is preset.work_done_progress

    resolve = td.code_action.resolve_support
    has_resolve = resolve is not None and {"edit", "command"} <= set(resolve.properties)
    assert has_resolve is preset.code_action_resolve


@pytest.mark.parametrize("name", ALL)
def test_code_actions_can_carry_data_and_be_resolved(name):
    code_action = capabilities(name).text_document.code_action
    assert code_action.data_support is True
    assert {"edit", "command"} <= set(code_action.resolve_support.properties)
    assert code_action.code_action_literal_support is not None


@pytest.mark.parametrize("name", ALL)
def test_every_editor_applies_edits_and_answers_configuration(name):
    ws = capabilities(name).workspace
    assert ws.apply_edit is True
    assert ws.configuration is True
    assert PRESETS[name].applies_document_changes is True


def test_vscode():
    preset, caps = PRESETS["vscode"], capabilities("vscode")
    assert caps.text_document.inline_completion.dynamic_registration is True
    assert [_value(e) for e in caps.general.position_encodings] == ["utf-16"]
    # Kept from the 1.65.2 capture.
    assert caps.general.regular_expressions is not None
    assert caps.workspace.workspace_edit.failure_handling == types.FailureHandlingKind.TextOnlyTransactional
    assert preset.automatic_completion_trigger == types.InlineCompletionTriggerKind.Automatic.name


def test_neovim_011_is_the_pytest_lsp_capture_unchanged():
    import pytest_lsp

    assert capabilities("neovim") == pytest_lsp.client_capabilities("neovim@0.11")
    caps = capabilities("neovim")
    assert [_value(e) for e in caps.general.position_encodings] == ["utf-8", "utf-16", "utf-32"]
    assert caps.workspace.workspace_edit.document_changes is None
    assert caps.text_document.inline_completion is None


def test_neovim_012_adds_only_static_inline_completion():
    caps = capabilities("neovim-0.12")
    assert caps.text_document.inline_completion == types.InlineCompletionClientCapabilities(
        dynamic_registration=False
    )
    caps.text_document.inline_completion = None
    assert caps == capabilities("neovim")
    assert PRESETS["neovim-0.12"].automatic_completion_trigger == "Automatic"


def test_helix():
    preset, caps = PRESETS["helix"], capabilities("helix")
    assert [_value(e) for e in caps.general.position_encodings] == ["utf-8", "utf-32", "utf-16"]
    assert caps.text_document.inline_completion is None
    assert caps.window.show_document is None  # only advertised after 25.07.1
    assert caps.window.work_done_progress is True

    ws = caps.workspace
    assert ws.did_change_configuration.dynamic_registration is False
    assert ws.workspace_folders is True
    assert ws.execute_command.dynamic_registration is False
    assert ws.did_change_watched_files.dynamic_registration is True
    edit = ws.workspace_edit
    assert edit.document_changes is True
    assert [_value(k) for k in edit.resource_operations] == ["create", "rename", "delete"]
    assert edit.failure_handling == types.FailureHandlingKind.Abort
    assert edit.normalizes_line_endings is False

    td = caps.text_document
    item = td.completion.completion_item
    assert item.snippet_support is True
    assert item.insert_replace_support is True
    assert list(item.resolve_support.properties) == ["documentation", "detail", "additionalTextEdits"]
    assert td.completion.completion_item_kind is not None
    assert [_value(k) for k in td.hover.content_format] == ["markdown"]
    assert td.signature_help.signature_information.active_parameter_support is True
    code_action = td.code_action
    assert [_value(k) for k in code_action.code_action_literal_support.code_action_kind.value_set] == [
        "",
        "quickfix",
        "refactor",
        "refactor.extract",
        "refactor.inline",
        "refactor.rewrite",
        "source",
        "source.organizeImports",
    ]
    assert code_action.is_preferred_support is True
    assert code_action.disabled_support is True
    assert td.publish_diagnostics.version_support is True
    assert td.rename.prepare_support is True

    assert preset.automatic_completion_trigger == types.CompletionTriggerKind.Invoked.name
    assert preset.command_arguments is False
    assert preset.runs_resolved_command is False


def test_trigger_kind_names_are_real_lsp_names():
    kinds = {k.name for k in types.CompletionTriggerKind} | {k.name for k in types.InlineCompletionTriggerKind}
    for preset in PRESETS.values():
        assert preset.automatic_completion_trigger in kinds
        if preset.inline_completion:
            assert preset.automatic_completion_trigger in {k.name for k in types.InlineCompletionTriggerKind}


def test_client_info():
    assert PRESETS["helix"].client_info() == types.ClientInfo(name="helix", version="25.01")
    assert PRESETS["vscode"].client_info().version is None


def test_unknown_name_is_an_error():
    with pytest.raises(ValueError, match="emacs"):
        capabilities("emacs")
