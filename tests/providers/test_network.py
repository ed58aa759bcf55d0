"""The network under httpx (providers/network.py): connections, keep-alive and TLS, against the fake.

Every other provider test (timeouts, refused connections, cut streams, disconnects on
cancel) runs through the same backend; these cover what only it does.
"""

from __future__ import annotations

import ssl

import pytest
import trustme

from glm_lsp import errors
from glm_lsp import settings as s
from glm_lsp.providers.client import Provider
from tests.fake_glm import FakeGLM, reply_text
from tests.providers.conftest import TEST_KEY, collect, text_of


def provider_for(url: str) -> Provider:
    settings = s.resolve([s.Layer("test", {"provider": "zai", "base_url": url + "/api/paas/v4",
                                           "api_key": TEST_KEY, "max_retries": 0})], env={}).settings
    return Provider(settings)


@pytest.fixture
async def provider(fake):
    made = provider_for(fake.url)
    yield made
    await made.aclose()


async def test_requests_go_through_the_asyncio_backend_and_keep_the_connection(fake, provider):
    fake.push(reply_text("one"), reply_text("two"))
    assert text_of(await collect(provider)) == "one"
    assert text_of(await collect(provider)) == "two"
    assert provider.transport.backend is not None, "httpx's pool was not replaced: its anyio backend is in use"
    assert provider.transport.backend.connections == 1
    assert fake.requests[0].client_port == fake.requests[1].client_port


async def test_a_connection_the_server_closed_while_idle_is_replaced():
    first = FakeGLM().start()
    port = first.port
    made = provider_for(first.url)
    try:
        first.push(reply_text("before"))
        assert text_of(await collect(made)) == "before"
        first.stop()  # closes the kept-alive connection from the server's side
        with FakeGLM(port=port) as second:
            second.push(reply_text("after"))
            assert text_of(await collect(made)) == "after"
            assert made.transport.backend.connections == 2
    finally:
        first.stop()
        await made.aclose()


@pytest.fixture
def https_fake(tmp_path):
    """The fake on https with a certificate from a throwaway CA; (fake, the CA's PEM file)."""
    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    with FakeGLM(ssl_context=server_context) as fake:
        yield fake, ca_file


async def test_https_with_a_trusted_certificate(https_fake, monkeypatch):
    fake, ca_file = https_fake
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))  # (httpx trusts it, as a user's corporate CA)
    fake.push(reply_text("over TLS"), reply_text("again"))
    made = provider_for(fake.url)
    try:
        assert text_of(await collect(made)) == "over TLS"
        assert text_of(await collect(made)) == "again"
        assert made.transport.backend.connections == 1
    finally:
        await made.aclose()
    assert fake.requests[0].headers["authorization"] == f"Bearer {TEST_KEY}"


async def test_https_with_an_untrusted_certificate_is_a_clear_error(https_fake, monkeypatch):
    fake, _ = https_fake
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    made = provider_for(fake.url)
    try:
        with pytest.raises(errors.ConnectionFailedError) as caught:
            await collect(made)
    finally:
        await made.aclose()
    message = str(caught.value)
    assert "TLS error" in message and "CERTIFICATE_VERIFY_FAILED" in message
    assert TEST_KEY not in message
    assert fake.requests == []  # nothing was sent


@pytest.mark.parametrize("variable", ["HTTP_PROXY", "http_proxy", "ALL_PROXY"])
async def test_a_proxy_in_the_environment_is_used(fake, monkeypatch, variable):
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "all_proxy",
                 "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(variable, "http://127.0.0.1:9")  # a proxy that refuses: going direct would succeed
    made = provider_for(fake.url)
    try:
        assert made.transport is None  # httpx's own transports, which honour the proxy
        with pytest.raises(errors.ConnectionFailedError):
            await collect(made)
    finally:
        await made.aclose()
    assert fake.requests == []  # nothing went around the proxy
