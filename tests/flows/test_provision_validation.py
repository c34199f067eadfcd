"""Bad parameters fail the run before Novita is called, with a message naming the field.

Prefect validates a flow call against the flow's signature before the body runs: a bad value
raises `ParameterTypeError` ("Flow run received invalid parameters: - <field>: <why>") and the
flow run ends Failed. Nothing may reach the simulator then.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from prefect.exceptions import ParameterTypeError

from flows.provision import provision_instance
from flows.provision_fleet import FleetRequest, provision_fleet
from flows.provisioning.rules.region_order import UnknownRegionError
from simulator.server import SimulatorServer

GOOD: dict[str, Any] = {"product_name": "RTX 4090 24GB", "template_id": "1001"}


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        ({"gpu_num": 9}, "gpu_num"),
        ({"name": "has spaces in it"}, "name"),
        ({"billing_mode": "weekly"}, "billing_mode"),
        ({"webhook_url": "ftp://hooks.example/novita"}, "webhook_url"),
        ({"webhook_url": "not-a-url"}, "webhook_url"),
    ],
)
async def test_bad_parameter_fails_before_any_novita_call(
    sim: SimulatorServer, bad: dict[str, Any], field: str
) -> None:
    params = {"name": unique("bad")} | GOOD | bad
    with pytest.raises(ParameterTypeError) as caught:
        await provision_instance(**params)
    message = str(caught.value)
    assert message.startswith("Flow run received invalid parameters")
    assert f"{field}:" in message
    assert sim.requests() == []


async def test_invalid_parameters_leave_the_run_failed(sim: SimulatorServer) -> None:
    state = await provision_instance(name=unique("state"), gpu_num=0, return_state=True, **GOOD)
    assert state.is_failed()
    assert "Validation of flow parameters failed" in (state.message or "")
    assert sim.requests() == []


@pytest.mark.parametrize(
    "where", [{"region": "mars-1"}, {"regions": ["US-CA-06", "mars-1"]}], ids=["region", "regions"]
)
async def test_unknown_region_lists_the_allowed_ones_and_creates_nothing(
    sim: SimulatorServer, where: dict[str, Any]
) -> None:
    # Region names are only known once the clusters are read, so this fails in the body,
    # after the read-only calls, but before any product is chosen or instance created.
    with pytest.raises(UnknownRegionError) as caught:
        await provision_instance(name=unique("mars"), **GOOD, **where)
    message = str(caught.value)
    assert "unknown region 'mars-1'" in message
    assert "allowed:" in message and "US-CA-06 (us-ca-6)" in message
    assert sim.requests(path="/gpu/instance/create") == []
    assert sim.requests(path="/products") == []
    assert sim.requests(path="/gpu/instances") == []  # not even the name lookup


def fleet_request(name: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, **GOOD, **extra}


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        (
            {"requests": [fleet_request("twin"), fleet_request("solo"), fleet_request("twin")]},
            "requests: Value error, instance names must be unique within a fleet; "
            "repeated: ['twin']",
        ),
        ({"requests": [fleet_request("a")], "concurrency": 0}, "concurrency:"),
        ({"requests": [fleet_request("a")], "concurrency": 51}, "concurrency:"),
        ({"requests": []}, "requests:"),
        ({"requests": [fleet_request("a"), fleet_request("b", gpu_num=9)]}, "requests.1.gpu_num:"),
        ({"requests": [fleet_request("a", gpus=2)]}, "requests.0.gpus:"),
    ],
    ids=["duplicate-names", "concurrency-0", "concurrency-51", "empty", "gpu-num", "unknown-field"],
)
async def test_bad_fleet_fails_before_any_novita_call(
    sim: SimulatorServer, params: dict[str, Any], expected: str
) -> None:
    with pytest.raises(ParameterTypeError) as caught:
        await provision_fleet(**params)
    assert expected in str(caught.value)
    assert sim.requests() == []


def test_fleet_request_has_exactly_the_limits_of_provision_instance() -> None:
    # One source of truth: a limit changed on one side and not the other fails here.
    def limits(schema: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in schema.items() if k not in ("title", "description", "position")}

    flow_params = provision_instance.parameters.model_dump()["properties"]
    request_fields = FleetRequest.model_json_schema()["properties"]
    fleet_level = {"dry_run", "credentials_block", "webhook_settings_block", "policies_block"}
    assert set(flow_params) - fleet_level == set(request_fields)
    for field, schema in request_fields.items():
        assert limits(schema) == limits(flow_params[field]), field


def test_template_id_accepts_the_cli_int_and_refuses_empty() -> None:
    from pydantic import TypeAdapter, ValidationError

    from flows.common.parameters import TemplateId

    adapter = TypeAdapter(TemplateId)
    assert adapter.validate_python(1001) == "1001"
    assert adapter.validate_python(" 1002 ") == "1002"
    with pytest.raises(ValidationError, match="template_id"):
        adapter.validate_python("")
