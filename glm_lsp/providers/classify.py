"""Provider error bodies and failure finish reasons → typed errors with user messages.

Classified by (HTTP status, business code) first, message text only as a fallback
for gateways that drop codes. Shapes understood (PROVIDERS.md §1.8, §3, §4.4, §5):
Z.AI/BigModel ``{"error":{"code":"1002","message":…}}`` (code str or int, or at top
level), Oxen ``{"error":{"type","title","detail"}}``, Runware ``{"errors":[{code,
message}]}``, OpenAI/vLLM ``{"error":{"message","type","code"}}`` or
``{"object":"error","message",…}``.
"""

from __future__ import annotations

import json
import re

from glm_lsp import errors as e
from glm_lsp.settings import ZAI_CODING_PLAN_URL, Settings

_MAX_PROVIDER_TEXT = 300

_ZAI_AUTH = {"1000", "1001", "1002", "1003", "1004"}
_ZAI_QUOTA = {"1113", "1304", "1308", "1309", "1310"} | {str(c) for c in range(1311, 1322)}
_ZAI_QUOTA.discard("1312")  # observed as transient
_ZAI_RATE = {"1302", "1303"}
_ZAI_SERVER = {"500", "1120", "1230", "1234", "1305", "1312", "2007", "3002"}
_ZAI_FILTER = {"1300", "1301"}
_ZAI_ACCOUNT = {"1100", "1110", "1111", "1112", "1121"}


def parse_body(body: bytes) -> tuple[str | None, str, object]:
    """(code, message, json) from any provider's error body; never raises."""
    try:
        data = json.loads(body.decode("utf-8", errors="replace")) if body else None
    except ValueError:
        data = None
    if data is None:
        text = body.decode("utf-8", errors="replace").strip()
        return None, text[: _MAX_PROVIDER_TEXT * 4], None
    return (*code_and_message(data), data)


def code_and_message(data: object) -> tuple[str | None, str]:
    if not isinstance(data, dict):
        return None, str(data)[: _MAX_PROVIDER_TEXT * 4]
    err = data.get("error")
    if isinstance(data.get("errors"), list) and data["errors"]:
        err = data["errors"][0]
    if isinstance(err, str):
        err = {"message": err}
    if not isinstance(err, dict):
        err = data  # code/message at top level (some gateways, vLLM's object=error)
    code = err.get("code", data.get("code"))
    if code is None and err.get("type"):
        code = err.get("type")
    message = err.get("message") or err.get("detail") or err.get("title") or data.get("message") or ""
    message = str(message)
    bracket = re.match(r"\[(\d{3,4})\]", message)  # "[1302][Rate limit reached…][id]"
    if code is None and bracket:
        code = bracket.group(1)
    return (None if code is None else str(code)), message[: _MAX_PROVIDER_TEXT * 4]  # cut after scrubbing


def scrub(text: str, secret: str | None) -> str:
    if secret and len(secret) >= 4 and secret in text:
        text = text.replace(secret, "[API key]")
    return text


def classify(
    settings: Settings,
    status: int | None,
    code: str | None,
    message: str,
    *,
    retry_after: float | None = None,
) -> e.ProviderError:
    """One typed error with a message that says what failed and what to do."""
    label = settings.provider_label
    secret = settings.api_key.get_secret_value() if settings.api_key else None
    message = scrub(message.strip(), secret)[:_MAX_PROVIDER_TEXT]  # scrub first: a cut key would survive
    detail = ", ".join(x for x in (f"HTTP {status}" if status else "", f"code {code}" if code else "") if x)
    said = f" ({detail}: {message})" if message else (f" ({detail})" if detail else "")
    kw = {"provider": settings.provider, "status": status, "code": code}
    low = message.lower()
    lcode = (code or "").lower()
    model = settings.effective_model

    if code in _ZAI_AUTH or lcode in {"invalidapikey", "unauthorized", "unauthenticated"} or (
        "apikey" in lcode
    ) or status == 401:
        return e.AuthenticationError(
            f"{label} rejected the API key{said}. Set {settings.key_variable()} "
            f"(or GLM_API_KEY) to a valid key for {label}.",
            **kw,
        )
    if code == "1220" or status == 403:
        return e.AuthenticationError(
            f"{label} refused access{said}. Check that your plan includes {model} "
            "and that the key belongs to this provider.",
            **kw,
        )
    if code == "1113":
        return e.QuotaExceededError(
            f"{label} says the account has no balance or resource package{said}. Top up, or if "
            f"your key is for the GLM Coding Plan, set baseUrl to {ZAI_CODING_PLAN_URL}.",
            **kw,
        )
    if code in _ZAI_QUOTA or any(w in lcode for w in ("credit", "quota", "balance", "paymentrequired")):
        return e.QuotaExceededError(
            f"{label} usage limit reached{said}. Wait until it resets or raise your plan's limit.",
            **kw,
        )
    if code in _ZAI_ACCOUNT:
        return e.AuthenticationError(
            f"{label} cannot use this account{said}. Check the account in {label}'s console.", **kw
        )
    if code in _ZAI_FILTER or lcode in {"contentpolicyviolation", "sensitivecontentdetected"}:
        return e.ContentFilteredError(
            f"{label}'s content filter refused the request{said}. Rephrase it or send different code.",
            **kw,
        )
    if code == "1261" or status == 413 or _looks_too_long(low) or (code == "1210" and "token" in low):
        return e.ContextTooLongError(
            f"The prompt is too long for {model}{said}. Select less code or lower context.maxTokens.",
            **kw,
        )
    if code == "1211" or lcode == "unknownmodel" or (
        status in (400, 404) and "model" in low and ("not found" in low or "not exist" in low or "unknown" in low)
    ):
        return e.UnknownModelError(
            f"{label} does not serve the model '{model}'{said}. Set model to a model id "
            f"{label} serves (the default for {settings.provider} is used when model is unset).",
            **kw,
        )
    if code in _ZAI_RATE or "ratelimit" in lcode or status == 429:
        return e.RateLimitedError(
            f"{label} is rate limiting requests{said}. Wait a moment, or lower maxConcurrentRequests.",
            retry_after=retry_after,
            **kw,
        )
    if code in _ZAI_SERVER or (status is not None and status >= 500) or any(
        w in lcode for w in ("timeout", "internalservererror", "serviceunavailable", "inferenceerror",
                             "modelunavailable", "noavailableserver")
    ):
        return e.ServerError(
            f"{label} had a server error{said}. Try again in a moment.", **kw
        )
    if status == 404:
        return e.BadRequestError(
            f"{label} answered 404 Not Found{said}. Check baseUrl "
            f"({settings.effective_base_url}) and model.",
            **kw,
        )
    return e.BadRequestError(
        f"{label} refused the request{said}. Check baseUrl and model; if they are right, "
        "please report this with the output of `glm-lsp doctor`.",
        **kw,
    )


def _looks_too_long(low: str) -> bool:
    return any(
        w in low
        for w in ("prompt too long", "prompt exceeds max length", "maximum context length",
                  "context length", "context window", "too many tokens")
    )


def from_finish(settings: Settings, raw: str) -> e.ProviderError | None:
    """A finish reason that means failure, as an error; None for normal ones."""
    label = settings.provider_label
    kw = {"provider": settings.provider, "code": raw}
    if raw in ("sensitive", "content_filter"):
        return e.ContentFilteredError(
            f"{label}'s content filter stopped the answer. Rephrase the request or select different code.",
            **kw,
        )
    if raw == "network_error":
        return e.StreamCutError(
            f"{label} failed while generating the answer (network_error). Try again.", **kw
        )
    if raw == "model_context_window_exceeded":
        return e.ContextTooLongError(
            f"The prompt and answer no longer fit {settings.effective_model}'s context window. "
            "Select less code or lower context.maxTokens.",
            **kw,
        )
    return None


def parse_retry_after(headers) -> float | None:
    """Seconds from ``retry-after-ms`` or ``Retry-After`` (seconds; an HTTP date is ignored)."""
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value:
        try:
            return max(0.0, float(value))
        except ValueError:
            from email.utils import parsedate_to_datetime
            from datetime import datetime, timezone

            try:
                when = parsedate_to_datetime(value)
                return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())
            except (TypeError, ValueError):
                return None
    return None
