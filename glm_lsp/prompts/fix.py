"""glm.fix: repair the target, guided by its diagnostics (and a previous attempt for "Fix again")."""

from __future__ import annotations

from glm_lsp.prompts.code import CodeTask, fenced, messages as code_messages

SYSTEM = (
    "You are GLM-5.1 inside a code editor, fixing bugs in the developer's code. Make the smallest "
    "change that fixes the problem; keep everything else exactly as it is, including comments, "
    "names and formatting."
)


def messages(task: CodeTask, previous_attempt: str | None = None) -> list[dict[str, str]]:
    instruction = "Fix the target code."
    if task.diagnostics:
        instruction = "Fix the target code so that the diagnostics above go away."
    if previous_attempt:
        instruction += (
            "\n\nA previous attempt did not make the diagnostics go away; do better than it:\n"
            + fenced(previous_attempt, task.language)
        )
    return code_messages(SYSTEM, task, instruction)
