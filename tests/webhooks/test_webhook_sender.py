import json
import logging
import time

import pytest
from pydantic import SecretStr

from clients.webhook_payload import WebhookEvent, build_webhook_body
from clients.webhook_sender import DeliveryResult, WebhookSender, new_delivery_id
from clients.webhook_signature import verify_webhook_signature

from .receiver import Receiver, RecordingSleep

SECRET = "test-secret-not-real"


def ready_body(data: dict | None = None) -> bytes:
    return build_webhook_body(
        WebhookEvent.READY, "ready", "a1b2c3d4e5f60718", data or {"region": "AS-SGP-02"}
    )


async def test_signature_verifies_over_the_raw_received_body(
    receiver: Receiver, sleep: RecordingSleep
) -> None:
    body = ready_body({"price": "0.35", "city": "Zürich"})
    async with WebhookSender(SECRET, sleep=sleep) as sender:
        result = await sender.deliver(receiver.url, body, WebhookEvent.READY, "delivery-1")

    assert result == DeliveryResult(
        delivery_id="delivery-1", delivered=True, attempts=1, status_code=200, error=None
    )
    (request,) = receiver.requests
    assert request.body == body  # the exact bytes, not re-serialised
    signature = request.headers["X-Webhook-Signature"]
    assert signature.startswith("sha256=")
    assert request.headers["X-Signature-SHA256"] == signature
    assert verify_webhook_signature(SECRET, request.body, signature)
    assert not verify_webhook_signature("another-secret-not-real", request.body, signature)
    assert sleep.waits == []


async def test_headers_and_delivery_id_stable_across_retries(
    receiver: Receiver, sleep: RecordingSleep
) -> None:
    receiver.script(500, 500, 200)
    delivery_id = new_delivery_id()
    before = int(time.time())
    async with WebhookSender(SecretStr(SECRET), sleep=sleep) as sender:
        result = await sender.deliver(receiver.url, ready_body(), "instance.ready", delivery_id)

    assert result.delivered and result.attempts == 3 and result.status_code == 200
    assert result.error is None and result.delivery_id == delivery_id
    assert sleep.waits == [1.0, 2.0]
    assert len(receiver.requests) == 3
    for request in receiver.requests:
        assert request.method == "POST" and request.path == "/hooks/novita"
        assert request.headers["Content-Type"] == "application/json"
        assert request.headers["X-Webhook-Event"] == "instance.ready"
        assert request.headers["X-Webhook-Delivery"] == delivery_id
        assert before <= int(request.headers["X-Webhook-Timestamp"]) <= int(time.time()) + 1
    assert len({r.headers["X-Webhook-Signature"] for r in receiver.requests}) == 1


async def test_startup_event_gets_five_attempts_with_jittered_doubling_waits(
    receiver: Receiver, sleep: RecordingSleep
) -> None:
    receiver.script(*[503] * 10)
    body = build_webhook_body(WebhookEvent.STARTUP_PROGRESS, "starting", "x", {"step": 2})
    async with WebhookSender(SECRET, sleep=sleep) as sender:
        result = await sender.deliver(receiver.url, body, WebhookEvent.STARTUP_PROGRESS, "d-2")

    assert not result.delivered
    assert result.attempts == 5 and len(receiver.requests) == 5
    assert result.status_code == 503 and result.error == "HTTP 503"
    assert len(sleep.waits) == 4
    for wait, base in zip(sleep.waits, (1.0, 2.0, 4.0, 8.0), strict=True):
        assert base <= wait <= base * 1.1


async def test_ordinary_event_gives_up_after_three_attempts(
    receiver: Receiver, sleep: RecordingSleep
) -> None:
    receiver.script(500, 500, 500, 200)
    async with WebhookSender(SECRET, sleep=sleep) as sender:
        result = await sender.deliver(receiver.url, ready_body(), WebhookEvent.READY, "d-3")
    assert (result.delivered, result.attempts, result.status_code) == (False, 3, 500)
    assert sleep.waits == [1.0, 2.0]


@pytest.mark.parametrize("status", [400, 401, 404, 410, 422])
async def test_other_4xx_are_final_after_one_attempt(
    receiver: Receiver, sleep: RecordingSleep, status: int
) -> None:
    receiver.script(status)
    async with WebhookSender(SECRET, sleep=sleep) as sender:
        result = await sender.deliver(receiver.url, ready_body(), WebhookEvent.READY, "d-4")
    assert (result.delivered, result.attempts, result.status_code) == (False, 1, status)
    assert result.error == f"HTTP {status}"
    assert len(receiver.requests) == 1 and sleep.waits == []


@pytest.mark.parametrize("status", [408, 429])
async def test_408_and_429_are_retried(
    receiver: Receiver, sleep: RecordingSleep, status: int
) -> None:
    receiver.script(status, 200)
    async with WebhookSender(SECRET, sleep=sleep) as sender:
        result = await sender.deliver(receiver.url, ready_body(), WebhookEvent.READY, "d-5")
    assert (result.delivered, result.attempts, result.status_code) == (True, 2, 200)
    assert sleep.waits == [1.0]


async def test_redirect_is_not_followed(receiver: Receiver, sleep: RecordingSleep) -> None:
    receiver.script(302)
    async with WebhookSender(SECRET, sleep=sleep) as sender:
        result = await sender.deliver(receiver.url, ready_body(), WebhookEvent.READY, "d-6")
    assert (result.delivered, result.attempts, result.status_code) == (False, 1, 302)
    assert "redirect" in (result.error or "")
    assert len(receiver.requests) == 1


async def test_receiver_down_is_retried_then_reported(
    closed_port_url: str, sleep: RecordingSleep
) -> None:
    async with WebhookSender(SECRET, sleep=sleep) as sender:
        result = await sender.deliver(closed_port_url, ready_body(), WebhookEvent.READY, "d-7")
    assert not result.delivered
    assert result.attempts == 3 and result.status_code is None
    assert "connection" in (result.error or "").lower()
    assert sleep.waits == [1.0, 2.0]


async def test_slow_receiver_times_out_and_is_retried(
    receiver: Receiver, sleep: RecordingSleep
) -> None:
    receiver.delay_s = 1.0
    async with WebhookSender(SECRET, timeout=0.15, sleep=sleep) as sender:
        result = await sender.deliver(receiver.url, ready_body(), WebhookEvent.READY, "d-8")
    assert not result.delivered and result.attempts == 3
    assert "timed out" in (result.error or "")


async def test_invalid_url_is_final(sleep: RecordingSleep) -> None:
    async with WebhookSender(SECRET, sleep=sleep) as sender:
        result = await sender.deliver("ftp://127.0.0.1/x", ready_body(), "instance.ready", "d-9")
    assert (result.delivered, result.attempts) == (False, 1)
    assert "invalid webhook URL" in (result.error or "")


@pytest.mark.parametrize("secret", [None, ""])
async def test_without_secret_no_signature_headers(
    receiver: Receiver, sleep: RecordingSleep, secret: str | None
) -> None:
    async with WebhookSender(secret, sleep=sleep) as sender:
        assert not sender.signs
        result = await sender.deliver(receiver.url, ready_body(), WebhookEvent.READY, "d-10")
    assert result.delivered
    (request,) = receiver.requests
    assert "X-Webhook-Signature" not in request.headers
    assert "X-Signature-SHA256" not in request.headers
    assert request.headers["X-Webhook-Delivery"] == "d-10"


async def test_body_sent_compact_utf8_and_non_ascii_survives(
    receiver: Receiver, sleep: RecordingSleep
) -> None:
    body = ready_body({"name": "gpu-Zürich-東京", "note": "naïve — ok"})
    async with WebhookSender(SECRET, sleep=sleep) as sender:
        await sender.deliver(receiver.url, body, WebhookEvent.READY, "d-11")
    received = receiver.requests[0].body
    assert received == body
    assert b": " not in received and b", " not in received
    parsed = json.loads(received.decode("utf-8"))
    assert parsed["data"] == {"name": "gpu-Zürich-東京", "note": "naïve — ok"}
    assert parsed["event"] == "instance.ready" and parsed["instanceId"] == "a1b2c3d4e5f60718"


async def test_delivery_id_generated_when_omitted(
    receiver: Receiver, sleep: RecordingSleep
) -> None:
    async with WebhookSender(SECRET, sleep=sleep) as sender:
        result = await sender.deliver(receiver.url, ready_body(), WebhookEvent.READY)
    assert len(result.delivery_id) == 36
    assert receiver.requests[0].headers["X-Webhook-Delivery"] == result.delivery_id


async def test_secret_never_in_logs_or_errors(
    receiver: Receiver,
    closed_port_url: str,
    sleep: RecordingSleep,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    receiver.script(500, 400)
    url_with_token = receiver.url + "?token=query-token-not-real"
    async with WebhookSender(SECRET, sleep=sleep) as sender:
        results = [
            await sender.deliver(url_with_token, ready_body(), WebhookEvent.READY, "d-12"),
            await sender.deliver(closed_port_url, ready_body(), WebhookEvent.READY, "d-13"),
            await sender.deliver(receiver.url, ready_body(), WebhookEvent.READY, "d-14"),
        ]
    assert [r.delivered for r in results] == [False, False, True]
    assert "webhook instance.ready" in caplog.text  # the sender did log
    assert SECRET not in caplog.text
    # Our own lines drop query strings (users put tokens there); httpx's INFO line is its own.
    ours = [r.getMessage() for r in caplog.records if r.name.startswith("clients.")]
    assert ours and not any("query-token-not-real" in line for line in ours)
    for result in results:
        assert SECRET not in result.model_dump_json()
    assert SECRET not in repr(sender.__dict__)


def test_short_secret_rejected_without_echoing_it() -> None:
    with pytest.raises(ValueError) as excinfo:
        WebhookSender("tiny")
    assert "tiny" not in str(excinfo.value)


async def test_deliver_outside_context_is_a_usage_error() -> None:
    sender = WebhookSender(SECRET)
    with pytest.raises(RuntimeError):
        await sender.deliver("http://127.0.0.1:9/", b"{}", WebhookEvent.READY, "d-15")
