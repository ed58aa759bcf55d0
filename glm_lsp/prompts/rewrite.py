"""glm.rewrite: rewrite the target following the user's instruction (or a set one)."""

from __future__ import annotations

from glm_lsp.prompts.code import CodeTask, messages as code_messages

SYSTEM = (
    "You are GLM-5.1 inside a code editor, rewriting the developer's code as they ask. Keep its "
    "behaviour unless the instruction says otherwise, and keep the surrounding style."
)

# Set rewrites offered without free text (Helix menus, showMessageRequest).
PRESETS = {
    "simplify": "Simplify this code without changing its behaviour.",
    "add type hints": "Add type hints (or the language's type annotations) without changing behaviour.",
    "improve names": "Improve the names of variables and functions local to this code.",
    "make it faster": "Make this code faster without changing its behaviour.",
}


def messages(task: CodeTask, instruction: str) -> list[dict[str, str]]:
    return code_messages(SYSTEM, task, f"Instruction: {instruction}")
