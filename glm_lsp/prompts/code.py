"""What every code-changing task shares: the file around the target, the target, the answer format.

Message order keeps the stable part first for provider-side prompt caching:
the task's system text (fixed per task), then the file context, then the volatile
target and instruction last.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from glm_lsp.context.documents import split_lines

ANSWER_FORMAT = (
    "Answer with the complete replacement for the target code in ONE fenced code block "
    "(```{language} … ```), and nothing else: no explanation, no lines from outside the target. "
    "Keep the target's indentation."
)


@dataclass
class CodeTask:
    path: str
    language: str
    target: str  # the exact lines to replace
    first_line: int  # 0-based
    before: str = ""  # file text just above the target
    after: str = ""  # file text just below the target
    diagnostics: list[str] = field(default_factory=list)
    context: str = ""  # snippets from other open buffers (the context layer)


def fenced(code: str, language: str) -> str:
    fence = "````" if "```" in code else "```"
    return f"{fence}{language}\n{code.rstrip()}\n{fence}"


def messages(system: str, task: CodeTask, instruction: str) -> list[dict[str, str]]:
    parts = []
    if task.context:
        parts.append(task.context)
    parts.append(f"File: {task.path}\nLanguage: {task.language or 'unknown'}")
    if task.before.strip():
        parts.append("Code above the target (do not repeat it):\n" + fenced(task.before, task.language))
    if task.after.strip():
        parts.append("Code below the target (do not repeat it):\n" + fenced(task.after, task.language))
    last = task.first_line + max(1, len([l for l in split_lines(task.target) if l]))
    parts.append(f"Target, lines {task.first_line + 1}-{last}:\n" + fenced(task.target, task.language))
    if task.diagnostics:
        parts.append("Diagnostics reported in the target:\n" + "\n".join(f"- {d}" for d in task.diagnostics))
    parts.append(instruction + "\n\n" + ANSWER_FORMAT.format(language=task.language))
    return [{"role": "system", "content": system}, {"role": "user", "content": "\n\n".join(parts)}]
