"""Whatever Novita answers, the client ends in a valid model or a typed, readable NovitaError.

Generated answers (hypothesis) go through the real `NovitaClient` code on an injected
`httpx.MockTransport`: valid bodies, bodies broken in a way the client documents as an error
(missing envelope, an id that is an object, a price that is not a number...), random JSON,
HTML pages, truncated or deeply nested JSON, empty and non-UTF-8 bodies, every error status
with random bodies and garbage `Retry-After` headers, and network failures. Each call either
returns a valid model (only when the body really is valid) or raises a `NovitaError` subclass
whose message names the operation, stays short, and never holds the API key; a KeyError,
TypeError, ValidationError, JSONDecodeError or RecursionError never leaks out. The number of
HTTP requests the transport saw is the error's `attempts`.

Slow and huge answers come from a real socket server in this process (asyncio): a body
trickling one byte per 0.2 s, headers that never come, 50 MB streamed with or without a
Content-Length. Each ends in its typed error within the client's bound (`request_deadline`,
`max_response_bytes`) plus slack for a loaded machine.
"""

from __future__ import annotations

import asyncio
import json
import math
import pickle
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clients.novita import (
    Cluster,
    CreateInstanceRequest,
    Instance,
    InstanceStatus,
    Job,
    NovitaClient,
    NovitaDeadlineExceededError,
    NovitaError,
    NovitaRateLimitError,
    NovitaRequestTimeoutError,
    NovitaResponseTooLargeError,
    NovitaServerError,
    NovitaTransportError,
    NovitaUnexpectedResponseError,
    Product,
    RetryPolicy,
    Template,
)
from clients.novita.error_classification import AUTH_REASONS

KEY = "sk_fake_property_key_123456"
BASE_URL = "http://novita.invalid/gpu-instance/openapi/v1"
INSTANCE_ID = "0123456789abcdef"
TEMPLATE_ID = "1001"
MAX_MESSAGE_CHARS = 1500
"""A message longer than this is not read by anyone: the server's text must be cut short."""

CREATE_REQUEST = CreateInstanceRequest(
    name="prop-1",
    product_id="rtx4090.us-ca-6",
    rootfs_size=60,
    image_url="nvidia/cuda:12.4.0-base-ubuntu22.04",
    cluster_id="us-ca-6",
)

BOUNDED = settings(
    max_examples=200,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# -- valid answers -------------------------------------------------------------------------

ident = st.from_regex(r"[a-z0-9][a-z0-9._-]{0,24}", fullmatch=True)
hex_id = st.text("0123456789abcdef", min_size=16, max_size=16)
label = st.text(max_size=24)
amount = st.integers(0, 10**9)
amount_text = amount.map(str)
epoch_text = st.integers(0, 4_000_000_000).map(str)

cluster_item = st.fixed_dictionaries(
    {"id": ident, "name": label},
    optional={
        "availableGpuType": st.none() | st.lists(label, max_size=3),
        "supportNetworkStorage": st.booleans(),
        "supportInstanceNetwork": st.booleans(),
    },
)
product_item = st.fixed_dictionaries(
    {"id": ident, "name": label, "price": amount | amount_text},
    optional={
        "spotPrice": amount_text | st.just(""),
        "regions": st.lists(st.sampled_from(["US-CA-06 (California)", "AS-SGP-02"]), max_size=2),
        "availableDeploy": st.booleans(),
        "cpuPerGpu": amount | amount_text,
        "minRootFS": amount,
        "billingMethods": st.lists(st.sampled_from(["onDemand", "spot", "monthly"]), max_size=3),
    },
)
instance_item = st.fixed_dictionaries(
    {
        "id": hex_id,
        "name": label,
        "status": st.sampled_from([s.value for s in InstanceStatus]) | label,
    },
    optional={
        "clusterId": ident,
        "cpuNum": amount_text,
        "rootfsSize": amount,
        "createdAt": epoch_text,
        "lastStoppedAt": st.just("0"),
        "billingMode": st.sampled_from(["", "spot", "onDemand"]),
        "spotReclaimTime": epoch_text,
        "portMappings": st.lists(
            st.fixed_dictionaries(
                {
                    "port": st.integers(1, 65535),
                    "type": st.sampled_from(["http", "tcp", "HTTP"]),
                    "endpoint": label,
                }
            ),
            max_size=2,
        ),
    },
)
job_item = st.fixed_dictionaries(
    {
        "Id": ident,
        "type": st.sampled_from(["instanceMigrate", "saveImage"]),
        "state": st.fixed_dictionaries(
            {
                "state": st.sampled_from(["pulling", "running", "fail", "success", "break"]),
                "error": label,
                "message": label,
            }
        ),
        "instanceId": hex_id,
        "createdAt": epoch_text,
    }
)
template_item = st.fixed_dictionaries(
    {"Id": st.integers(1, 10**6).map(str), "name": label, "image": label},
    optional={
        "ports": st.lists(
            st.fixed_dictionaries(
                {
                    "type": st.sampled_from(["http", "tcp"]),
                    "ports": st.lists(st.integers(1, 65535), max_size=3),
                }
            ),
            max_size=2,
        ),
        "envs": st.lists(st.fixed_dictionaries({"key": ident, "value": label}), max_size=2),
        "rootfsSize": amount,
    },
)
create_item = st.fixed_dictionaries({"id": hex_id | st.integers(1, 10**12)})


@dataclass(frozen=True)
class Operation:
    """One client method, how its valid answer is built, and which fields it must check."""

    name: str
    words: str  # what the error messages call it
    call: Callable[[NovitaClient], Awaitable[Any]]
    item: st.SearchStrategy[dict[str, Any]]
    id_key: str
    envelope: str | None  # the key holding the item(s); None: the body is the item
    many: bool
    model: type | None
    empty_id_allowed: bool = False  # Job and Template ids are lenient (IdStr)

    def body(self, items: list[dict[str, Any]]) -> Any:
        """The valid answer carrying `items`."""
        if self.many:
            body: dict[str, Any] = {self.envelope or "data": items}
            if self.envelope in ("instances", "jobs"):
                body["total"] = len(items)
            return body
        return {self.envelope: items[0]} if self.envelope else items[0]


OPERATIONS = [
    Operation(
        "list_clusters", "list clusters", lambda c: c.list_clusters(),
        cluster_item, "id", "data", True, Cluster,
    ),
    Operation(
        "list_products", "list products", lambda c: c.list_products(),
        product_item, "id", "data", True, Product,
    ),
    Operation(
        "list_instances", "list instances", lambda c: c.list_instances(),
        instance_item, "id", "instances", True, Instance,
    ),
    Operation(
        "get_instance", "get instance", lambda c: c.get_instance(INSTANCE_ID),
        instance_item, "id", None, False, Instance,
    ),
    Operation(
        "create_instance", "create instance", lambda c: c.create_instance(CREATE_REQUEST),
        create_item, "id", None, False, None,
    ),
    Operation(
        "list_jobs", "list jobs", lambda c: c.list_jobs(),
        job_item, "Id", "jobs", True, Job, empty_id_allowed=True,
    ),
    Operation(
        "get_template", "get template", lambda c: c.get_template(TEMPLATE_ID),
        template_item, "Id", "template", False, Template, empty_id_allowed=True,
    ),
]  # fmt: skip
BY_NAME = {op.name: op for op in OPERATIONS}
operations = st.sampled_from(OPERATIONS)


@st.composite
def valid_answers(draw: st.DrawFn, op: Operation) -> tuple[Any, list[str]]:
    """A valid body for `op` and the ids the client must hand back, in order."""
    if op.many:
        items = draw(st.lists(op.item, max_size=5, unique_by=lambda item: item[op.id_key]))
    else:
        items = [draw(op.item)]
    return op.body(items), [str(item[op.id_key]) for item in items]


# -- the transport and the checks ----------------------------------------------------------


@dataclass
class Answers:
    """An httpx MockTransport handler that gives the same answer every time and counts."""

    make: Callable[[httpx.Request], httpx.Response]
    seen: list[httpx.Request] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        return self.make(request)


class FakeSleep:
    """Retries take no time; the waits asked for are kept."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def respond(status: int, content: bytes, headers: dict[str, str] | None = None) -> Answers:
    # Header values go over the wire as bytes; any text a server may send arrives as latin-1.
    raw = [(k.encode(), v.encode("latin-1", "replace")) for k, v in (headers or {}).items()]
    return Answers(lambda _request: httpx.Response(status, content=content, headers=raw))


async def _call(
    op: Operation,
    answers: Answers,
    policy: RetryPolicy | None = None,
    sleep: FakeSleep | None = None,
    **client_options: Any,
) -> Any:
    async with NovitaClient(
        api_key=KEY,
        base_url=BASE_URL,
        transport=httpx.MockTransport(answers),
        retry_policy=policy or RetryPolicy.disabled(),
        sleep=sleep or FakeSleep(),
        **client_options,
    ) as client:
        return await op.call(client)


def call(op: Operation, answers: Answers, **options: Any) -> Any:
    """Run one client call to the end: its result, or the exception it raised (returned)."""
    try:
        return asyncio.run(_call(op, answers, **options))
    except Exception as exc:  # the property decides which exceptions are allowed
        return exc


def encoded(body: Any) -> bytes:
    return json.dumps(body).encode()


def assert_typed_and_readable(outcome: Any, op: Operation, answers: Answers) -> NovitaError:
    """The outcome is a NovitaError that names the operation, is short and holds no key."""
    if not isinstance(outcome, NovitaError):
        raise AssertionError(f"{op.name}: expected a NovitaError, got {outcome!r}") from (
            outcome if isinstance(outcome, BaseException) else None
        )
    text, shown = str(outcome), repr(outcome)
    assert text.strip(), "empty message"
    assert op.words in text, text
    assert len(text) <= MAX_MESSAGE_CHARS, f"{len(text)} chars: {text[:200]}..."
    assert KEY not in text and KEY not in shown
    # Prefect pickles a failed task's exception into its result: the key must not ride along.
    assert KEY.encode() not in pickle.dumps(outcome)
    assert outcome.attempts == len(answers.seen), (outcome.attempts, len(answers.seen))
    return outcome


def returned_ids(op: Operation, result: Any) -> list[str]:
    """The ids of what the client returned, after checking each is the documented model."""
    if op.model is None:  # create_instance: the new instance id
        assert isinstance(result, str) and result.strip(), repr(result)
        return [result]
    models = result if op.many else [result]
    assert isinstance(models, list)
    for model in models:
        assert isinstance(model, op.model), repr(model)
        assert isinstance(model.id, str)
        assert model.id or op.empty_id_allowed
    return [model.id for model in models]


# -- 1. valid answers give models ----------------------------------------------------------


@BOUNDED
@given(data=st.data(), op=operations)
def test_a_valid_answer_gives_the_models_it_describes(data: st.DataObject, op: Operation) -> None:
    body, ids = data.draw(valid_answers(op))
    answers = respond(200, encoded(body), {"content-type": "application/json"})
    outcome = call(op, answers)
    assert not isinstance(outcome, BaseException), f"{op.name} refused a valid answer: {outcome}"
    assert returned_ids(op, outcome) == ids
    assert len(answers.seen) == 1


# -- 2. answers broken the documented way are refused -------------------------------------

BAD_IDS: list[Any] = [{}, [], ["x"], True, False, None, 1.5, {"id": "x"}]
BAD_NUMBERS: list[Any] = ["abc", "1.2.3", "12abc", "NaN", "Infinity", {}, [], True, False]
BAD_TEXTS: list[Any] = [{}, [], ["x"], True, False]
BAD_STATUSES: list[Any] = [5, 1.5, {}, [], ["running"], True, False]
NOT_LISTS: list[Any] = [{}, {"a": 1}, "x", 5, True, 1.5]
NOT_OBJECTS: list[Any] = [[], "x", 5, True, None, 1.5]


@st.composite
def refused_answers(draw: st.DrawFn, op: Operation) -> tuple[Any, str]:
    """A valid answer with one defect the client documents as an error, and its label."""
    if op.many:
        items = draw(st.lists(op.item, min_size=1, max_size=4, unique_by=lambda i: i[op.id_key]))
    else:
        items = [draw(op.item)]
    body = op.body(items)
    index = draw(st.integers(0, len(items) - 1))
    item = items[index]
    defects: list[str] = ["missing id", "bad id", "body not an object"]
    if op.envelope:
        defects += ["missing envelope", "envelope of the wrong type"]
    if op.name == "list_products":
        defects += ["bad price", "bad spot price"]
    if op.model is Instance:
        defects += ["bad clusterId", "bad status"]
    defect = draw(st.sampled_from(defects))
    bad_ids = BAD_IDS if op.empty_id_allowed else [*BAD_IDS, "", "   "]
    if defect == "missing id":
        del item[op.id_key]
    elif defect == "bad id":
        item[op.id_key] = draw(st.sampled_from(bad_ids))
    elif defect == "body not an object":
        body = draw(st.sampled_from(NOT_OBJECTS))
    elif defect == "missing envelope":
        del body[op.envelope]
    elif defect == "envelope of the wrong type":
        body[op.envelope] = draw(st.sampled_from(NOT_LISTS if op.many else NOT_OBJECTS[:-2]))
    elif defect == "bad price":
        item["price"] = draw(st.sampled_from(BAD_NUMBERS))
    elif defect == "bad spot price":
        item["spotPrice"] = draw(st.sampled_from(BAD_NUMBERS))
    elif defect == "bad clusterId":
        item["clusterId"] = draw(st.sampled_from(BAD_TEXTS))
    elif defect == "bad status":
        item["status"] = draw(st.sampled_from(BAD_STATUSES))
    return body, f"{defect} (item {index})"


@BOUNDED
@given(data=st.data(), op=operations)
def test_an_answer_with_a_documented_defect_is_an_unexpected_response_error(
    data: st.DataObject, op: Operation
) -> None:
    body, defect = data.draw(refused_answers(op), label="defect")
    answers = respond(200, encoded(body))
    outcome = call(op, answers)
    error = assert_typed_and_readable(outcome, op, answers)
    assert isinstance(error, NovitaUnexpectedResponseError), f"{defect}: {error!r}"
    assert error.status_code == 200 and not error.retryable
    assert len(answers.seen) == 1


# -- 3. random JSON: a model only when it is one, else a typed error -------------------

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)
FIELD_NAMES = sorted(
    {
        *("id", "Id", "name", "status", "clusterId", "price", "spotPrice", "regions"),
        *("availableGpuType", "portMappings", "state", "ports", "envs", "template"),
        *("data", "instances", "jobs", "total", "cpuNum", "createdAt", "billingMethods"),
        *("connectComponentSSH", "statusError", "monthlyPrice", "instance", "type", "key"),
    }
)


def _junk_item() -> st.SearchStrategy[dict[str, Any]]:
    return st.dictionaries(st.sampled_from(FIELD_NAMES) | st.text(max_size=6), json_values)


@st.composite
def junk_answers(draw: st.DrawFn, op: Operation) -> Any:
    """Random JSON: anywhere, or valid items with random values in their documented fields."""
    where = draw(st.sampled_from(["anywhere", "in an item", "in the envelope"]))
    if where == "anywhere":
        return draw(json_values)
    body, _ids = draw(valid_answers(op))
    if where == "in the envelope" and isinstance(body, dict):
        body[draw(st.sampled_from(FIELD_NAMES))] = draw(json_values)
        return body
    items = body.get(op.envelope) if op.envelope else body
    target = (items[0] if items else None) if isinstance(items, list) else items
    if isinstance(target, dict):
        target.update(draw(_junk_item()))
    return body


@BOUNDED
@given(data=st.data(), op=operations)
def test_random_json_gives_a_model_or_a_typed_error(data: st.DataObject, op: Operation) -> None:
    body = data.draw(junk_answers(op), label="body")
    answers = respond(200, encoded(body))
    outcome = call(op, answers)
    if isinstance(outcome, BaseException):
        assert_typed_and_readable(outcome, op, answers)
        assert isinstance(outcome, NovitaUnexpectedResponseError)
    else:
        returned_ids(op, outcome)


# -- 4. answers that are not JSON at all ---------------------------------------------------


def html_page(title: str, text: str) -> bytes:
    return (
        f"<!DOCTYPE html><html><head><title>{title}</title></head>"
        f"<body><h1>{title}</h1><p>{text}</p></body></html>"
    ).encode()


@st.composite
def not_json(draw: st.DrawFn, op: Operation) -> tuple[bytes, bool]:
    """Bytes that are not a valid answer; the flag says they cannot possibly be one."""
    kind = draw(st.sampled_from(["html", "truncated", "empty", "bytes", "nested", "latin-1"]))
    if kind == "html":
        return html_page(draw(label), draw(st.text(max_size=60))), True
    if kind == "truncated":
        body, _ids = draw(valid_answers(op))
        text = encoded(body)
        return text[: draw(st.integers(0, len(text) - 1))], True
    if kind == "empty":
        return draw(st.sampled_from([b"", b" ", b"\n\r\n", b"\t"])), True
    if kind == "nested":
        depth = draw(st.sampled_from([64, 500, 990, 5_000, 200_000]))
        opener, closer = draw(st.sampled_from([("[", "]"), ('{"a":', "}")]))
        inner = (opener * depth + "1" + closer * depth).encode()
        where = draw(st.sampled_from(["top", "envelope", "item field"]))
        if where == "top":
            return inner, True
        if where == "envelope":
            return b'{"%s": %s}' % ((op.envelope or "extra").encode(), inner), True
        item = b'{"%s": "x1", "deep": %s}' % (op.id_key.encode(), inner)
        if not op.envelope:
            return item, False
        return b'{"%s": %s}' % (op.envelope.encode(), b"[%s]" % item if op.many else item), False
    if kind == "latin-1":
        body, _ids = draw(valid_answers(op))
        return json.dumps(body, ensure_ascii=False).encode("latin-1", "replace") + b"\xff", True
    return draw(st.binary(max_size=64)), False


@BOUNDED
@given(data=st.data(), op=operations)
def test_a_body_that_is_not_json_is_a_typed_error(data: st.DataObject, op: Operation) -> None:
    raw, never_valid = data.draw(not_json(op), label="raw")
    content_type = data.draw(st.sampled_from(["application/json", "text/html", "text/plain"]))
    answers = respond(200, raw, {"content-type": content_type})
    outcome = call(op, answers)
    if isinstance(outcome, BaseException) or never_valid:
        error = assert_typed_and_readable(outcome, op, answers)
        assert isinstance(error, NovitaUnexpectedResponseError)
    else:
        json.loads(raw)  # random bytes gave a model: they must at least have been JSON
        returned_ids(op, outcome)


# -- 5. error statuses, with any body and any Retry-After -------------------------------

REASONS = [
    "INSUFFICIENT_RESOURCE", "RESOURCE_NOT_FOUND", "TEMPLATE_NOT_FOUND", "INVALID_STATE_CHANGE",
    "UNAUTHORIZED", "RATE_LIMIT_EXCEEDED", "CREATE_INSTANCE_LIMIT", "BALANCE_NOT_ENOUGH",
    "VALIDATOR_PARAM", "REQUEST", "", "x" * 400,
]  # fmt: skip
error_statuses = st.sampled_from([300, 301, 302, 304, 307, 400, 401, 403, 404, 405, 408, 409])
error_statuses |= st.sampled_from([413, 418, 422, 429, 429, 500, 502, 503, 504, 520, 599])
error_statuses |= st.integers(300, 599)
echo = st.sampled_from(["", KEY, f"Bearer {KEY}", f"bad key {KEY}!"])
"""What a server may echo back: nothing, or the API key it was sent."""
retry_after_values = st.one_of(
    st.integers(-(10**6), 10**12).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["", " ", "soon", "1e400", "-1e400", "nan", "inf", "0x10", "1_0", "½"]),
    st.sampled_from(["Wed, 21 Oct 2015 07:28:00 GMT", "Fri, 31 Dec 9999 23:59:59 GMT"]),
    st.sampled_from(["Mon, 32 Foo 2020 99:99:99 GMT", "Tue, 01 Jan 0100 00:00:00 +1400"]),
    st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=30),
)


@st.composite
def error_bodies(draw: st.DrawFn) -> bytes:
    """Any error body: Novita's envelope with random fields, FastAPI, HTML, junk, deep JSON."""
    kind = draw(st.sampled_from(["envelope", "fastapi", "html", "junk", "empty", "deep"]))
    said = draw(echo)
    if kind == "envelope":
        body: dict[str, Any] = {
            "code": draw(st.integers(0, 999) | json_values),
            "reason": draw(st.sampled_from(REASONS) | json_values) or said,
            "message": draw(st.text(max_size=40) | json_values) or f"denied {said}",
            "metadata": draw(st.dictionaries(st.text(max_size=8), json_values | echo)),
        }
        if draw(st.booleans()):
            body = {"error": body}
        return encoded(body)
    if kind == "fastapi":
        detail = draw(
            st.lists(
                st.fixed_dictionaries({"loc": json_values, "msg": json_values | echo})
                | json_values,
                max_size=3,
            )
        )
        return encoded({"detail": detail})
    if kind == "html":
        return html_page(draw(label), said + draw(st.text(max_size=40)))
    if kind == "junk":
        return draw(st.binary(max_size=64)) + said.encode()
    if kind == "deep":
        depth = draw(st.sampled_from([500, 990, 5_000, 200_000]))
        return b'{"message": ' + b"[" * depth + b"]" * depth + b"}"
    return b""


@BOUNDED
@given(
    op=operations,
    status=error_statuses,
    body=error_bodies(),
    retry_after=st.none() | retry_after_values,
    retry_after_ms=st.none() | retry_after_values,
    request_id=st.none() | echo | st.text(st.characters(min_codepoint=33, max_codepoint=255)),
)
def test_an_error_status_is_a_typed_error_retried_only_when_retryable(
    op: Operation,
    status: int,
    body: bytes,
    retry_after: str | None,
    retry_after_ms: str | None,
    request_id: str | None,
) -> None:
    headers = {"content-type": "application/json"}
    for name, value in (
        ("retry-after", retry_after),
        ("retry-after-ms", retry_after_ms),
        ("x-request-id", request_id),
    ):
        if value:
            headers[name] = value
    if status in (301, 302, 307):
        headers["location"] = "http://elsewhere.invalid/"
    policy = RetryPolicy(max_attempts=3, initial_wait=0.01, jitter=0, max_retry_after=30)
    sleep = FakeSleep()
    answers = respond(status, body, headers)
    outcome = call(op, answers, policy=policy, sleep=sleep)
    error = assert_typed_and_readable(outcome, op, answers)
    assert error.status_code == status
    if type(error).retryable and not (op.model is None and error.maybe_processed):
        too_long = getattr(error, "retry_after", None) is not None and error.retry_after > 30
        assert len(answers.seen) == (1 if too_long else 3), (error, answers.seen)
    else:
        assert len(answers.seen) == 1, error
    if status >= 500 and error.reason in (None, "", "REQUEST", "VALIDATOR_PARAM"):
        assert isinstance(error, NovitaServerError)
    if status == 408 and not error.reason:
        assert isinstance(error, NovitaRequestTimeoutError)
    reason = (error.reason or "").upper()
    if status == 429 and reason not in AUTH_REASONS and not reason.endswith("API_KEY"):
        assert isinstance(error, NovitaRateLimitError)  # whatever the body says
    if isinstance(error, NovitaRateLimitError):
        assert error.retry_after is None or (
            math.isfinite(error.retry_after) and error.retry_after >= 0
        )
    assert all(math.isfinite(wait) and 0 <= wait <= 30 for wait in sleep.waits), sleep.waits


# -- 5b. answers these properties once caught crashing or leaking ------------------

DEEP = b"[" * 990 + b"]" * 990
FOUND: list[tuple[str, str, int, bytes, dict[str, str], type[NovitaError]]] = [
    # (what it was, operation, status, body, headers, the error it must be now)
    ("job state a list: AttributeError", "list_jobs", 200,
     encoded({"jobs": [{"Id": "j1", "state": {"state": ["x"]}}], "total": 1}), {},
     NovitaUnexpectedResponseError),
    ("port type a list: AttributeError", "get_instance", 200,
     encoded({"id": INSTANCE_ID, "portMappings": [{"port": 22, "type": ["tcp"]}]}), {},
     NovitaUnexpectedResponseError),
    ("deep JSON: RecursionError", "list_clusters", 200, b"[" * 200_000 + b"]" * 200_000, {},
     NovitaUnexpectedResponseError),
    ("deep JSON in an item: RecursionError", "list_products", 200,
     b'{"data": [{"id": "p1", "deep": %s}]}' % DEEP, {}, NovitaUnexpectedResponseError),
    ("deep JSON error body: RecursionError", "get_template", 503, DEEP, {}, NovitaServerError),
    ("FastAPI loc not a list: TypeError", "list_clusters", 422,
     encoded({"detail": [{"loc": 5, "msg": "bad"}]}), {}, NovitaError),
    ("create id an object: returned \"{'a': 1}\"", "create_instance", 200,
     encoded({"id": {"a": 1}}), {}, NovitaUnexpectedResponseError),
    ("create id true: returned 'True'", "create_instance", 200, encoded({"id": True}), {},
     NovitaUnexpectedResponseError),
    ("cluster id blank: accepted", "list_clusters", 200, encoded({"data": [{"id": "  "}]}), {},
     NovitaUnexpectedResponseError),
    ("request id header echoes the key: leaked", "list_clusters", 500, b"",
     {"x-request-id": KEY}, NovitaServerError),
    ("content type echoes the key: leaked", "list_products", 200, b"<html>",
     {"content-type": f"text/html; {KEY}"}, NovitaUnexpectedResponseError),
    ("non-ASCII header on an error: UnicodeEncodeError", "list_clusters", 502, b"",
     {"x-request-id": "\xe9t\xe9"}, NovitaServerError),
    ("5000-char reason: 5000-char message", "list_clusters", 400,
     encoded({"reason": "R" * 5000}), {}, NovitaError),
    ("5000-char unknown key: 5000-char message", "list_clusters", 200,
     encoded({"k" * 5000: 1}), {}, NovitaUnexpectedResponseError),
    ("5000-char item id: 5000-char message", "list_clusters", 200,
     encoded({"data": [{"id": "x" * 5000, "name": 5}]}), {}, NovitaUnexpectedResponseError),
]  # fmt: skip


@pytest.mark.parametrize(
    ("op_name", "status", "body", "headers", "expected"),
    [case[1:] for case in FOUND],
    ids=[case[0] for case in FOUND],
)
def test_an_answer_that_once_crashed_or_leaked_is_now_a_typed_error(
    op_name: str, status: int, body: bytes, headers: dict[str, str], expected: type[NovitaError]
) -> None:
    op = BY_NAME[op_name]
    answers = respond(status, body, headers)
    outcome = call(op, answers)
    error = assert_typed_and_readable(outcome, op, answers)
    assert isinstance(error, expected), repr(error)
    assert error.status_code == status


# -- 6. no answer at all ---------------------------------------------------------------

TRANSPORT_FAILURES: list[type[httpx.TransportError]] = [
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.ReadTimeout,
    httpx.ReadError,
    httpx.WriteError,
    httpx.RemoteProtocolError,
    httpx.PoolTimeout,
    httpx.ProxyError,
    httpx.UnsupportedProtocol,
]


@BOUNDED
@given(
    op=operations,
    failure=st.sampled_from(TRANSPORT_FAILURES),
    text=st.text(max_size=40),
    said=echo,
)
def test_a_network_failure_is_a_typed_transport_error(
    op: Operation, failure: type[httpx.TransportError], text: str, said: str
) -> None:
    def fail(request: httpx.Request) -> httpx.Response:
        raise failure(text + said, request=request)

    answers = Answers(fail)
    policy = RetryPolicy(max_attempts=2, initial_wait=0, jitter=0)
    outcome = call(op, answers, policy=policy)
    error = assert_typed_and_readable(outcome, op, answers)
    assert isinstance(error, NovitaTransportError) and error.status_code is None
    assert len(answers.seen) in (1, 2)


# -- 7. size limit, exactly at the boundary --------------------------------------------


@BOUNDED
@given(
    data=st.data(),
    op=operations,
    slack=st.integers(-50, 50),
    declared=st.booleans(),
    chunk=st.integers(1, 4096),
)
def test_an_answer_over_the_size_limit_is_refused_and_one_within_it_is_read(
    data: st.DataObject, op: Operation, slack: int, declared: bool, chunk: int
) -> None:
    body, ids = data.draw(valid_answers(op))
    raw = encoded(body)
    limit = len(raw) + 100
    padded = raw + b" " * (limit + slack - len(raw))

    async def stream() -> AsyncIterator[bytes]:
        for start in range(0, len(padded), chunk):
            yield padded[start : start + chunk]

    def answer(_request: httpx.Request) -> httpx.Response:
        if declared:
            return httpx.Response(200, content=padded)  # Content-Length says the size
        return httpx.Response(200, content=stream())  # chunked: no size announced

    answers = Answers(answer)
    outcome = call(op, answers, max_response_bytes=limit)
    if len(padded) <= limit:
        assert not isinstance(outcome, BaseException), outcome
        assert returned_ids(op, outcome) == ids
    else:
        error = assert_typed_and_readable(outcome, op, answers)
        assert isinstance(error, NovitaResponseTooLargeError) and not error.retryable
        assert f"limit of {limit} bytes" in str(error)


# -- 8. slow and huge answers from a real socket ---------------------------------------

DEADLINE_S = 2.0
LIMIT_BYTES = 1024 * 1024
HUGE_BYTES = 50 * 1024 * 1024
SLACK_S = 2.0
"""What a loaded 2-core machine may add to any timing."""


@dataclass
class Misbehaviour:
    """How the socket server answers, and what it managed to send."""

    mode: str
    status: int = 200
    declared: bool = False
    sent: int = 0
    requests: int = 0
    handlers: set[asyncio.Task[Any]] = field(default_factory=set)


async def _misbehave(
    script: Misbehaviour, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    task = asyncio.current_task()
    if task is not None:
        script.handlers.add(task)
    try:
        await reader.readuntil(b"\r\n\r\n")
        script.requests += 1
        head = f"HTTP/1.1 {script.status} Whatever\r\nContent-Type: application/json\r\n"
        if script.mode == "silent":
            await asyncio.sleep(60)
        elif script.mode == "trickle-head":
            for byte in (head + "Content-Length: 2\r\n\r\n{}").encode():
                writer.write(bytes([byte]))
                await writer.drain()
                await asyncio.sleep(0.2)
        elif script.mode == "trickle-body":
            writer.write((head + "Content-Length: 100000\r\n\r\n").encode())
            for byte in b'{"data": [' + b" " * 99_990:
                writer.write(bytes([byte]))
                await writer.drain()
                await asyncio.sleep(0.2)
        else:  # "huge"
            length = f"Content-Length: {HUGE_BYTES}\r\n" if script.declared else ""
            chunked = "" if script.declared else "Transfer-Encoding: chunked\r\n"
            writer.write((head + length + chunked + "\r\n").encode())
            piece = b'{"id": "p", "name": "filler"},' * 4096
            while script.sent < HUGE_BYTES:
                writer.write(piece if script.declared else b"%x\r\n%s\r\n" % (len(piece), piece))
                await writer.drain()
                script.sent += len(piece)
    except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
        pass  # the client hung up: what these tests wait for
    finally:
        writer.close()


@asynccontextmanager
async def misbehaving_server(script: Misbehaviour) -> AsyncIterator[str]:
    server = await asyncio.start_server(
        lambda r, w: _misbehave(script, r, w), host="127.0.0.1", port=0
    )
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/gpu-instance/openapi/v1"
    finally:
        server.close()
        for handler in script.handlers:
            handler.cancel()
        await server.wait_closed()


SLOW_CASES = [
    ("trickle-body", 200, "list_products"),
    ("trickle-body", 500, "create_instance"),
    ("trickle-head", 200, "get_instance"),
    ("silent", 200, "list_jobs"),
]


@pytest.mark.parametrize(
    ("mode", "status", "op_name"), SLOW_CASES, ids=[c[0] + f"-{c[1]}" for c in SLOW_CASES]
)
async def test_a_slow_answer_ends_at_the_deadline(mode: str, status: int, op_name: str) -> None:
    op = BY_NAME[op_name]
    script = Misbehaviour(mode, status)
    async with misbehaving_server(script) as base_url:
        started = time.monotonic()
        async with NovitaClient(
            api_key=KEY,
            base_url=base_url,
            request_deadline=DEADLINE_S,
            retry_policy=RetryPolicy.disabled(),
        ) as client:
            with pytest.raises(NovitaError) as caught:
                await op.call(client)
        elapsed = time.monotonic() - started
    error = caught.value
    assert isinstance(error, NovitaDeadlineExceededError), repr(error)
    assert DEADLINE_S - 0.1 <= elapsed < DEADLINE_S + SLACK_S
    assert op.words in str(error) and KEY not in str(error)
    assert error.attempts == script.requests == 1


@pytest.mark.parametrize(
    ("declared", "status", "op_name"),
    [(True, 200, "list_clusters"), (False, 200, "list_instances"), (False, 502, "get_template")],
    ids=["declared-200", "chunked-200", "chunked-502"],
)
async def test_a_huge_answer_is_cut_off_at_the_size_limit(
    declared: bool, status: int, op_name: str
) -> None:
    op = BY_NAME[op_name]
    script = Misbehaviour("huge", status, declared)
    async with misbehaving_server(script) as base_url:
        started = time.monotonic()
        async with NovitaClient(
            api_key=KEY,
            base_url=base_url,
            request_deadline=DEADLINE_S * 5,
            max_response_bytes=LIMIT_BYTES,
            retry_policy=RetryPolicy.disabled(),
        ) as client:
            with pytest.raises(NovitaError) as caught:
                await op.call(client)
        elapsed = time.monotonic() - started
    error = caught.value
    if status == 200:
        assert isinstance(error, NovitaResponseTooLargeError), repr(error)
        assert f"limit of {LIMIT_BYTES} bytes" in str(error)
    else:  # an error answer is read only as far as an envelope reaches; its status decides
        assert isinstance(error, NovitaServerError) and error.status_code == status
    assert elapsed < SLACK_S, elapsed
    assert script.sent < HUGE_BYTES // 2, script.sent
    assert op.words in str(error) and KEY not in str(error)
    assert error.attempts == script.requests == 1
