"""Every error glm-lsp tells a user about, in one hierarchy.

    GlmError                        anything with a message meant for the user
    ├── SettingsError               a bad setting value: key, value, allowed values
    ├── MissingApiKeyError          no API key for the chosen provider
    └── ProviderError               a model call failed (.provider, .status, .code, .retryable)
        ├── AuthenticationError     401/403: bad key, or no access to the model
        ├── QuotaExceededError      balance or plan quota used up (not retryable now)
        ├── RateLimitedError        429, transient (.retry_after seconds, if the provider said)
        ├── ServerError             5xx or "overloaded" (retryable)
        ├── ContextTooLongError     the prompt does not fit the model's context window
        ├── ContentFilteredError    the provider's content filter stopped the answer
        ├── BadRequestError         any other refusal of the request
        │   └── UnknownModelError   the provider does not serve that model
        ├── ProviderTimeoutError    no connection, first token or next chunk in time
        ├── ConnectionFailedError   DNS failure, connection refused or reset before an answer
        ├── StreamCutError          the stream ended without a finish reason
        └── ProtocolError           the provider sent something that is not its wire format

httpx errors become these inside `glm_lsp.providers` only (one boundary,
``raise … from exc``). ``str(error)`` is the user message: what failed and what
to do; it never contains the API key.
"""

from __future__ import annotations


class GlmError(Exception):
    """An error with a message for the user (``str(err)``)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class SettingsError(GlmError):
    """A setting has a value glm-lsp cannot use."""

    def __init__(self, message: str, *, key: str = "", value: object = None, path: str = "") -> None:
        super().__init__(message)
        self.key = key  # as users write it: completion.debounceMs
        self.value = value
        self.path = path  # as the model names it: completion.debounce_ms


class MissingApiKeyError(GlmError):
    """No API key is set for the chosen provider."""


class ProviderError(GlmError):
    """A model request failed. ``retryable`` says whether trying again may help."""

    retryable = False

    def __init__(
        self,
        message: str,
        *,
        provider: str = "",
        status: int | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.provider = provider
        self.status = status
        self.code = code


class AuthenticationError(ProviderError):
    pass


class QuotaExceededError(ProviderError):
    pass


class RateLimitedError(ProviderError):
    retryable = True

    def __init__(self, message: str, *, retry_after: float | None = None, **kw) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class ServerError(ProviderError):
    retryable = True


class ContextTooLongError(ProviderError):
    pass


class ContentFilteredError(ProviderError):
    pass


class BadRequestError(ProviderError):
    pass


class UnknownModelError(BadRequestError):
    pass


class ProviderTimeoutError(ProviderError):
    """``retryable`` only for connect timeouts: a silent model is not retried."""

    def __init__(self, message: str, *, retryable: bool = False, **kw) -> None:
        super().__init__(message, **kw)
        self.retryable = retryable


class ConnectionFailedError(ProviderError):
    retryable = True


class StreamCutError(ProviderError):
    retryable = True


class ProtocolError(ProviderError):
    pass
