"""glm.docstring: the target with a docstring (or doc comment) added, nothing else changed."""

from __future__ import annotations

from glm_lsp.prompts.code import CodeTask, messages as code_messages

SYSTEM = (
    "You are GLM-5.1 inside a code editor, documenting the developer's code. Add a concise "
    "docstring or doc comment in the language's usual convention (Python docstrings, JSDoc, "
    "/// in Rust, Go doc comments, Javadoc…) to each function, method or class in the target "
    "that lacks one. Change nothing else."
)


def messages(task: CodeTask) -> list[dict[str, str]]:
    return code_messages(SYSTEM, task, "Return the target with the documentation added.")
