"""Every flow refuses a bad parameter before any Novita call, with a message naming the field.

Generated parameters (hypothesis) go through Prefect's own validation of each flow's
signature, `Flow.validate_parameters`, exactly what a flow call, a deployment run or the
prefect CLI goes through before the flow body starts. Prefect 3.9 raises
`prefect.exceptions.ParameterTypeError` ("Flow run received invalid parameters:" then one
" - <field>: <why>" line per field) for a bad value, and `SignatureMismatchError` (which lists
the parameters it was given) for an unknown one. Valid parameters are generated too and must
be accepted, so refusing everything cannot pass. `ProvisionRequest` (the typed model behind
`provision-instance`, each request of `provision-fleet` and a recreate-migration) is checked
the same way, and so are the refusals that happen in the flow body before any Novita call:
`check_selector` (exactly one of instance_id / name) and `signal_time` (a use signal more
than 5 minutes ahead is refused). None of this needs a Prefect server or the simulator,
except the last test (integration), which runs flows for real and counts Novita requests.
"""

from __future__ import annotations

import math
import re
import string
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prefect import Flow
from prefect.exceptions import ParameterTypeError, SignatureMismatchError
from pydantic import ValidationError

from flows.auto_stop_sweep import auto_stop_sweep
from flows.common.parameters import INSTANCE_NAME_PATTERN
from flows.fleet_sync import fleet_sync
from flows.instances.lookup import InstanceSelectorError, check_selector
from flows.instances.mark_used import MARK_USED_CLOCK_SKEW, signal_time
from flows.lifecycle import (
    delete_instance_flow,
    mark_instance_used_flow,
    start_instance_flow,
    stop_instance_flow,
)
from flows.migration_sweep import migration_sweep
from flows.provision import provision_instance
from flows.provision_fleet import MAX_FLEET_SIZE, provision_fleet
from flows.provisioning.request import ProvisionRequest
from flows.provisioning.rules.region_order import DEFAULT_REGIONS
from simulator.server import SimulatorServer

BOUNDED = settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)

# -- values: valid and invalid, per parameter type -----------------------------------------

letters = st.text(string.ascii_letters, min_size=1, max_size=12)
"""Text no number, boolean or date parser reads as one."""
containers = st.lists(st.integers(), max_size=2) | st.dictionaries(letters, st.integers())
not_text = st.integers() | st.floats() | st.booleans() | containers
"""Never a string (pydantic does not turn numbers or booleans into text)."""
BOOL_WORDS = {"0", "1", "yes", "no", "on", "off", "true", "false", "t", "f", "y", "n"}
not_bool = (
    st.integers().filter(lambda n: n not in (0, 1))
    | st.floats().filter(lambda x: x not in (0.0, 1.0))
    | letters.filter(lambda s: s.lower() not in BOOL_WORDS)
    | containers
)
not_whole = st.floats().filter(lambda x: not (math.isfinite(x) and x.is_integer()))
"""Floats no int field takes: fractions, NaN and the infinities."""
slug = st.from_regex(r"[a-z][a-z0-9-]{0,30}", fullmatch=True)
region_names = st.sampled_from([name for name, _ in DEFAULT_REGIONS] + ["us-ca-6", "eu-de-1"])


@dataclass(frozen=True)
class Param:
    """The values one parameter must accept and the values it must refuse."""

    valid: st.SearchStrategy[Any]
    invalid: st.SearchStrategy[Any]


def whole(lo: int, hi: int, *, optional: bool = False) -> Param:
    """An int in [lo, hi]; None too when optional."""
    outside = st.integers(max_value=lo - 1) | st.integers(min_value=hi + 1)
    invalid = outside | outside.map(str) | not_whole | letters | containers | st.booleans()
    if optional:
        return Param(st.none() | st.integers(lo, hi), invalid)
    return Param(st.integers(lo, hi), invalid | st.none())


def minutes(hi: float, *, optional: bool = False) -> Param:
    """A float in (0, hi]; None too when optional."""
    valid = st.floats(min_value=0, max_value=hi, exclude_min=True)
    invalid = (
        st.floats(max_value=0)
        | st.floats(min_value=hi, exclude_min=True)
        | st.sampled_from([math.nan, math.inf, -math.inf, "soon"])
        | letters
        | containers
    )
    return Param(st.none() | valid, invalid) if optional else Param(valid, invalid | st.none())


def pattern_text(pattern: str, max_length: int, *, optional: bool = False) -> Param:
    """Text matching `pattern`, 1 to `max_length` characters; None too when optional."""
    valid = st.from_regex(rf"[A-Za-z0-9_-]{{1,{max_length}}}", fullmatch=True)
    invalid = (
        st.text(min_size=1, max_size=max_length).filter(lambda s: not re.fullmatch(pattern, s))
        | st.just("")
        | st.from_regex(rf"[A-Za-z0-9_-]{{{max_length + 1},{max_length + 40}}}", fullmatch=True)
        | not_text
    )
    return Param(st.none() | valid, invalid) if optional else Param(valid, invalid | st.none())


BOOL = Param(st.booleans(), not_bool)
BLOCK = Param(st.none() | slug, not_text | st.sampled_from(["", " "]))
NAME = pattern_text(INSTANCE_NAME_PATTERN, 100)
PRODUCT_NAME = Param(
    st.text(min_size=1, max_size=100).filter(lambda s: s.strip()),
    st.just("")
    | st.sampled_from(["   ", "\n", "\t "])
    | st.text(min_size=101, max_size=140)
    | not_text
    | st.none(),
)
TEMPLATE_ID = Param(
    st.from_regex(r"[0-9]{1,12}", fullmatch=True) | st.integers(0, 10**12),
    st.sampled_from(["", " ", "\t\n"])
    | st.from_regex(r"[0-9a-z]{65,90}", fullmatch=True)
    | not_whole
    | containers
    | st.booleans()
    | st.sampled_from(["10 01", "12a", "abc"])
    | st.none(),
)
BAD_URLS = [
    "", "abc", "hooks.example.com/x", "ftp://hooks.example/novita", "file:///etc/passwd",
    "javascript:alert(1)", "mailto:ops@example.com", "ws://hooks.example/x", "http://",
    "https://", "http://exa mple.com", "http://[::1", "https://" + "a" * 2100 + ".com",
]  # fmt: skip
WEBHOOK_URL = Param(
    st.none()
    | st.builds(
        "{}://{}/{}".format,
        st.sampled_from(["http", "https"]),
        st.from_regex(r"[a-z][a-z0-9-]{0,20}(\.[a-z]{2,6}){0,2}", fullmatch=True),
        st.from_regex(r"[a-z0-9/_-]{0,30}", fullmatch=True),
    ),
    st.sampled_from(BAD_URLS) | not_text,
)
AT = Param(
    st.none()
    | st.datetimes(
        min_value=datetime(1971, 1, 1),
        max_value=datetime(2100, 1, 1),
        timezones=st.none()
        | st.builds(timezone, st.timedeltas(timedelta(hours=-14), timedelta(hours=14))),
    ),
    letters | st.booleans() | containers | st.just(10**20) | st.just("2026-13-45T99:00:00"),
)
BLOCKS = {"credentials_block": BLOCK, "webhook_settings_block": BLOCK, "policies_block": BLOCK}

PROVISION: dict[str, Param] = {
    "name": NAME,
    "product_name": PRODUCT_NAME,
    "template_id": TEMPLATE_ID,
    "gpu_num": whole(1, 8),
    "rootfs_size": whole(10, 6144),
    "region": Param(st.none() | region_names, not_text | st.sampled_from(["", "  "])),
    "regions": Param(
        st.none() | st.lists(region_names, min_size=1, max_size=4),
        st.just([])
        | letters
        | st.lists(st.integers(), min_size=1, max_size=2)
        | st.dictionaries(letters, letters, min_size=1),
    ),
    "billing_mode": Param(
        st.sampled_from(["spot", "onDemand"]),
        st.text(max_size=12).filter(lambda s: s not in ("spot", "onDemand")) | not_text,
    ),
    "webhook_url": WEBHOOK_URL,
    "auto_stop_minutes": whole(0, 10080, optional=True),
    "wait_until_ready": BOOL,
    "deadline_minutes": minutes(240, optional=True),
}
REQUIRED = {"name", "product_name", "template_id"}
LIFECYCLE: dict[str, Param] = {
    "instance_id": pattern_text(r"^[A-Za-z0-9_-]+$", 64, optional=True),
    "name": pattern_text(INSTANCE_NAME_PATTERN, 100, optional=True),
    **BLOCKS,
}


@st.composite
def fleet_requests(draw: st.DrawFn, min_size: int = 1, max_size: int = 4) -> list[dict[str, Any]]:
    """Valid requests of a fleet: valid provisioning parameters, names unique."""
    names = draw(st.lists(NAME.valid, min_size=min_size, max_size=max_size, unique=True))
    return [draw(request_params()) | {"name": name} for name in names]


FLOWS: dict[str, tuple[Flow[Any, Any], dict[str, Param]]] = {
    "provision-instance": (provision_instance, PROVISION | {"dry_run": BOOL, **BLOCKS}),
    "provision-fleet": (
        provision_fleet,
        {"concurrency": whole(1, 50), "dry_run": BOOL, **BLOCKS},
    ),
    "start-instance": (
        start_instance_flow,
        LIFECYCLE | {"wait_until_ready": BOOL, "deadline_minutes": minutes(240)},
    ),
    "stop-instance": (
        stop_instance_flow,
        LIFECYCLE | {"force": BOOL, "deadline_minutes": minutes(240)},
    ),
    "delete-instance": (delete_instance_flow, LIFECYCLE | {"deadline_minutes": minutes(240)}),
    "mark-instance-used": (mark_instance_used_flow, LIFECYCLE | {"at": AT}),
    "auto-stop-sweep": (
        auto_stop_sweep,
        {
            "dry_run": BOOL,
            "inactivity_minutes": whole(1, 10080, optional=True),
            "include_unmanaged": BOOL,
            **BLOCKS,
        },
    ),
    "migration-sweep": (
        migration_sweep,
        {
            "dry_run": BOOL,
            "max_migrations": whole(0, 1000),
            "concurrency": whole(1, 50),
            "cooldown_minutes": whole(0, 10080, optional=True),
            "max_attempts": whole(1, 20, optional=True),
            **BLOCKS,
        },
    ),
    "fleet-sync": (
        fleet_sync,
        {"redeliver_webhooks": BOOL, "max_redeliveries": whole(0, 10000), **BLOCKS},
    ),
}
flow_names = st.sampled_from(sorted(FLOWS))


@st.composite
def request_params(draw: st.DrawFn) -> dict[str, Any]:
    """Valid provisioning parameters: the required ones and any of the others."""
    chosen = draw(st.sets(st.sampled_from(sorted(set(PROVISION) - REQUIRED))))
    return {field: draw(PROVISION[field].valid) for field in sorted(REQUIRED | chosen)}


@st.composite
def valid_params(draw: st.DrawFn, flow_name: str) -> dict[str, Any]:
    """Valid parameters of a flow: its required ones and any of the others."""
    _flow, spec = FLOWS[flow_name]
    if flow_name == "provision-instance":
        params = draw(request_params())
        chosen = draw(st.sets(st.sampled_from(["dry_run", *BLOCKS])))
        return params | {field: draw(spec[field].valid) for field in sorted(chosen)}
    chosen = draw(st.sets(st.sampled_from(sorted(spec))))
    params = {field: draw(spec[field].valid) for field in sorted(chosen)}
    if flow_name == "provision-fleet":
        params["requests"] = draw(fleet_requests())
    return params


def refusal(call: Callable[[], Any]) -> str:
    """The message of the refusal `call` must end in (a Prefect or pydantic one)."""
    with pytest.raises((ParameterTypeError, ValidationError)) as caught:
        call()
    return str(caught.value)


def names_field(message: str, field: str) -> bool:
    """Whether a Prefect refusal has a line for `field` (or a part of it: `template_id.str`)."""
    return re.search(rf"^ - {re.escape(field)}[.:]", message, re.MULTILINE) is not None


# -- 1. Prefect's validation of every flow's signature ------------------------------------


FIELDS = [(name, field) for name, (_flow, spec) in sorted(FLOWS.items()) for field in spec]
PER_FIELD = settings(BOUNDED, max_examples=20)
"""Each parameter gets its own run, so none is left to the luck of a random pick."""


@pytest.mark.parametrize("flow_name", sorted(FLOWS))
@settings(BOUNDED, max_examples=40)
@given(data=st.data())
def test_valid_parameters_are_accepted(data: st.DataObject, flow_name: str) -> None:
    flow, _spec = FLOWS[flow_name]
    params = data.draw(valid_params(flow_name), label="params")
    validated = flow.validate_parameters(params)
    assert set(validated) == set(flow.parameters.properties)
    for field, value in params.items():
        if isinstance(value, bool | int) and field != "template_id":
            assert validated[field] == value, field


@pytest.mark.parametrize(("flow_name", "field"), FIELDS, ids=[f"{n}-{f}" for n, f in FIELDS])
@PER_FIELD
@given(data=st.data())
def test_an_invalid_value_is_refused_naming_its_field(
    data: st.DataObject, flow_name: str, field: str
) -> None:
    flow, spec = FLOWS[flow_name]
    params = data.draw(valid_params(flow_name), label="valid")
    params[field] = data.draw(spec[field].invalid, label=field)
    message = refusal(lambda: flow.validate_parameters(params))
    assert message.startswith("Flow run received invalid parameters"), message
    assert names_field(message, field), f"{field} not named in: {message}"
    for other in set(params) - {field}:
        assert not names_field(message, other), f"valid {other} blamed in: {message}"


@BOUNDED
@given(data=st.data(), flow_name=flow_names)
def test_several_invalid_values_are_refused_naming_each_field(
    data: st.DataObject, flow_name: str
) -> None:
    flow, spec = FLOWS[flow_name]
    params = data.draw(valid_params(flow_name), label="valid")
    broken = data.draw(st.sets(st.sampled_from(sorted(spec)), min_size=1, max_size=3))
    for field in sorted(broken):
        params[field] = data.draw(spec[field].invalid, label=field)
    message = refusal(lambda: flow.validate_parameters(params))
    assert message.startswith("Flow run received invalid parameters"), message
    for field in broken:
        assert names_field(message, field), f"{field} not named in: {message}"
    for field in set(params) - broken:
        assert not names_field(message, field), f"valid {field} blamed in: {message}"


@BOUNDED
@given(
    data=st.data(),
    flow_name=flow_names,
    unknown=st.from_regex(r"[a-z][a-z_]{0,20}", fullmatch=True),
)
def test_an_unknown_parameter_is_refused_by_name(
    data: st.DataObject, flow_name: str, unknown: str
) -> None:
    flow, _spec = FLOWS[flow_name]
    if unknown in flow.parameters.properties:
        return
    params = data.draw(valid_params(flow_name)) | {unknown: 1}
    with pytest.raises(SignatureMismatchError) as caught:
        flow.validate_parameters(params)
    assert f"'{unknown}'" in str(caught.value)


# -- 2. the typed request behind provision-instance and each fleet request -----------------


@BOUNDED
@given(params=request_params())
def test_a_valid_provision_request_is_built(params: dict[str, Any]) -> None:
    request = ProvisionRequest.model_validate(params)
    assert request.name == params["name"]
    assert request.template_id == str(params["template_id"]).strip()
    # (python mode: a webhook URL is a SecretStr, and JSON dumps it masked on purpose)
    assert ProvisionRequest.model_validate(request.model_dump()) == request


@pytest.mark.parametrize("field", sorted(PROVISION))
@PER_FIELD
@given(data=st.data(), params=request_params())
def test_an_invalid_provision_request_is_refused_naming_the_field(
    data: st.DataObject, params: dict[str, Any], field: str
) -> None:
    params[field] = data.draw(PROVISION[field].invalid, label=field)
    with pytest.raises(ValidationError) as caught:
        ProvisionRequest.model_validate(params)
    assert {error["loc"][0] for error in caught.value.errors()} == {field}
    assert field in str(caught.value)


@BOUNDED
@given(data=st.data(), params=request_params())
def test_an_invalid_provision_request_is_refused_naming_each_field(
    data: st.DataObject, params: dict[str, Any]
) -> None:
    broken = data.draw(st.sets(st.sampled_from(sorted(PROVISION)), min_size=1, max_size=3))
    for field in broken:
        params[field] = data.draw(PROVISION[field].invalid, label=field)
    with pytest.raises(ValidationError) as caught:
        ProvisionRequest.model_validate(params)
    blamed = {error["loc"][0] for error in caught.value.errors()}
    assert blamed == broken
    assert all(field in str(caught.value) for field in broken)


@BOUNDED
@given(params=request_params(), unknown=st.from_regex(r"[a-z][a-z_]{0,15}", fullmatch=True))
def test_an_unknown_provision_field_is_refused_by_name(
    params: dict[str, Any], unknown: str
) -> None:
    if unknown in PROVISION:
        return
    with pytest.raises(ValidationError) as caught:
        ProvisionRequest.model_validate(params | {unknown: "x"})
    assert [(e["loc"], e["type"]) for e in caught.value.errors()] == [
        ((unknown,), "extra_forbidden")
    ]


# -- 3. fleets: each request checked, names unique, size bounded --------------------------


@BOUNDED
@given(data=st.data(), requests=fleet_requests())
def test_a_bad_fleet_request_is_refused_naming_its_position_and_field(
    data: st.DataObject, requests: list[dict[str, Any]]
) -> None:
    index = data.draw(st.integers(0, len(requests) - 1))
    defect = data.draw(st.sampled_from(["field", "unknown field", "not an object"]))
    if defect == "field":
        field = data.draw(st.sampled_from(sorted(set(PROVISION) - {"name"})))
        requests[index][field] = data.draw(PROVISION[field].invalid, label=field)
        expected = f"requests.{index}.{field}"
    elif defect == "unknown field":
        requests[index]["gpus"] = 2
        expected = f"requests.{index}.gpus: Extra inputs are not permitted"
    else:
        not_a_dict = st.integers() | st.floats() | st.booleans() | letters | st.lists(letters)
        requests[index] = data.draw(not_a_dict, label="request")
        expected = f"requests.{index}: Input should be a valid dictionary"
    message = refusal(lambda: provision_fleet.validate_parameters({"requests": requests}))
    assert expected in message, message


@BOUNDED
@given(data=st.data(), requests=fleet_requests(min_size=2, max_size=5))
def test_a_fleet_with_a_repeated_name_is_refused_naming_it(
    data: st.DataObject, requests: list[dict[str, Any]]
) -> None:
    first, second = data.draw(
        st.lists(st.integers(0, len(requests) - 1), min_size=2, max_size=2, unique=True)
    )
    requests[second]["name"] = requests[first]["name"]
    message = refusal(lambda: provision_fleet.validate_parameters({"requests": requests}))
    assert "names must be unique within a fleet" in message
    assert repr(requests[first]["name"]) in message


@pytest.mark.parametrize("size", [0, MAX_FLEET_SIZE + 1])
def test_a_fleet_of_no_request_or_too_many_is_refused(size: int) -> None:
    request = {"product_name": "RTX 4090 24GB", "template_id": "1001"}
    requests = [request | {"name": f"n{i}"} for i in range(size)]
    message = refusal(lambda: provision_fleet.validate_parameters({"requests": requests}))
    assert names_field(message, "requests"), message


# -- 4. refusals in the flow body, before any Novita call ---------------------------------

ids = pattern_text(r"^[A-Za-z0-9_-]+$", 64).valid


@BOUNDED
@given(instance_id=st.none() | ids, name=st.none() | NAME.valid)
def test_exactly_one_of_instance_id_and_name_is_required(
    instance_id: str | None, name: str | None
) -> None:
    if (instance_id is None) != (name is None):
        check_selector(instance_id, name)
        return
    with pytest.raises(InstanceSelectorError) as caught:
        check_selector(instance_id, name)
    message = str(caught.value)
    assert "instance_id" in message and "name" in message
    assert ("both" if instance_id is not None else "neither") in message


offsets = st.builds(timezone, st.timedeltas(timedelta(hours=-14), timedelta(hours=14)))


NOW = datetime.now(UTC).replace(tzinfo=None)
any_time = st.datetimes(
    min_value=datetime(2, 1, 1), max_value=datetime(9998, 12, 31), timezones=st.none() | offsets
)
near_now = st.builds(
    lambda delta, zone: (NOW + delta).replace(tzinfo=UTC).astimezone(zone),
    st.timedeltas(timedelta(days=-30), timedelta(days=30)),
    offsets,
)
"""Around the 5-minute limit, where a wrong limit shows."""


@BOUNDED
@given(at=any_time | near_now | near_now.map(lambda at: at.replace(tzinfo=None)))
def test_a_use_signal_is_taken_in_utc_and_refused_when_far_ahead(at: datetime) -> None:
    instant = at.replace(tzinfo=UTC) if at.tzinfo is None else at
    limit = datetime.now(UTC) + MARK_USED_CLOCK_SKEW
    if abs(instant - limit) < timedelta(seconds=30):
        return  # too close to call on a busy machine
    if instant < limit:
        signal = signal_time(at)
        assert signal == instant and signal.utcoffset() == timedelta(0)
        return
    with pytest.raises(ValueError, match=r"^at=.* is in the future; .* at most 5 minutes ahead"):
        signal_time(at)


# -- 5. bugs these properties found, fixed: each stays as a plain test ----------------------


@pytest.mark.parametrize(
    "at",
    [
        datetime(9999, 12, 31, 23, 0, tzinfo=timezone(timedelta(hours=-14))),
        datetime(1, 1, 1, 0, 0, tzinfo=timezone(timedelta(hours=14))),
    ],
    ids=["year-9999-west-of-utc", "year-1-east-of-utc"],
)
def test_a_use_signal_at_the_edge_of_time_is_a_readable_refusal(at: datetime) -> None:
    # Both pass Prefect's validation of `at` (mark-instance-used), then signal_time converts
    # them to UTC, which leaves datetime's range: OverflowError "date value out of range".
    try:
        signal_time(at)
    except ValueError as exc:
        assert "at=" in str(exc) or "at " in str(exc)


@pytest.mark.parametrize(
    ("flow_name", "field"),
    [("provision-instance", "gpu_num"), ("provision-instance", "template_id"),
     ("migration-sweep", "concurrency"), ("fleet-sync", "max_redeliveries")],
)  # fmt: skip
def test_a_boolean_is_not_taken_for_a_number(flow_name: str, field: str) -> None:
    # pydantic's lax mode reads True as 1: template_id=True becomes template "1".
    flow, _spec = FLOWS[flow_name]
    base = (
        {"name": "a", "product_name": "x", "template_id": "1"} if "provision" in flow_name else {}
    )
    message = refusal(lambda: flow.validate_parameters(base | {field: True}))
    assert names_field(message, field)


@pytest.mark.parametrize(
    ("field", "value"),
    [("product_name", "   "), ("product_name", "\n"), ("template_id", "10 01")],
)
def test_a_blank_product_name_or_a_spaced_template_id_is_refused(field: str, value: str) -> None:
    # Both pass validation; the flow then lists products (or reads the template) from Novita.
    params = {"name": "a", "product_name": "RTX 4090 24GB", "template_id": "1001", field: value}
    message = refusal(lambda: provision_instance.validate_parameters(params))
    assert names_field(message, field)


# -- 6. for real: bad parameters never reach the simulator (integration) ------------------


@pytest.mark.integration
async def test_flows_called_with_bad_parameters_make_no_novita_request(
    sim: SimulatorServer,
) -> None:
    far_ahead = datetime.now(UTC) + timedelta(hours=2)
    calls: list[tuple[str, Callable[[], Any], type[Exception], str]] = [
        ("provision, bad name", lambda: provision_instance(
            name="has spaces", product_name="RTX 4090 24GB", template_id="1001"),
         ParameterTypeError, "name:"),
        ("provision, 9 GPUs", lambda: provision_instance(
            name="ok-name", product_name="RTX 4090 24GB", template_id="1001", gpu_num=9),
         ParameterTypeError, "gpu_num:"),
        ("fleet, repeated name", lambda: provision_fleet(requests=[
            {"name": "twin", "product_name": "RTX 4090 24GB", "template_id": "1001"}] * 2),
         ParameterTypeError, "repeated: ['twin']"),
        ("start, bad id", lambda: start_instance_flow(instance_id="not an id"),
         ParameterTypeError, "instance_id:"),
        ("stop, neither id nor name", lambda: stop_instance_flow(),
         InstanceSelectorError, "got neither"),
        ("delete, both id and name", lambda: delete_instance_flow(instance_id="abc", name="x"),
         InstanceSelectorError, "got both"),
        ("mark used, far ahead", lambda: mark_instance_used_flow(name="x", at=far_ahead),
         ValueError, "is in the future"),
        ("auto-stop, 0 minutes", lambda: auto_stop_sweep(inactivity_minutes=0),
         ParameterTypeError, "inactivity_minutes:"),
        ("migration, concurrency 0", lambda: migration_sweep(concurrency=0),
         ParameterTypeError, "concurrency:"),
        ("fleet-sync, negative", lambda: fleet_sync(max_redeliveries=-1),
         ParameterTypeError, "max_redeliveries:"),
    ]  # fmt: skip
    for label, call, error, says in calls:
        with pytest.raises(error) as caught:
            await call()
        assert says in str(caught.value), f"{label}: {caught.value}"
        assert sim.requests() == [], label
