"""Every provider's error bodies → one typed error with a message that says what to do."""

from __future__ import annotations

import pytest

from glm_lsp import errors
from tests.fake_glm import ErrorFrame, Reply, Text, reply_error
from tests.providers.conftest import TEST_KEY, collect

CASES = [
    # provider, status, code, error type, words the message must contain
    ("zai", 401, "1002", errors.AuthenticationError, "ZAI_API_KEY"),
    ("zai", 403, "1220", errors.AuthenticationError, "plan"),
    ("zai", 404, "1211", errors.UnknownModelError, "glm-5.1"),
    ("zai", 400, "1214", errors.BadRequestError, "refused"),
    ("zai", 400, "1261", errors.ContextTooLongError, "context.maxTokens"),
    ("zai", 400, "1301", errors.ContentFilteredError, "content filter"),
    ("zai", 429, "1302", errors.RateLimitedError, "maxConcurrentRequests"),
    ("zai", 429, "1113", errors.QuotaExceededError, "https://api.z.ai/api/coding/paas/v4"),
    ("zai", 429, "1308", errors.QuotaExceededError, "limit"),
    ("zai", 500, "500", errors.ServerError, "Try again"),
    ("zai", 503, "1305", errors.ServerError, "Try again"),
    ("bigmodel", 401, "1000", errors.AuthenticationError, "BIGMODEL_API_KEY"),
    ("oxen", 401, None, errors.AuthenticationError, "OXEN_API_KEY"),
    ("oxen", 400, None, errors.BadRequestError, "refused"),
    ("oxen", 500, None, errors.ServerError, "server error"),
    ("runware", 401, "invalidApiKey", errors.AuthenticationError, "RUNWARE_API_KEY"),
    ("runware", 404, "unknownModel", errors.UnknownModelError, "zai-glm-5-1"),
    ("runware", 400, "invalidParameter", errors.BadRequestError, "refused"),
    ("runware", 402, "insufficientCredits", errors.QuotaExceededError, "limit"),
    ("runware", 429, "rateLimitExceeded", errors.RateLimitedError, "rate limiting"),
    ("runware", 500, "internalServerError", errors.ServerError, "server error"),
    ("runware", 400, "contentPolicyViolation", errors.ContentFilteredError, "content filter"),
    ("openai", 400, None, errors.BadRequestError, "refused"),
    ("openai", 500, None, errors.ServerError, "server error"),
]


@pytest.mark.parametrize("provider,status,code,error,words", CASES)
async def test_error_body_maps_to_typed_error(fake, make_provider, provider, status, code, error, words):
    fake.push(reply_error(status, provider=provider, code=code))
    with pytest.raises(errors.ProviderError) as caught:
        await collect(make_provider(provider))
    assert type(caught.value) is error
    assert words in str(caught.value)
    assert caught.value.status == status
    assert TEST_KEY not in str(caught.value)


async def test_oxen_model_not_found_and_vllm_context_length(fake, make_provider):
    fake.push(Reply(status=404, body={"error": {"message": "Model not found: bad-model-name"}}))
    with pytest.raises(errors.UnknownModelError):
        await collect(make_provider("oxen"))
    fake.push(Reply(status=400, body={"object": "error", "message": "This model's maximum context length is 8192 tokens.",
                                      "type": "BadRequestError", "param": None, "code": 400}))
    with pytest.raises(errors.ContextTooLongError):
        await collect(make_provider("openai"))


async def test_numeric_code_at_top_level_and_bracketed_message(fake, make_provider):
    fake.push(Reply(status=429, body={"code": 1113, "message": "Insufficient balance"}))
    with pytest.raises(errors.QuotaExceededError):
        await collect(make_provider("zai"))
    fake.push(Reply(status=400, body={"error": {"message": "[1261][Prompt too long][req-1]"}}))
    with pytest.raises(errors.ContextTooLongError):
        await collect(make_provider("zai"))


async def test_non_json_error_body(fake, make_provider):
    fake.push(Reply(status=502, body="<html>Bad Gateway</html>"))
    with pytest.raises(errors.ServerError) as caught:
        await collect(make_provider("zai"))
    assert "Bad Gateway" in str(caught.value)


async def test_an_error_body_echoing_the_key_never_shows_it(fake, make_provider):
    fake.push(Reply(status=401, body={"error": {"code": "1002", "message": f"token {TEST_KEY} is invalid"}}))
    with pytest.raises(errors.AuthenticationError) as caught:
        await collect(make_provider("zai"))
    assert TEST_KEY not in str(caught.value) and "[API key]" in str(caught.value)


@pytest.mark.parametrize("frame,error", [
    ({"error": {"code": 1302, "message": "Rate limit reached for requests"}}, errors.RateLimitedError),
    ({"error": {"code": "1301", "message": "unsafe"}}, errors.ContentFilteredError),
])
async def test_in_band_error_frame_after_content(fake, make_provider, frame, error):
    fake.push(Reply(steps=[Text("partial "), ErrorFrame(frame)]))
    with pytest.raises(error):
        await collect(make_provider("zai"))
    assert len(fake.requests) == 1


async def test_runware_in_band_errors(fake, make_provider):
    fake.push(Reply(steps=[Text("x"), ErrorFrame({"errors": [{"code": "timeoutProvider", "message": "The provider timed out."}]})]))
    with pytest.raises(errors.ServerError) as caught:
        await collect(make_provider("runware"))
    assert "timed out" in str(caught.value)


async def test_missing_key_is_a_clear_error_without_a_request(fake, make_provider):
    provider = make_provider("zai", api_key=None)
    with pytest.raises(errors.MissingApiKeyError) as caught:
        await collect(provider)
    assert "ZAI_API_KEY" in str(caught.value)
    assert fake.requests == []
