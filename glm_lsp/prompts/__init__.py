"""Prompts: a task and its context → chat messages (pure; stable part first for prompt caching)."""
