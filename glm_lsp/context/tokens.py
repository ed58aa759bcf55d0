"""Token counts without shipping GLM's tokenizer: a cheap estimate, calibrated by the provider.

The estimate counts ASCII at ~4 characters a token and other characters at ~0.7 of
a token each (CJK and emoji cost more). Every time the provider reports the prompt
tokens of a request, the ratio reported/estimated moves the calibration factor
(an exponential moving average), so estimates converge on the real tokenizer.
"""

from __future__ import annotations

ASCII_CHARS_PER_TOKEN = 4.0
NON_ASCII_TOKENS_PER_CHAR = 0.7
SMOOTHING = 0.3  # weight of the newest observation


class TokenEstimator:
    def __init__(self) -> None:
        self.factor = 1.0

    def raw(self, text: str) -> float:
        non_ascii = len(text) - len(text.encode("ascii", "ignore"))
        return (len(text) - non_ascii) / ASCII_CHARS_PER_TOKEN + non_ascii * NON_ASCII_TOKENS_PER_CHAR

    def estimate(self, text: str) -> int:
        return max(1, round(self.raw(text) * self.factor)) if text else 0

    def observe(self, prompt_text: str, reported_prompt_tokens: int) -> None:
        """Calibrate from one request: what we sent, and what the provider says it counted."""
        raw = self.raw(prompt_text)
        if raw < 50 or reported_prompt_tokens <= 0:
            return  # too small to say anything about the ratio
        ratio = min(4.0, max(0.25, reported_prompt_tokens / raw))
        self.factor = (1 - SMOOTHING) * self.factor + SMOOTHING * ratio
