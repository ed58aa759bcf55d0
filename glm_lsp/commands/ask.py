"""`glm-lsp ask PROMPT`: one request, the answer streamed to stdout as it arrives.

stdout carries exactly the answer text; reasoning (with ``--show-thinking``),
retries, usage and notices go to stderr. Ctrl-C closes the stream and exits 130.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from glm_lsp.cli import EXIT_ERROR, load_settings
from glm_lsp.errors import GlmError


def run(args: argparse.Namespace) -> int:
    question = sys.stdin.read() if args.prompt == "-" else args.prompt
    if not question.strip():
        print("glm-lsp: the prompt is empty: pass a question, or - and pipe it in.", file=sys.stderr)
        return EXIT_ERROR
    resolved = load_settings(args)
    for key in resolved.unknown_keys:
        print(f"glm-lsp: ignoring unknown setting {key}", file=sys.stderr)
    files = _read_files(args.file, resolved.settings)
    if files is None:
        return EXIT_ERROR
    return asyncio.run(_ask(resolved.settings, question, files, args.show_thinking))


def _read_files(names: list[str], settings) -> list[tuple[str, str]] | None:
    """--file contents through the same privacy rules as the server: excluded files refused, secrets redacted."""
    from glm_lsp.context.privacy import Privacy

    key = settings.api_key.get_secret_value() if settings.api_key else ""
    privacy = Privacy(Path.cwd(), list(settings.context.exclude), [key] if key else [])
    files = []
    for name in names:
        reason = privacy.excluded(Path(name).resolve())
        if reason:
            print(f"glm-lsp: not sending --file {name}: it {reason} (context.exclude or .gitignore).", file=sys.stderr)
            return None
        try:
            text = Path(name).read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            print(f"glm-lsp: cannot read --file {name}: {exc.strerror}", file=sys.stderr)
            return None
        files.append((name, privacy.redact(text)))
    return files


async def _ask(settings, question: str, files: list[tuple[str, str]], show_thinking: bool) -> int:
    from glm_lsp.prompts import ask as prompt
    from glm_lsp.providers.client import Provider
    from glm_lsp.providers.events import ChatRequest, Finish, ReasoningDelta, TextDelta, Usage

    def on_retry(error: GlmError, delay: float) -> None:
        print(f"glm-lsp: {error} Retrying in {delay:.1f} s.", file=sys.stderr, flush=True)

    out = sys.stdout
    request = ChatRequest(
        messages=prompt.messages(question, files),
        thinking=settings.thinking != "disabled",
        max_tokens=settings.max_tokens,
        temperature=settings.temperature,
        top_p=settings.top_p,
    )
    provider = Provider(settings, on_retry=on_retry)
    ended_with_newline, cut = True, False
    try:
        async with provider.stream(request) as events:
            async for event in events:
                if isinstance(event, TextDelta):
                    out.write(event.text)
                    out.flush()
                    ended_with_newline = event.text.endswith("\n")
                elif isinstance(event, ReasoningDelta) and show_thinking:
                    sys.stderr.write(event.text)
                    sys.stderr.flush()
                elif isinstance(event, Usage):
                    cached = f", {event.cached_tokens} cached" if event.cached_tokens else ""
                    cost = f", cost {event.cost:g}" if event.cost is not None else ""
                    print(
                        f"\n[tokens: {event.prompt_tokens} prompt{cached}, {event.completion_tokens} completion{cost}]",
                        file=sys.stderr,
                    )
                elif isinstance(event, Finish) and event.reason == "length":
                    cut = True
                    print("\nglm-lsp: the answer was cut at maxTokens; raise maxTokens for longer answers.",
                          file=sys.stderr)
    except GlmError as exc:
        if not ended_with_newline:
            out.write("\n")
        out.flush()
        from glm_lsp.context.privacy import Privacy

        key = settings.api_key.get_secret_value() if settings.api_key else ""
        print(f"glm-lsp: {Privacy(None, [], [key] if key else []).redact(str(exc))}", file=sys.stderr)
        return EXIT_ERROR
    finally:
        await provider.aclose()
    if (cut or out.isatty()) and not ended_with_newline:
        out.write("\n")
    out.flush()
    return EXIT_ERROR if cut else 0  # a script must be able to tell a cut answer
