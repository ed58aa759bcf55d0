"""``glm-lsp serve`` reads its client from a pipe (the event loop reads it) or from a file (pygls' reader)."""

from __future__ import annotations

import json
import subprocess

import pytest


def frame(message: dict) -> bytes:
    body = json.dumps(message).encode()
    return b"Content-Length: %d\r\n\r\n%s" % (len(body), body)


INITIALIZE = frame({"jsonrpc": "2.0", "id": 1, "method": "initialize",
                    "params": {"processId": None, "capabilities": {}}})
INITIALIZED = frame({"jsonrpc": "2.0", "method": "initialized", "params": {}})
SHUTDOWN = frame({"jsonrpc": "2.0", "id": 2, "method": "shutdown", "params": None})
EXIT = frame({"jsonrpc": "2.0", "method": "exit", "params": None})


def responses(stdout: bytes) -> dict:
    """id → result of every response in the server's output."""
    out, rest = {}, stdout
    while rest:
        head, _, rest = rest.partition(b"\r\n\r\n")
        length = int(head.split(b"Content-Length:")[1].split(b"\r\n")[0])
        message, rest = json.loads(rest[:length]), rest[length:]
        if "id" in message and "method" not in message:
            out[message["id"]] = message.get("result")
    return out


def read_message(stream) -> dict:
    length = 0
    while (line := stream.readline()) not in (b"\r\n", b""):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    return json.loads(stream.read(length))


def test_a_session_over_a_pipe(cli):
    server = subprocess.Popen(cli.argv("serve"), cwd=cli.cwd, env=cli.env(), stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        server.stdin.write(INITIALIZE)
        server.stdin.flush()
        answer = read_message(server.stdout)
        assert answer["id"] == 1 and answer["result"]["serverInfo"]["name"] == "glm-lsp"
        assert "inlineCompletionProvider" in answer["result"]["capabilities"]
        server.stdin.write(INITIALIZED + SHUTDOWN)
        server.stdin.flush()
        while "method" in (answer := read_message(server.stdout)):
            pass  # the server's own requests and notifications (configuration, ...)
        assert answer["id"] == 2 and answer["result"] is None
        server.stdin.write(EXIT)
        server.stdin.close()
        assert server.wait(timeout=30) == 0
        assert b"Traceback" not in server.stderr.read()
    finally:
        server.kill()
        server.wait()


def test_a_session_from_a_file_ends_at_its_end(cli, tmp_path):
    """A file on stdin (a recorded session): pygls' reader, and the end of the file ends the server."""
    session = tmp_path / "session.bin"
    session.write_bytes(INITIALIZE + INITIALIZED)
    with session.open("rb") as file:
        done = subprocess.run(cli.argv("serve"), cwd=cli.cwd, env=cli.env(), stdin=file, capture_output=True,
                              timeout=60)
    assert responses(done.stdout)[1]["serverInfo"]["name"] == "glm-lsp"
    assert done.returncode == 0 and b"Traceback" not in done.stderr


def test_a_message_cut_short_by_the_end_of_input_ends_the_server_quietly(cli):
    cut = INITIALIZE + INITIALIZED + SHUTDOWN[:-10]  # half a message, then the pipe closes
    done = subprocess.run(cli.argv("serve"), cwd=cli.cwd, env=cli.env(), input=cut, capture_output=True, timeout=60)
    assert 1 in responses(done.stdout)
    assert 2 not in responses(done.stdout)
    assert done.returncode == 0 and b"Traceback" not in done.stderr


def test_one_socket_for_both_directions_is_served(cli):
    """stdin and stdout the same socket (a bridge): pygls' reader, so writes stay blocking."""
    import socket

    ours, theirs = socket.socketpair()
    with ours, theirs:
        server = subprocess.Popen(cli.argv("serve"), cwd=cli.cwd, env=cli.env(), stdin=theirs, stdout=theirs,
                                  stderr=subprocess.PIPE)
        try:
            stream = ours.makefile("rwb")
            stream.write(INITIALIZE)
            stream.flush()
            answer = read_message(stream)
            assert answer["id"] == 1 and answer["result"]["serverInfo"]["name"] == "glm-lsp"
            stream.write(INITIALIZED + SHUTDOWN)
            stream.flush()
            while "method" in (answer := read_message(stream)):
                pass
            assert answer["id"] == 2
            stream.write(EXIT)
            stream.flush()
            assert server.wait(timeout=30) == 0
            assert b"Traceback" not in server.stderr.read()
        finally:
            server.kill()
            server.wait()
