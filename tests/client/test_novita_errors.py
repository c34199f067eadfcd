"""Error classes built from Novita's envelope, from HTML/empty bodies and from the network."""

from __future__ import annotations

import pickle
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest
import respx

from clients.novita import (
    CreateInstanceRequest,
    NovitaAuthenticationError,
    NovitaBillingError,
    NovitaCapacityError,
    NovitaClient,
    NovitaConnectionError,
    NovitaError,
    NovitaInvalidRequestError,
    NovitaInvalidStateError,
    NovitaNotFoundError,
    NovitaQuotaError,
    NovitaRateLimitError,
    NovitaRequestTimeoutError,
    NovitaServerError,
    NovitaTimeoutError,
    NovitaTransportError,
    RetryPolicy,
    error_from_response,
    error_from_transport,
)
from clients.novita.errors import parse_retry_after
from tests.client.novita_fakes import API_KEY, HTML_502, envelope, make_client, make_router


@pytest.fixture
def router() -> respx.Router:
    return make_router()


@pytest.fixture
async def client(router: respx.Router) -> AsyncIterator[NovitaClient]:
    async with make_client(router, retry_policy=RetryPolicy.disabled()) as novita:
        yield novita


@pytest.mark.parametrize(
    ("response", "cls", "retryable"),
    [
        (envelope(401, "UNAUTHORIZED", "invalid token"), NovitaAuthenticationError, False),
        (envelope(403, "INVALID_API_KEY", "invalid api-key"), NovitaAuthenticationError, False),
        (envelope(404, "", "instance not found"), NovitaNotFoundError, False),
        (envelope(400, "RESOURCE_NOT_FOUND", "resource not found"), NovitaNotFoundError, False),
        (envelope(400, "TEMPLATE_NOT_FOUND", "template not found"), NovitaNotFoundError, False),
        (envelope(400, "JOB_NOT_FOUND", "job not found"), NovitaNotFoundError, False),
        (envelope(400, "IMAGE_NOT_FOUND", "image not found"), NovitaNotFoundError, False),
        (envelope(400, "", "template not found"), NovitaNotFoundError, False),
        (envelope(400, "REQUEST", "template not found"), NovitaNotFoundError, False),
        (envelope(400, "VALIDATOR_PARAM", "field not found"), NovitaInvalidRequestError, False),
        (envelope(400, "VALIDATOR_PARAM", "insufficient resource"), NovitaCapacityError, False),
        (envelope(429, "RATE_LIMIT_EXCEEDED", "too many"), NovitaRateLimitError, True),
        (envelope(400, "INSUFFICIENT_RESOURCE", "no gpu left"), NovitaCapacityError, False),
        (envelope(400, "MIGRATE_INSUFFICIENT_RESOURCE", "no"), NovitaCapacityError, False),
        (envelope(400, "CLUSTER_STATUS", "cluster busy"), NovitaCapacityError, False),
        (envelope(400, "NODE_STATUS", "node down"), NovitaCapacityError, False),
        (envelope(400, "CREATE_INSTANCE_LIMIT", "limit"), NovitaQuotaError, False),
        (
            envelope(400, "CREATE_GPU_NUM_LIMIT", "limit ${0} GPUs", **{"0": 8}),
            NovitaQuotaError,
            False,
        ),
        (envelope(400, "BALANCE_NOT_ENOUGH", "top up"), NovitaBillingError, False),
        (envelope(400, "VALIDATOR_PARAM", "gpuNum invalid"), NovitaInvalidRequestError, False),
        (envelope(400, "", "invalid state change"), NovitaInvalidStateError, False),
        (envelope(400, "REQUEST", "invalid state change"), NovitaInvalidStateError, False),
        (envelope(400, "DEPENDENT_RESOURCE_STATE", "busy"), NovitaInvalidStateError, False),
        (envelope(400, "INVALID_STATE_CHANGE", "cannot stop"), NovitaInvalidStateError, False),
        (httpx.Response(408), NovitaRequestTimeoutError, True),
        (envelope(500, "UNKNOWN", "oops"), NovitaServerError, True),
        (envelope(500, "WALLET_NOT_FOUND", "wallet"), NovitaServerError, True),
        (
            httpx.Response(502, text=HTML_502, headers={"content-type": "text/html"}),
            NovitaServerError,
            True,
        ),
        (httpx.Response(503), NovitaServerError, True),
        (httpx.Response(504, text="upstream timed out"), NovitaServerError, True),
    ],
)
def test_error_classes(response: httpx.Response, cls: type[NovitaError], retryable: bool) -> None:
    error = error_from_response(response, "create instance")
    assert type(error) is cls
    assert error.retryable is retryable
    assert error.status_code == response.status_code
    assert error.operation == "create instance"
    assert str(error).startswith("Novita ") and "create instance" in str(error)


def test_capacity_message_reads_well() -> None:
    error = error_from_response(
        envelope(400, "INSUFFICIENT_RESOURCE", "insufficient resource"),
        "create instance",
        target="'train-1' in cluster us-ca-6",
    )
    assert isinstance(error, NovitaCapacityError)
    assert error.reason == "INSUFFICIENT_RESOURCE"
    assert error.api_message == "insufficient resource"
    assert str(error) == (
        "Novita refused to create instance 'train-1' in cluster us-ca-6: not enough capacity"
        " (INSUFFICIENT_RESOURCE, HTTP 400: insufficient resource)"
    )
    assert error.message == str(error)


def test_placeholders_are_filled_from_metadata() -> None:
    error = error_from_response(
        envelope(400, "CREATE_GPU_NUM_LIMIT", "GPU quota reached: ${0} GPUs", **{"0": 8}),
        "create instance",
    )
    assert "GPU quota reached: 8 GPUs" in str(error)
    assert error.metadata == {"0": 8}


def test_html_502_and_empty_bodies() -> None:
    html = error_from_response(
        httpx.Response(502, text=HTML_502, headers={"content-type": "text/html"}), "list instances"
    )
    assert isinstance(html, NovitaServerError)
    assert html.reason is None
    assert "<html>" not in str(html)
    assert "HTTP 502" in str(html) and "non-JSON" in str(html)
    empty = error_from_response(httpx.Response(500), "list instances")
    assert isinstance(empty, NovitaServerError) and "empty body" in str(empty)


def test_fastapi_style_detail_is_read() -> None:
    error = error_from_response(
        httpx.Response(422, json={"detail": [{"loc": ["body", "gpuNum"], "msg": "too big"}]}),
        "create instance",
    )
    assert isinstance(error, NovitaInvalidRequestError)
    assert "body.gpuNum: too big" in str(error)


def test_request_id_is_picked_up() -> None:
    response = httpx.Response(
        500,
        json={"code": 500, "reason": "UNKNOWN", "message": "x"},
        headers={"X-Request-Id": "req-42"},
    )
    error = error_from_response(response, "list clusters")
    assert error.request_id == "req-42" and "req-42" in str(error)


def test_retry_after_seconds_and_http_date() -> None:
    seconds = error_from_response(
        httpx.Response(429, headers={"Retry-After": "3"}, json={"reason": "RATE_LIMIT_EXCEEDED"}),
        "list instances",
    )
    assert isinstance(seconds, NovitaRateLimitError) and seconds.retry_after == 3.0
    now = datetime(2026, 1, 15, tzinfo=UTC)
    header = {"Retry-After": format_datetime(now + timedelta(seconds=7), usegmt=True)}
    assert parse_retry_after(header, now=now.timestamp()) == pytest.approx(7.0)
    assert parse_retry_after({"retry-after": "garbage"}) is None
    assert parse_retry_after({"Retry-After": "-4"}) == 0.0
    assert parse_retry_after({"Retry-After-Ms": "1500"}) == 1.5
    assert parse_retry_after({}) is None


def test_transport_errors() -> None:
    refused = error_from_transport(httpx.ConnectError("refused"), "list clusters")
    assert isinstance(refused, NovitaConnectionError) and isinstance(refused, NovitaTransportError)
    assert refused.retryable and not refused.maybe_processed
    read = error_from_transport(httpx.ReadTimeout("slow"), "create instance", idempotent=False)
    assert isinstance(read, NovitaTimeoutError) and read.maybe_processed
    # A create that may have happened must not be retried by anyone, Prefect tasks included.
    assert read.retryable is False
    assert error_from_transport(httpx.ReadTimeout("slow"), "list clusters").retryable
    assert "MAY have taken effect" in str(read)
    connect = error_from_transport(
        httpx.ConnectTimeout("slow"), "create instance", idempotent=False
    )
    assert isinstance(connect, NovitaTimeoutError) and not connect.maybe_processed
    assert "MAY" not in str(connect)
    assert str(refused).startswith("Could not reach Novita to list clusters")


def test_errors_pickle_round_trip() -> None:
    error = error_from_response(
        httpx.Response(429, headers={"Retry-After": "3"}, json={"reason": "RATE_LIMIT_EXCEEDED"}),
        "list instances",
        target="page 2",
    )
    clone = pickle.loads(pickle.dumps(error))
    assert type(clone) is NovitaRateLimitError
    assert str(clone) == str(error)
    assert clone.retry_after == 3.0 and clone.reason == "RATE_LIMIT_EXCEEDED"


async def test_api_key_never_leaks_into_errors(client: NovitaClient, router: respx.Router) -> None:
    # A server that echoes the key back must not get it into our messages.
    echo = f"invalid api-key {API_KEY}"
    router.get("/clusters").respond(
        401,
        json={"code": 401, "reason": "UNAUTHORIZED", "message": echo, "metadata": {"key": API_KEY}},
    )
    router.get("/gpu/instance").mock(side_effect=httpx.ConnectError(f"boom {API_KEY}"))
    router.get("/jobs").respond(502, text=f"<html>{API_KEY}</html>")
    errors: list[NovitaError] = []
    for call in (
        client.list_clusters(),
        client.get_instance("07ed667185a895bb"),
        client.list_jobs(),
    ):
        with pytest.raises(NovitaError) as info:
            await call
        errors.append(info.value)
    assert isinstance(errors[0], NovitaAuthenticationError)
    for error in errors:
        dumped = pickle.dumps(error)
        for text in (str(error), repr(error), str(error.__dict__), str(error.args)):
            assert API_KEY not in text
        assert API_KEY.encode() not in dumped
        assert error.__cause__ is None
    assert "[REDACTED]" in str(errors[0])


async def test_image_auth_never_leaks_into_create_errors(
    client: NovitaClient, router: respx.Router
) -> None:
    router.post("/gpu/instance/create").respond(
        400,
        json={
            "code": 400,
            "reason": "IMAGE_URL_OR_AUTH_ERROR",
            "message": "cannot pull with bot:reg-pass-SECRET",
        },
    )
    request = CreateInstanceRequest(
        name="x", product_id="p", rootfs_size=20, image_url="img", image_auth="bot:reg-pass-SECRET"
    )
    with pytest.raises(NovitaInvalidRequestError) as info:
        await client.create_instance(request)
    assert "reg-pass-SECRET" not in str(info.value) + repr(info.value)
