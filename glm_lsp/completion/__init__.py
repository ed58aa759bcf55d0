"""Completion: turning a chat model's answer into a clean inline suggestion, fast."""
