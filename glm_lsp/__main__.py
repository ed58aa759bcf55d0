"""`python -m glm_lsp` is the `glm-lsp` command."""

from glm_lsp.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
