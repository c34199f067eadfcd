"""Connecting to the guard's checked address keeps TLS honest: the certificate is still
verified against the receiver's host name, not against the address connected to."""

from __future__ import annotations

import datetime
import ssl
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from clients.webhook_payload import WebhookEvent, build_webhook_body
from clients.webhook_sender import WebhookSender

from .fake_dns import FakeDns
from .receiver import Receiver, RecordingSleep, start_receiver

BODY = build_webhook_body(WebhookEvent.READY, "ready", "a1b2c3d4e5f60718", {})


def _self_signed(directory: Path, host_name: str) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host_name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(host_name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.fixture
def tls_receiver(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Receiver]:
    cert_path, key_path = _self_signed(tmp_path, "hooks.test")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_path, key_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert_path))  # the sender trusts this cert only
    receiver, server = start_receiver(tls=context)
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()


async def test_https_to_the_checked_address_verifies_the_host_name(
    tls_receiver: Receiver, sleep: RecordingSleep
) -> None:
    port = urlsplit(tls_receiver.url).port
    dns = FakeDns({"hooks.test": [["127.0.0.1"]], "impostor.test": [["127.0.0.1"]]})
    async with WebhookSender("test-secret-not-real", sleep=sleep, resolver=dns) as sender:
        good = await sender.deliver(
            f"https://hooks.test:{port}/hooks/novita", BODY, "instance.ready"
        )
        bad = await sender.deliver(
            f"https://impostor.test:{port}/hooks/novita", BODY, "instance.ready"
        )
    assert good.delivered and good.status_code == 200
    # Same address, other name: the certificate (for hooks.test) must not be accepted.
    assert not bad.delivered and "certificate" in (bad.error or "").lower()
    assert len(tls_receiver.requests) == 1
