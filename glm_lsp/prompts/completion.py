"""Inline completion: a fill-in-the-middle prompt for a chat model.

The file goes in whole lines around the cursor with a hole marker at the cursor; the
instruction asks for the hole's text only. Context snippets from other buffers come
first (stable between keystrokes, so provider prompt caching hits), the volatile
prefix/hole/suffix last.
"""

from __future__ import annotations

HOLE = "<|CURSOR|>"

SYSTEM = (
    "You are a code completion engine inside an editor. The user sends a file with the marker "
    f"{HOLE} where the cursor is. Reply with ONLY the text to insert at {HOLE}: no code fences, "
    "no explanation, no text that already stands before or after the marker. Complete the current "
    "line, or when the cursor starts an empty block, its body. If nothing sensible fits, reply with "
    "nothing."
)


def messages(path: str, language: str, prefix: str, suffix: str, context: str = "") -> list[dict[str, str]]:
    parts = [context] if context else []
    parts.append(f"File: {path}\nLanguage: {language or 'unknown'}\n\n{prefix}{HOLE}{suffix}")
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": "\n\n".join(parts)}]
