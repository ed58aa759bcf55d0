"""Server-sent events, parsed from raw bytes (pure: no I/O, testable alone).

Why our own parser: httpx-sse (the well-kept choice) drops a last event that is
not followed by a blank line, which some gateways send before closing. This one
follows the WHATWG framing otherwise:

- lines end at ``\\r\\n``, ``\\n`` or ``\\r``, also when a ``\\r\\n`` pair is split
  across two network reads;
- bytes are decoded per complete line, so a UTF-8 character split across reads
  is never broken (UTF-8 never uses the bytes of ``\\r``/``\\n`` inside a character);
- ``:`` lines are comments (keep-alives), ``data:`` may omit its space, several
  ``data:`` lines join with ``\\n``, unknown fields are ignored;
- `close` dispatches a pending event that had no trailing blank line.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class SSEEvent:
    data: str
    event: str = ""


class SSEParser:
    def __init__(self) -> None:
        self._pending = b""  # an incomplete line (and possibly a held-back "\r")
        self._data: list[str] = []
        self._event = ""

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        buffer = self._pending + chunk if self._pending else chunk
        if b"\r" in buffer:
            # Hold back a final "\r": the "\n" of its pair may be in the next read.
            held = buffer.endswith(b"\r")
            if held:
                buffer = buffer[:-1]
            buffer = buffer.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
            if held:
                buffer += b"\r"
        lines = buffer.split(b"\n")
        self._pending = lines.pop()
        events: list[SSEEvent] = []
        for line in lines:
            self._line(line, events)
        return events

    def close(self) -> list[SSEEvent]:
        """End of stream: the last unterminated line and event, if any."""
        events: list[SSEEvent] = []
        rest, self._pending = self._pending.rstrip(b"\r"), b""
        if rest:
            self._line(rest, events)
        self._line(b"", events)
        return events

    def _line(self, raw: bytes, events: list[SSEEvent]) -> None:
        if not raw:
            if self._data:
                events.append(SSEEvent("\n".join(self._data), self._event))
            self._data = []
            self._event = ""
            return
        if raw[0] == 0x3A:  # ":" comment / keep-alive
            return
        line = raw.decode("utf-8", errors="replace")
        name, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
