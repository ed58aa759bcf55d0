"""Edits: streamed model text → replacement text → versioned workspace edits, revert (no HTTP)."""
