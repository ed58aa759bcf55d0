"""glm-lsp: a language server that brings GLM-5.1 into any LSP editor."""

__version__ = "0.1.0"
