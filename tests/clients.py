"""Client capability presets for end-to-end tests.

pytest-lsp ships captured ``initialize`` capabilities for VS Code 1.65 and
Neovim 0.6-0.11 (``pytest_lsp.client_capabilities``).  None of them asks for
inline completion and there is nothing for Helix, so this module gives the
end-to-end tests one preset per editor glm-lsp supports::

    from tests.clients import PRESETS, capabilities, preset_names

    @pytest.mark.parametrize("client", preset_names())
    async def test_something(client): ...
        caps = capabilities(client)          # a fresh ClientCapabilities
        preset = PRESETS[client]             # what the server should make of it

Each :class:`Preset` also records behaviour of the real editor that the
capabilities cannot express (which trigger kind its automatic requests use,
whether it applies ``documentChanges`` it never asked for, ...), so a test can
assert what glm-lsp must do for that editor rather than hard-coding it.

Sources checked:

* VS Code: the pytest-lsp 1.65.2 capture, plus what vscode-languageclient 10
  (microsoft/vscode-languageserver-node, ``client/src/common/*.ts``) fills in.
* Neovim: the pytest-lsp 0.11.0 capture; for 0.12, ``vim/lsp/inline_completion.lua``
  and ``initialize`` logs of Neovim 0.12-dev.
* Helix: ``helix-lsp/src/client.rs`` (``Client::initialize``) at tag ``25.01``,
  and ``helix-term/src/handlers/completion.rs`` / ``commands/lsp.rs`` /
  ``commands/typed.rs`` at the same tag.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Literal

import pytest_lsp
from lsprotocol import types

__all__ = ["PRESETS", "Preset", "capabilities", "preset_names"]

Encoding = Literal["utf-16", "utf-8", "utf-32"]


@dataclass(frozen=True)
class Preset:
    """One editor as glm-lsp's end-to-end tests see it.

    The boolean capability fields restate what :func:`capabilities` returns
    (``tests/unit/test_clients.py`` checks they agree); the behaviour fields
    describe the editor itself.
    """

    name: str
    #: What the preset models, for test ids and failure messages.
    description: str
    #: The encoding pygls negotiates: the first of the client's
    #: ``general.positionEncodings`` that pygls supports, else utf-16.
    expected_encoding: Encoding
    #: ``textDocument.inlineCompletion`` is advertised.
    inline_completion: bool
    #: ``window.showDocument.support`` is true.
    show_document: bool
    #: ``textDocument.codeAction.resolveSupport`` lists both "edit" and "command".
    code_action_resolve: bool
    #: ``workspace.workspaceEdit.documentChanges`` is advertised.
    document_changes: bool
    #: ``workspace.configuration`` (the client answers ``workspace/configuration``).
    configuration: bool
    #: ``window.workDoneProgress`` (server-initiated progress is allowed).
    work_done_progress: bool
    # -- behaviour of the editor, not visible in its capabilities ------------
    #: The editor applies ``WorkspaceEdit.documentChanges`` even when it does
    #: not advertise ``documentChanges`` (Neovim).
    applies_document_changes: bool = True
    #: ``workspace/executeCommand`` requests the *user* can start from the
    #: editor's own command UI carry the command's arguments.  False for
    #: Helix 25.01, whose ``:lsp-workspace-command`` always sends
    #: ``arguments: []``.  (Commands attached to a code action keep their
    #: arguments in every editor.)
    command_arguments: bool = True
    #: After ``codeAction/resolve`` the editor runs the *resolved* action's
    #: ``command``.  False for Helix 25.01: it applies the resolved ``edit``
    #: but runs the ``command`` of the action as first sent, so a command
    #: that only appears after resolve is never executed.
    runs_resolved_command: bool = True
    #: ``triggerKind`` name of the editor's automatic, unrequested completion
    #: requests: ``InlineCompletionTriggerKind`` for editors with inline
    #: completion ("Automatic"), ``CompletionTriggerKind`` otherwise.
    automatic_completion_trigger: str = "Automatic"
    #: ``clientInfo`` the editor sends in ``initialize``.
    client_name: str = ""
    client_version: str = ""
    _build: Callable[[], types.ClientCapabilities] = field(
        default=lambda: types.ClientCapabilities(), repr=False, compare=False
    )

    def capabilities(self) -> types.ClientCapabilities:
        """A fresh ``ClientCapabilities`` for this editor."""
        return self._build()

    def client_info(self) -> types.ClientInfo:
        return types.ClientInfo(name=self.client_name, version=self.client_version or None)


# --------------------------------------------------------------------------
# VS Code
# --------------------------------------------------------------------------


def _vscode() -> types.ClientCapabilities:
    """VS Code 1.9x with vscode-languageclient 10.x.

    Starts from the 1.65.2 capture and adds what the current client library
    fills in.  Facts that matter to glm-lsp:

    * ``positionEncodings: ["utf-16"]`` (vscode-languageclient sets exactly
      this; the 1.65 capture has no ``positionEncodings``, which pygls also
      reads as utf-16).
    * ``inlineCompletion.dynamicRegistration = true``.  In
      vscode-languageclient 9.x inline completion is only filled in when the
      extension registers ``ProposedFeatures``; 10.x registers it by default.
      VS Code asks with ``InlineCompletionTriggerKind.Automatic`` while the
      user types and ``Invoked`` on the explicit "trigger inline suggestion"
      command.
    * ``codeAction.resolveSupport.properties = ["edit", "command"]``: 1.65 and
      vscode-languageclient 9.x list only "edit"; 10.x added "command".
    * ``workspaceEdit.documentChanges``, ``workspace.configuration``,
      ``workspace.applyEdit``, ``window.workDoneProgress``,
      ``window.showDocument`` are all present (already so in 1.65; ensured here).
    """
    caps = pytest_lsp.client_capabilities("visual-studio-code")

    text_document = caps.text_document or types.TextDocumentClientCapabilities()
    caps.text_document = text_document
    text_document.inline_completion = types.InlineCompletionClientCapabilities(dynamic_registration=True)

    code_action = text_document.code_action or types.CodeActionClientCapabilities()
    text_document.code_action = code_action
    code_action.data_support = True
    resolve = list(code_action.resolve_support.properties) if code_action.resolve_support else []
    for prop in ("edit", "command"):
        if prop not in resolve:
            resolve.append(prop)
    code_action.resolve_support = types.ClientCodeActionResolveOptions(properties=resolve)

    general = caps.general or types.GeneralClientCapabilities()
    caps.general = general
    general.position_encodings = [types.PositionEncodingKind.Utf16]

    window = caps.window or types.WindowClientCapabilities()
    caps.window = window
    window.work_done_progress = True
    window.show_document = types.ShowDocumentClientCapabilities(support=True)

    workspace = caps.workspace or types.WorkspaceClientCapabilities()
    caps.workspace = workspace
    workspace.configuration = True
    workspace.apply_edit = True
    workspace_edit = workspace.workspace_edit or types.WorkspaceEditClientCapabilities()
    workspace.workspace_edit = workspace_edit
    workspace_edit.document_changes = True
    return caps


# --------------------------------------------------------------------------
# Neovim
# --------------------------------------------------------------------------


def _neovim() -> types.ClientCapabilities:
    """Neovim 0.11, the pytest-lsp capture unchanged.

    Facts that matter to glm-lsp:

    * ``positionEncodings: ["utf-8", "utf-16", "utf-32"]``: utf-8 comes first,
      so pygls negotiates **utf-8**.
    * ``workspaceEdit`` advertises only ``resourceOperations``, no
      ``documentChanges``, yet ``vim.lsp.util.apply_workspace_edit`` applies
      ``documentChanges`` when a server sends them anyway.  (0.12-dev still
      does not advertise it.)
    * No ``textDocument.inlineCompletion`` (that arrives in 0.12, see
      ``neovim-0.12``).  The built-in ``vim.lsp.completion`` with
      ``autotrigger`` only fires on the server's trigger characters, so its
      automatic requests are ``CompletionTriggerKind.TriggerCharacter``.
    * ``workspace.configuration``, ``window.workDoneProgress``,
      ``window.showDocument.support`` and ``codeAction.resolveSupport``
      (["edit", "command"]) with ``dataSupport`` are all advertised.
    """
    return pytest_lsp.client_capabilities("neovim@0.11")


def _neovim_012() -> types.ClientCapabilities:
    """Neovim 0.12: 0.11 plus ``textDocument.inlineCompletion``.

    Neovim 0.12-dev's ``make_client_capabilities()`` advertises
    ``inlineCompletion = { dynamicRegistration = false }`` (seen in
    ``initialize`` logs of 0.12.0-dev builds), so glm-lsp must offer inline
    completion statically in ``ServerCapabilities`` for Neovim.
    ``vim.lsp.inline_completion`` requests with ``Automatic`` (debounced
    200 ms on InsertEnter / CursorMovedI / TextChangedP) and with ``Invoked``
    only for a visual-mode selection.

    Only ``inlineCompletion`` is added; 0.12 also changes other capabilities
    (``codeAction.disabledSupport``, pull diagnostics, ...) that glm-lsp does
    not look at.
    """
    caps = _neovim()
    text_document = caps.text_document or types.TextDocumentClientCapabilities()
    caps.text_document = text_document
    text_document.inline_completion = types.InlineCompletionClientCapabilities(dynamic_registration=False)
    return caps


# --------------------------------------------------------------------------
# Helix
# --------------------------------------------------------------------------

_CODE_ACTION_KINDS = [
    types.CodeActionKind.Empty,
    types.CodeActionKind.QuickFix,
    types.CodeActionKind.Refactor,
    types.CodeActionKind.RefactorExtract,
    types.CodeActionKind.RefactorInline,
    types.CodeActionKind.RefactorRewrite,
    types.CodeActionKind.Source,
    types.CodeActionKind.SourceOrganizeImports,
]


def _helix() -> types.ClientCapabilities:
    """Helix 25.01 (also 25.01.1, 25.07, 25.07.1: the capabilities are identical).

    Written field by field from ``Client::initialize`` in
    ``helix-lsp/src/client.rs`` at tag 25.01, with ``editor.lsp.snippets``
    left at its default (true).  Fields Helix leaves ``None`` are left unset.

    Facts that matter to glm-lsp:

    * ``positionEncodings: ["utf-8", "utf-32", "utf-16"]`` -> **utf-8**.
    * No ``textDocument.inlineCompletion``: Helix has no inline completion.
      Its completion popup appears after an idle timeout while typing an
      identifier and asks with ``CompletionTriggerKind.Invoked`` (same as a
      manual trigger); only when the text before the cursor ends in one of the
      server's trigger characters does it send ``TriggerCharacter``.
    * ``codeAction.resolveSupport`` lists "edit" and "command", and Helix does
      send ``codeAction/resolve`` when an action lacks either - but 25.01 then
      runs the *unresolved* action's ``command`` (see
      ``Preset.runs_resolved_command``).  Put any command glm-lsp wants run on
      the action it returns from ``textDocument/codeAction``.
    * ``:lsp-workspace-command NAME`` sends ``arguments: []`` (JSON arguments
      on that command line only arrive in 25.07).
    * Deviation from the glm-lsp brief: Helix 25.01 does **not** advertise
      ``window.showDocument``.  It does answer ``window/showDocument``
      requests, but only advertises the capability since commit aedff4c
      (Nov 2025; in no release tag up to 25.07.1).  This
      preset follows 25.01, so ``window.show_document`` is unset.
    * ``completionItemKind`` is sent as an empty object (Helix fills in no
      ``valueSet``), and ``contextSupport`` is not advertised, though Helix
      sends a ``context`` with every completion request.
    """
    return types.ClientCapabilities(
        workspace=types.WorkspaceClientCapabilities(
            configuration=True,
            did_change_configuration=types.DidChangeConfigurationClientCapabilities(dynamic_registration=False),
            workspace_folders=True,
            apply_edit=True,
            symbol=types.WorkspaceSymbolClientCapabilities(dynamic_registration=False),
            execute_command=types.ExecuteCommandClientCapabilities(dynamic_registration=False),
            inlay_hint=types.InlayHintWorkspaceClientCapabilities(refresh_support=False),
            workspace_edit=types.WorkspaceEditClientCapabilities(
                document_changes=True,
                resource_operations=[
                    types.ResourceOperationKind.Create,
                    types.ResourceOperationKind.Rename,
                    types.ResourceOperationKind.Delete,
                ],
                failure_handling=types.FailureHandlingKind.Abort,
                normalizes_line_endings=False,
            ),
            did_change_watched_files=types.DidChangeWatchedFilesClientCapabilities(
                dynamic_registration=True,
                relative_pattern_support=False,
            ),
            file_operations=types.FileOperationClientCapabilities(will_rename=True, did_rename=True),
        ),
        text_document=types.TextDocumentClientCapabilities(
            completion=types.CompletionClientCapabilities(
                completion_item=types.ClientCompletionItemOptions(
                    snippet_support=True,
                    resolve_support=types.ClientCompletionItemResolveOptions(
                        properties=["documentation", "detail", "additionalTextEdits"]
                    ),
                    insert_replace_support=True,
                    deprecated_support=True,
                    tag_support=types.CompletionItemTagOptions(value_set=[types.CompletionItemTag.Deprecated]),
                ),
                completion_item_kind=types.ClientCompletionItemOptionsKind(),
            ),
            hover=types.HoverClientCapabilities(content_format=[types.MarkupKind.Markdown]),
            signature_help=types.SignatureHelpClientCapabilities(
                signature_information=types.ClientSignatureInformationOptions(
                    documentation_format=[types.MarkupKind.Markdown],
                    parameter_information=types.ClientSignatureParameterInformationOptions(
                        label_offset_support=True
                    ),
                    active_parameter_support=True,
                ),
            ),
            rename=types.RenameClientCapabilities(
                dynamic_registration=False,
                prepare_support=True,
                honors_change_annotations=False,
            ),
            formatting=types.DocumentFormattingClientCapabilities(dynamic_registration=False),
            code_action=types.CodeActionClientCapabilities(
                code_action_literal_support=types.ClientCodeActionLiteralOptions(
                    code_action_kind=types.ClientCodeActionKindOptions(value_set=list(_CODE_ACTION_KINDS))
                ),
                is_preferred_support=True,
                disabled_support=True,
                data_support=True,
                resolve_support=types.ClientCodeActionResolveOptions(properties=["edit", "command"]),
            ),
            publish_diagnostics=types.PublishDiagnosticsClientCapabilities(
                version_support=True,
                tag_support=types.ClientDiagnosticsTagOptions(
                    value_set=[types.DiagnosticTag.Unnecessary, types.DiagnosticTag.Deprecated]
                ),
            ),
            inlay_hint=types.InlayHintClientCapabilities(dynamic_registration=False),
        ),
        window=types.WindowClientCapabilities(work_done_progress=True),
        general=types.GeneralClientCapabilities(
            position_encodings=[
                types.PositionEncodingKind.Utf8,
                types.PositionEncodingKind.Utf32,
                types.PositionEncodingKind.Utf16,
            ]
        ),
    )


# --------------------------------------------------------------------------
# The presets
# --------------------------------------------------------------------------

PRESETS: dict[str, Preset] = {
    "vscode": Preset(
        name="vscode",
        description="VS Code 1.9x + vscode-languageclient 10 (pytest-lsp 1.65.2 capture + LSP 3.18 additions)",
        expected_encoding="utf-16",
        inline_completion=True,
        show_document=True,
        code_action_resolve=True,
        document_changes=True,
        configuration=True,
        work_done_progress=True,
        automatic_completion_trigger="Automatic",
        client_name="Visual Studio Code",
        client_version="",  # any current 1.9x release; left unset
        _build=_vscode,
    ),
    "neovim": Preset(
        name="neovim",
        description="Neovim 0.11 (pytest-lsp capture): utf-8 first, no documentChanges advertised",
        expected_encoding="utf-8",
        inline_completion=False,
        show_document=True,
        code_action_resolve=True,
        document_changes=False,
        configuration=True,
        work_done_progress=True,
        applies_document_changes=True,
        automatic_completion_trigger="TriggerCharacter",
        client_name="Neovim",
        client_version="0.11.0",
        _build=_neovim,
    ),
    "helix": Preset(
        name="helix",
        description="Helix 25.01 (helix-lsp/src/client.rs): utf-8 first, no inline completion, no showDocument",
        expected_encoding="utf-8",
        inline_completion=False,
        show_document=False,
        code_action_resolve=True,
        document_changes=True,
        configuration=True,
        work_done_progress=True,
        command_arguments=False,
        runs_resolved_command=False,
        automatic_completion_trigger="Invoked",
        client_name="helix",
        client_version="25.01",
        _build=_helix,
    ),
    "neovim-0.12": Preset(
        name="neovim-0.12",
        description="Neovim 0.12: 0.11 + inlineCompletion (dynamicRegistration false)",
        expected_encoding="utf-8",
        inline_completion=True,
        show_document=True,
        code_action_resolve=True,
        document_changes=False,
        configuration=True,
        work_done_progress=True,
        applies_document_changes=True,
        automatic_completion_trigger="Automatic",
        client_name="Neovim",
        client_version="0.12.0",
        _build=_neovim_012,
    ),
}

_MAIN_PRESETS = ("vscode", "neovim", "helix")


def preset_names() -> list[str]:
    """The three editors every end-to-end test runs against (not ``neovim-0.12``)."""
    return list(_MAIN_PRESETS)


def capabilities(name: str) -> types.ClientCapabilities:
    """A fresh ``ClientCapabilities`` for preset *name* (any key of :data:`PRESETS`)."""
    try:
        preset = PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown client preset {name!r}; choose from {sorted(PRESETS)}") from None
    return preset.capabilities()
