"""The ``glm-lsp`` command: ``serve`` (the default), ``ask`` and ``doctor``.

Common flags (``--provider``, ``--base-url``, ``--model``, ``--config``,
``--log-file``, ``-v``) are accepted before or after the subcommand. Errors are
one line on stderr saying what to do, and a non-zero exit; a traceback only with
``-v``. Only the standard library is imported here so that ``serve`` starts fast.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from glm_lsp import __version__
from glm_lsp.logs import SecretFilter

EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
log = logging.getLogger("glm_lsp")


def _add_common(parser: argparse.ArgumentParser, *, top: bool) -> None:
    # Subcommands default to SUPPRESS so a flag given before the subcommand is kept.
    default = None if top else argparse.SUPPRESS
    group = parser.add_argument_group("common options")
    group.add_argument("--provider", default=default, help="zai, bigmodel, oxen, runware or openai")
    group.add_argument("--base-url", default=default, metavar="URL", help="API base URL")
    group.add_argument("--model", default=default, help="model id")
    group.add_argument("--config", default=default, metavar="FILE", help="an extra TOML settings file")
    group.add_argument("--log-file", default=default, metavar="FILE", help="write logs here, not stderr")
    group.add_argument(
        "-v", "--verbose", action="count", default=0 if top else argparse.SUPPRESS,
        help="more logging (-vv for debug) and tracebacks on errors",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="glm-lsp", description="GLM-5.1 in your editor: a language server, plus ask and doctor."
    )
    parser.add_argument("--version", action="version", version=f"glm-lsp {__version__}")
    _add_common(parser, top=True)
    sub = parser.add_subparsers(dest="command")

    serve = sub.add_parser("serve", help="run the language server (what editors start; the default)")
    _add_common(serve, top=False)
    serve.add_argument("--tcp", action="store_true", help="listen on TCP instead of stdio (debugging)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=2087)

    ask = sub.add_parser("ask", help="ask GLM-5.1 once; the answer streams to stdout")
    _add_common(ask, top=False)
    ask.add_argument("prompt", help="the question; - reads it from stdin")
    ask.add_argument("--file", action="append", default=[], metavar="PATH", help="add a file as context")
    ask.add_argument("--show-thinking", action="store_true", help="stream the model's reasoning to stderr")

    doctor = sub.add_parser("doctor", help="show the effective settings and make one live request")
    _add_common(doctor, top=False)
    return parser


def cli_settings(args: argparse.Namespace) -> dict:
    """The CLI layer of settings: only flags the user gave."""
    values = {"provider": args.provider, "base_url": args.base_url, "model": args.model}
    return {key: value for key, value in values.items() if value is not None}


def setup_logging(verbosity: int, log_file: str | None) -> None:
    import os

    for name, value in os.environ.items():
        if name.endswith("_API_KEY"):
            SecretFilter.add(value.strip())
    handler: logging.Handler = logging.FileHandler(log_file) if log_file else logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(SecretFilter())
    log.addHandler(handler)
    log.setLevel(logging.WARNING if verbosity <= 0 else logging.INFO if verbosity == 1 else logging.DEBUG)
    log.propagate = False


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    command = args.command or "serve"
    if command == "serve" and args.command is None:
        args.tcp, args.host, args.port = False, "127.0.0.1", 2087
    try:
        setup_logging(args.verbose, args.log_file)
    except OSError as exc:
        print(f"glm-lsp: cannot open log file {args.log_file}: {exc.strerror}", file=sys.stderr)
        return EXIT_USAGE
    try:
        if command == "serve":
            from glm_lsp.server import serve

            return serve(args)
        if command == "ask":
            from glm_lsp.commands.ask import run

            return run(args)
        from glm_lsp.commands.doctor import run

        return run(args)
    except KeyboardInterrupt:
        print("glm-lsp: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:  # the last line of defence: one clear line, no traceback
        from glm_lsp.errors import GlmError

        if args.verbose:
            import traceback

            traceback.print_exc()
        if isinstance(exc, GlmError):
            print(f"glm-lsp: {exc}", file=sys.stderr)
        else:
            print(f"glm-lsp: unexpected error: {type(exc).__name__}: {exc} (run with -v for details)", file=sys.stderr)
        return EXIT_ERROR


def load_settings(args: argparse.Namespace):
    """Settings for a CLI command: files, environment, then flags; the cwd is the workspace."""
    from glm_lsp import settings

    config = Path(args.config) if args.config else None
    return settings.load(workspace_root=Path.cwd(), config_file=config, cli=cli_settings(args))
