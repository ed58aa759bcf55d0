"""Log hygiene: API keys are masked in every log record, at every level.

Debug logs carry raw protocol traffic (initialize params, file contents); the keys we
know (from the environment and from settings) and any ``apiKey`` field are replaced.
Standard library only: the settings module registers keys here without importing the CLI.
"""

from __future__ import annotations

import logging
import re


class SecretFilter(logging.Filter):
    """Masks API keys in every log record, at every level (debug logs carry raw protocol traffic)."""

    secrets: set[str] = set()
    # a key given in settings shows up in logged initialize params before we have read it
    _KEY_FIELD = re.compile(r"""(api_?key['"]?\s*[:=]\s*['"]?)([^'",}\s)]+)""", re.IGNORECASE)

    @classmethod
    def add(cls, secret: str | None) -> None:
        if secret and len(secret) >= 6:
            cls.secrets.add(secret)

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        masked = self._KEY_FIELD.sub(r"\1[API key]", text)
        for secret in self.secrets:
            if secret in masked:
                masked = masked.replace(secret, "[API key]")
        if masked != text:
            record.msg, record.args = masked, None
        return True
