"""glm.tests: unit tests for the target, in the project's test style."""

from __future__ import annotations

from glm_lsp.prompts.code import CodeTask, fenced

SYSTEM = (
    "You are GLM-5.1 inside a code editor, writing unit tests for the developer's code. Use the "
    "language's usual test framework (pytest for Python, the standard testing package for Go, "
    "#[cfg(test)] modules for Rust, Jest/Vitest style for JavaScript/TypeScript, JUnit 5 for Java). "
    "Cover normal cases and edge cases. Answer with test code only, in one fenced code block."
)


def messages(task: CodeTask, test_path: str, existing_tests: str, import_hint: str) -> list[dict[str, str]]:
    parts = [f"File under test: {task.path}\nLanguage: {task.language or 'unknown'}"]
    parts.append(f"Code to test (lines {task.first_line + 1}-):\n" + fenced(task.target, task.language))
    if existing_tests.strip():
        parts.append(
            f"The tests go at the end of {test_path}, which already holds:\n"
            + fenced(existing_tests[-4000:], task.language)
            + "\nWrite only the new tests (no repeated imports unless needed)."
        )
    else:
        parts.append(f"The tests go into a new file {test_path}. {import_hint}")
    parts.append("Write the tests in one fenced code block, nothing else.")
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": "\n\n".join(parts)}]
