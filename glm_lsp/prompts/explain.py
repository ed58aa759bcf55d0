"""Explain: the selected code with its file path and language → messages.

Stable part first (system text, then the file), the volatile selection last, so
provider-side prompt caching hits across requests.
"""

from __future__ import annotations

SYSTEM = (
    "You are GLM-5.1 inside a code editor, explaining code to the developer who wrote or is "
    "reading it. Say what the code does and why, then anything surprising: bugs, edge cases, "
    "performance traps. Be concise and concrete. Answer in Markdown."
)


def messages(path: str, language: str, code: str, first_line: int, last_line: int,
             context: str = "") -> list[dict[str, str]]:
    fence = "````" if "```" in code else "```"
    user = (context + "\n\n" if context else "") + (
        f"File: {path}\nLanguage: {language or 'unknown'}\n"
        f"Lines {first_line + 1}-{last_line + 1}:\n{fence}{language}\n{code.rstrip()}\n{fence}\n\n"
        "Explain this code."
    )
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]
