"""SSE as real servers send it, over real HTTP: each quirk reassembles the exact text."""

from __future__ import annotations

import json

import pytest

from glm_lsp import errors
from glm_lsp.providers.events import Finish
from glm_lsp.providers.sse import SSEParser
from tests.fake_glm import Cut, Done, Raw, Reply, Text
from tests.providers.conftest import collect, text_of


def chunk(content: str, finish: str | None = None) -> bytes:
    choice = {"index": 0, "delta": {"content": content}}
    if finish:
        choice["finish_reason"] = finish
    return json.dumps({"choices": [choice]}, ensure_ascii=False).encode()


async def test_utf8_character_split_across_reads(fake, make_provider):
    event = b"data: " + chunk("a中😀b") + b"\n\n"
    cut = event.index("中".encode()) + 1  # inside the 3-byte character
    cut2 = event.index("😀".encode()) + 2  # inside the 4-byte emoji
    fake.push(Reply(steps=[Raw(event[:cut]), Raw(event[cut:cut2], delay=0.05), Raw(event[cut2:], delay=0.05),
                           Raw(b"data: " + chunk("", "stop") + b"\n\ndata: [DONE]\n\n", delay=0.02)]))
    assert text_of(await collect(make_provider())) == "a中😀b"


async def test_crlf_line_ends_split_between_reads(fake, make_provider):
    fake.push(Reply(steps=[Raw(b"data: " + chunk("one ") + b"\r"), Raw(b"\n\r\ndata: " + chunk("two", "stop") + b"\r\n\r\n", delay=0.05),
                           Raw(b"data: [DONE]\r\n\r\n")]))
    assert text_of(await collect(make_provider())) == "one two"


async def test_comment_and_keep_alive_lines(fake, make_provider):
    fake.push(Reply(steps=[Raw(b": OPENROUTER PROCESSING\n\n"), Raw(b"data: " + chunk("x") + b"\n\n"), Raw(b":\n\n"),
                           Raw(b"data: " + chunk("y", "stop") + b"\n\ndata: [DONE]\n\n")]))
    assert text_of(await collect(make_provider())) == "xy"


async def test_empty_deltas_are_ignored(fake, make_provider):
    empty = json.dumps({"choices": [{"index": 0, "delta": {"role": "assistant", "content": "", "reasoning_content": None}}]}).encode()
    no_choices = json.dumps({"choices": []}).encode()
    fake.push(Reply(steps=[Raw(b"data: " + empty + b"\n\n"), Raw(b"data: " + no_choices + b"\n\n"), Raw(b"data: \n\n"),
                           Raw(b"data: " + chunk("z", "stop") + b"\n\ndata: [DONE]\n\n")]))
    events = await collect(make_provider())
    assert text_of(events) == "z" and events[-1] == Finish("stop", "stop")


async def test_data_without_a_space(fake, make_provider):
    fake.push(Reply(steps=[Raw(b"data:" + chunk("tight") + b"\n\n"), Raw(b"data:" + chunk("", "stop") + b"\n\ndata:[DONE]\n\n")]))
    assert text_of(await collect(make_provider())) == "tight"


async def test_last_event_without_trailing_blank_line(fake, make_provider):
    fake.push(Reply(steps=[Raw(b"data: " + chunk("end") + b"\n\n"), Raw(b"data: " + chunk("!", "stop"))]))
    events = await collect(make_provider())
    assert text_of(events) == "end!" and events[-1] == Finish("stop", "stop")


async def test_cut_mid_event_raises(fake, make_provider):
    fake.push(Reply(steps=[Text("half"), Raw(b'data: {"choices":[{"delta":{"cont'), Cut()]))
    with pytest.raises(errors.StreamCutError):
        await collect(make_provider())


async def test_clean_http_end_without_finish_or_done_is_a_cut_stream(fake, make_provider):
    fake.push(Reply(steps=[Text("no finish here")]))
    with pytest.raises(errors.StreamCutError) as caught:
        await collect(make_provider())
    assert "cut off" in str(caught.value)


async def test_malformed_json_is_a_protocol_error(fake, make_provider):
    fake.push(Reply(steps=[Text("ok"), Raw(b"data: {not json}\n\n"), Done()]))
    with pytest.raises(errors.ProtocolError):
        await collect(make_provider())


# The pure parser, byte by byte: every split point gives the same events.
STREAM = (": hi\r\ndata:" + '{"a":"中😀"}' + "\r\n\r\nevent: error\ndata: x\ndata: y\n\r" + "data: last").encode()


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7, len(STREAM)])
def test_parser_is_independent_of_read_boundaries(size):
    parser = SSEParser()
    events = []
    for i in range(0, len(STREAM), size):
        events += parser.feed(STREAM[i:i + size])
    events += parser.close()
    assert [(e.event, e.data) for e in events] == [("", '{"a":"中😀"}'), ("error", "x\ny"), ("", "last")]
