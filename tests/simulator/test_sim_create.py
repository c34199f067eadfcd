"""Create: validation errors like the live API's, placement, private images."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from simulator.seed import ACME_AUTH_ID, PRIVATE_IMAGE
from simulator.server import SimulatorServer
from tests.simulator.sim_helpers import create, create_body, get


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"gpuNum": 9}, "gpuNum"),
        ({"gpuNum": 0}, "gpuNum"),
        ({"gpuNum": "1"}, "gpuNum"),
        ({"kind": "cpu"}, "kind"),
        ({"rootfsSize": 7000}, "rootfsSize"),
        ({"rootfsSize": 5}, "rootfsSize"),
        ({"rootfsSize": 1500}, "rootfsSize"),  # above the product's maxRootFS (1000)
        ({"imageUrl": ""}, "imageUrl"),
        ({"imageUrl": "x" * 501}, "imageUrl"),
        ({"name": "n" * 256}, "name"),
        ({"ports": "8888"}, "ports"),
        ({"ports": "8888/udp"}, "ports"),
        ({"ports": "70000/tcp"}, "ports"),
        ({"ports": "22/tcp,2222/tcp"}, "ports"),
        ({"ports": ["8888/http"]}, "ports"),
        ({"ports": ",".join(f"{8000 + i}/http" for i in range(16))}, "ports"),
        ({"envs": [{"key": "A", "value": "1"}] * 101}, "envs"),
        ({"envs": {"A": "1"}}, "envs"),
        ({"billingMode": "hourly"}, "billingMode"),
        ({"productId": ""}, "productId"),
    ],
)
def test_invalid_create_bodies_are_400_validator_param_naming_the_field(
    api: httpx.Client, sim: SimulatorServer, overrides: dict[str, Any], field: str
) -> None:
    response = api.post("/gpu/instance/create", json=create_body(**overrides))
    assert response.status_code == 400
    body = response.json()
    assert body["reason"] == "VALIDATOR_PARAM"
    assert body["code"] == 400
    assert body["metadata"] == {}
    assert body["message"].startswith(field)
    assert sim.snapshot()["instances"] == 0


def test_ports_string_with_spaces_after_commas_is_accepted(api: httpx.Client) -> None:
    instance_id = create(api, ports="8888/http, 7860/http, 22/tcp")
    mappings = get(api, instance_id)["portMappings"]
    assert [(m["port"], m["type"]) for m in mappings] == [
        (8888, "http"),
        (7860, "http"),
        (22, "tcp"),
    ]


def test_create_answers_a_16_hex_id_and_the_instance_shape(api: httpx.Client) -> None:
    instance_id = create(api, envs=[{"key": "FOO", "value": "bar"}], command="sleep 1")
    assert re.fullmatch(r"[0-9a-f]{16}", instance_id)
    data = get(api, instance_id)
    assert data["id"] == instance_id
    assert (data["clusterId"], data["clusterName"]) == ("as-sgp-2", "AS-SGP-02")
    assert (data["cpuNum"], data["memory"], data["gpuNum"]) == ("16", "62", "1")
    assert data["rootfsSize"] == 60
    assert data["billingMode"] == ""  # the on-demand quirk
    assert data["spotStatus"] == ""
    assert data["spotReclaimTime"] == "0"
    assert data["endTime"] == "-1"
    assert data["lastStartedAt"] == "0"
    assert data["createdAt"].isdigit()
    assert data["envs"] == [{"key": "FOO", "value": "bar"}]
    assert data["command"] == "sleep 1"
    assert data["kind"] == "gpu"
    assert data["statusError"] == {"state": "", "message": ""}
    assert "connectComponentJupyter" in data
    assert data["connectComponentSSH"]["sshCommand"].startswith("ssh root@127.0.0.1 -p ")


def test_spot_instance_reports_its_billing_mode(api: httpx.Client) -> None:
    data = get(api, create(api, billingMode="spot"))
    assert data["billingMode"] == "spot"
    assert data["spotStatus"] == "running"


def test_unknown_product_is_resource_not_found(api: httpx.Client) -> None:
    response = api.post("/gpu/instance/create", json=create_body(productId="nope.as-sgp-2"))
    assert response.status_code == 400
    assert response.json()["reason"] == "RESOURCE_NOT_FOUND"


@pytest.mark.parametrize(
    "overrides",
    [
        {"productId": "rtx4090-24g.cn-hongkong-1", "clusterId": "cn-hongkong-1"},
        {"productId": "rtx4090-24g.us-ca-6", "clusterId": "as-sgp-2"},
        {"productId": "h100-sxm-80g.us-west-1", "clusterId": "us-west-1", "gpuNum": 5},
    ],
    ids=["not-deployable", "other-cluster", "too-many-gpus"],
)
def test_unavailable_product_is_insufficient_resource(
    api: httpx.Client, overrides: dict[str, Any]
) -> None:
    response = api.post("/gpu/instance/create", json=create_body(**overrides))
    assert response.status_code == 400
    assert response.json()["reason"] == "INSUFFICIENT_RESOURCE"


def test_empty_cluster_id_places_it_where_the_product_is(api: httpx.Client) -> None:
    instance_id = create(api, productId="rtx4090-24g-b.us-ca-6", clusterId="")
    assert get(api, instance_id)["clusterId"] == "us-ca-6"


def test_unsupported_billing_mode(api: httpx.Client) -> None:
    response = api.post(
        "/gpu/instance/create",
        json=create_body(productId="l40s-48g.as-sgp-2", billingMode="spot"),
    )
    assert response.status_code == 400
    assert response.json()["reason"] == "UNSUPPORTED_BILLING_MODE"


@pytest.mark.parametrize(
    "auth", [None, "acme-puller:wrong-password"], ids=["without-auth", "wrong-auth"]
)
def test_private_image_needs_the_registry_auth(api: httpx.Client, auth: str | None) -> None:
    response = api.post(
        "/gpu/instance/create", json=create_body(imageUrl=PRIVATE_IMAGE, imageAuth=auth)
    )
    assert response.status_code == 400
    assert response.json()["reason"] == "IMAGE_URL_OR_AUTH_ERROR"
    assert "wrong-password" not in response.text


def test_private_image_with_its_auth_is_created(api: httpx.Client) -> None:
    by_credentials = create(
        api, imageUrl=PRIVATE_IMAGE, imageAuth="acme-puller:sim-registry-password"
    )
    by_id = create(api, imageUrl=PRIVATE_IMAGE, imageAuthId=ACME_AUTH_ID)
    assert get(api, by_credentials)["imageAuthId"] == ACME_AUTH_ID
    assert get(api, by_id)["imageAuthId"] == ACME_AUTH_ID


def test_body_that_is_not_json_is_rejected(api: httpx.Client) -> None:
    response = api.post(
        "/gpu/instance/create", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["reason"] == "VALIDATOR_PARAM"
