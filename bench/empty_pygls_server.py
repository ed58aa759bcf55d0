"""The smallest pygls 2 server, nothing registered: the baseline for bench/startup.py."""

from pygls.lsp.server import LanguageServer

server = LanguageServer("empty", "0")
server.start_io()
