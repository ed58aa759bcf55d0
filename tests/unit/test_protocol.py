"""The server's protocol in-process: notifications leave nothing behind."""

from __future__ import annotations

import json

from glm_lsp.server import create_server


def feed(protocol, message: dict) -> None:
    """One message from the client, parsed the way pygls' reader parses it."""
    protocol.handle_message(json.loads(json.dumps({"jsonrpc": "2.0", **message}),
                                       object_hook=protocol.structure_message))


def test_a_thousand_keystrokes_leave_no_futures_behind():
    server = create_server()
    protocol = server.protocol
    uri = "file:///tmp/a.py"
    feed(protocol, {"method": "textDocument/didOpen", "params": {
        "textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": "x = 1\n"}}})
    for version in range(2, 1002):
        feed(protocol, {"method": "textDocument/didChange", "params": {
            "textDocument": {"uri": uri, "version": version},
            "contentChanges": [{"range": {"start": {"line": 1, "character": 0}, "end": {"line": 1, "character": 0}},
                                "text": "y"}]}})
    assert server.state.documents.get(uri).text == "x = 1\n" + "y" * 1000  # every keystroke was applied
    assert len(protocol._request_futures) == 0
