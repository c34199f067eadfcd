import hashlib
import hmac

from pydantic import SecretStr

from clients.webhook_signature import sign_webhook_body, verify_webhook_signature

SECRET = "test-secret-not-real"
BODY = '{"event":"instance.ready","data":{"city":"Zürich"}}'.encode()


def test_signature_is_hmac_sha256_hex_with_prefix() -> None:
    expected = hmac.new(SECRET.encode(), BODY, hashlib.sha256).hexdigest()
    assert sign_webhook_body(SECRET, BODY) == "sha256=" + expected
    assert sign_webhook_body(SecretStr(SECRET), BODY) == "sha256=" + expected


def test_verify_accepts_the_right_signature_only() -> None:
    header = sign_webhook_body(SECRET, BODY)
    assert verify_webhook_signature(SECRET, BODY, header)
    assert verify_webhook_signature(SecretStr(SECRET), BODY, header)
    assert verify_webhook_signature(SECRET, BODY, header.upper().replace("SHA256=", "sha256="))
    assert not verify_webhook_signature("another-secret-not-real", BODY, header)
    assert not verify_webhook_signature(SECRET, BODY.replace(b"ready", b"readz"), header)
    # a re-serialised body (spaces) is a different body
    assert not verify_webhook_signature(SECRET, BODY.replace(b",", b", "), header)


def test_verify_rejects_missing_or_malformed_headers() -> None:
    digest = sign_webhook_body(SECRET, BODY).removeprefix("sha256=")
    assert not verify_webhook_signature(SECRET, BODY, None)
    assert not verify_webhook_signature(SECRET, BODY, "")
    assert not verify_webhook_signature(SECRET, BODY, digest)  # no prefix
    assert not verify_webhook_signature(SECRET, BODY, "sha1=" + digest)
    assert not verify_webhook_signature(SECRET, BODY, "sha256=zz")
    assert not verify_webhook_signature(SECRET, BODY, "sha256=é" + digest)
