"""The least an inline-completion server on pygls 2 + httpx can do: the floor for bench/completion_latency.py.

It keeps the open buffers (pygls' own workspace; each version's lines split once),
cuts 120 lines before the cursor and 40 after, POSTs a fill-in-the-middle prompt to
``initializationOptions.baseUrl + /chat/completions`` with one pooled httpx client,
reads the SSE stream line by line and answers with the text. It reads stdin with
glm-lsp's own reader, on the event loop (pygls' own hands every line to a thread).

No context from other buffers, no redaction, no post-processing, no cache, debounce,
retries or error handling: what glm-lsp adds over this is the cost of those.
Started by bench/completion_latency.py and bench/instructions.py, not by users.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import threading

import httpx
from lsprotocol import types
from pygls.io_ import StdoutWriter, run_async
from pygls.lsp.server import LanguageServer

from glm_lsp.server import _stdin_reader

server = LanguageServer("minimal-completion", "0")
state: dict = {"lines": {}}


@server.feature(types.INITIALIZE)
def initialize(ls: LanguageServer, params: types.InitializeParams) -> None:
    state["url"] = params.initialization_options["baseUrl"] + "/chat/completions"
    state["client"] = httpx.AsyncClient()


@server.feature(types.TEXT_DOCUMENT_INLINE_COMPLETION, types.InlineCompletionOptions())
async def inline_completion(ls: LanguageServer, params: types.InlineCompletionParams) -> types.InlineCompletionList:
    doc = ls.workspace.get_text_document(params.text_document.uri)
    key = (doc.uri, doc.version)
    lines = state["lines"].get(key)
    if lines is None:  # (pygls splits the whole text on every access)
        lines = state["lines"][key] = doc.lines
    line, column = params.position.line, params.position.character
    prefix = "".join(lines[max(0, line - 120) : line]) + lines[line][:column]
    suffix = lines[line][column:] + "".join(lines[line + 1 : line + 41])
    body = {
        "model": "glm-5.1", "stream": True, "thinking": {"type": "disabled"}, "max_tokens": 64,
        "temperature": 0.2,
        "messages": [{"role": "system", "content": "Answer with the code that fills <HOLE>, nothing else."},
                     {"role": "user", "content": prefix + "<HOLE>" + suffix}],
    }
    text = []
    async with state["client"].stream("POST", state["url"], json=body,
                                      headers={"Authorization": "Bearer bench"}) as response:
        async for sse in response.aiter_lines():
            if sse.startswith("data: ") and sse != "data: [DONE]":
                choices = json.loads(sse[6:]).get("choices") or [{}]
                delta = choices[0].get("delta", {}).get("content")
                if delta:
                    text.append(delta)
    here = types.Range(start=params.position, end=params.position)
    return types.InlineCompletionList(items=[types.InlineCompletionItem(insert_text="".join(text), range=here)])


async def main() -> None:
    server._stop_event = threading.Event()
    server.protocol.set_writer(StdoutWriter(sys.stdout.buffer))
    reader = await _stdin_reader(sys.stdin.buffer, sys.stdout.buffer, server.thread_pool)  # glm-lsp's own
    await run_async(stop_event=server._stop_event, reader=reader, protocol=server.protocol,
                    logger=logging.getLogger("minimal"), error_handler=server.report_server_error)


if __name__ == "__main__":
    asyncio.run(main())
