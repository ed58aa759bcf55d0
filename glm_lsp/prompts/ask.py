"""`glm-lsp ask`: a free question, optionally about some files."""

from __future__ import annotations

SYSTEM = (
    "You are GLM-5.1 answering a developer in a terminal. Answer directly and concisely. "
    "Use Markdown code fences for code."
)


def messages(question: str, files: list[tuple[str, str]]) -> list[dict[str, str]]:
    """Files come first (they change less often than the question), the question last."""
    parts = [f"File `{path}`:\n```\n{text}\n```" for path, text in files]
    parts.append(question)
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": "\n\n".join(parts)}]
