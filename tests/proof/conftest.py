"""Fixtures for the proof suites: the end-to-end ones of tests/lsp (a real server over stdio, the fake provider)."""

from __future__ import annotations

from tests.lsp.conftest import lsp, workspace  # noqa: F401  (re-exported fixtures)
