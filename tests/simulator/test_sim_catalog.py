"""Auth, clusters, products, templates and registry auths of the simulator, over HTTP."""

from __future__ import annotations

import httpx
import pytest

from simulator.seed import ACME_AUTH_ID, CLUSTER_IDS
from simulator.server import SimulatorServer

EXPECTED_CLUSTERS = [
    ("as-sgp-2", "AS-SGP-02"),
    ("cn-hongkong-1", "CN-HK-01"),
    ("oc-au-1", "OC-AU-01"),
    ("us-ca-6", "US-CA-06"),
    ("us-west-1", "US-WEST-01"),
    ("eu-de-1", "EU-DE-01"),
    ("eu-west-1", "EU-WEST-01"),
    ("as-in-1", "AS-IN-01"),
]


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer sk_wrong"}, {"Authorization": "Basic abc"}],
    ids=["missing", "wrong-key", "wrong-scheme"],
)
def test_api_routes_require_the_bearer_key(
    sim: SimulatorServer, headers: dict[str, str], web: httpx.Client
) -> None:
    response = web.get(f"{sim.base_url}/clusters", headers=headers)
    assert response.status_code == 401
    body = response.json()
    assert body["code"] == 401
    assert body["reason"] == "UNAUTHORIZED"
    assert sim.api_key not in response.text


def test_bearer_scheme_is_case_insensitive(sim: SimulatorServer, web: httpx.Client) -> None:
    response = web.get(
        f"{sim.base_url}/clusters", headers={"Authorization": f"bearer {sim.api_key}"}
    )
    assert response.status_code == 200


def test_custom_key_is_the_only_one_accepted() -> None:
    with SimulatorServer(api_key="sk_custom_test_only", frozen=True) as other:
        ok = httpx.get(
            f"{other.base_url}/clusters", headers={"Authorization": "Bearer sk_custom_test_only"}
        )
        default = httpx.get(
            f"{other.base_url}/clusters",
            headers={"Authorization": "Bearer sk_sim_fake_key_for_local_use_only"},
        )
    assert ok.status_code == 200
    assert default.status_code == 401


def test_clusters_are_the_eight_seeded_regions_in_order(api: httpx.Client) -> None:
    data = api.get("/clusters").json()["data"]
    assert [(c["id"], c["name"]) for c in data] == EXPECTED_CLUSTERS
    assert tuple(c["id"] for c in data) == CLUSTER_IDS
    for cluster in data:
        assert set(cluster) == {
            "id",
            "name",
            "availableGpuType",
            "supportNetworkStorage",
            "supportInstanceNetwork",
        }
    by_id = {c["id"]: c for c in data}
    # Not deployable there, so not an available GPU type.
    assert "RTX 4090 24GB" not in by_id["cn-hongkong-1"]["availableGpuType"]
    assert "RTX 4090 24GB" in by_id["as-sgp-2"]["availableGpuType"]


def test_product_shape_and_string_spot_price(api: httpx.Client) -> None:
    products = api.get("/products", params={"clusterId": "as-sgp-2"}).json()["data"]
    product = next(p for p in products if p["id"] == "rtx4090-24g.as-sgp-2")
    assert product["name"] == "RTX 4090 24GB"
    assert product["price"] == 69000
    assert product["spotPrice"] == "35000"
    assert isinstance(product["price"], int)
    assert product["regions"] == ["AS-SGP-02"]
    assert product["billingMethods"] == ["onDemand", "spot", "monthly"]
    assert product["availableDeploy"] is True
    assert (product["minRootFS"], product["maxRootFS"]) == (10, 1000)
    assert product["monthlyPrice"][0]["month"] == 1
    assert {p["regions"][0] for p in products} == {"AS-SGP-02"}


def test_product_name_filter_is_fuzzy(api: httpx.Client) -> None:
    loose = api.get("/products", params={"clusterId": "as-sgp-2", "productName": "rtx 4090"})
    names = sorted(p["name"] for p in loose.json()["data"])
    assert names == ["RTX 4090 24GB", "RTX 4090D 24GB"]
    exact = api.get("/products", params={"clusterId": "as-sgp-2", "productName": "RTX4090 24gb"})
    assert [p["id"] for p in exact.json()["data"]] == ["rtx4090-24g.as-sgp-2"]


def test_products_across_clusters_and_the_documented_cheapest(api: httpx.Client) -> None:
    data = api.get("/products", params={"productName": "RTX 4090 24GB"}).json()["data"]
    regions = {p["regions"][0] for p in data}
    assert "US-CA-06 (California)" in regions
    assert not any("EU-WEST-01" in r for r in regions)
    deployable = [p for p in data if p["availableDeploy"]]
    assert min(deployable, key=lambda p: p["price"])["id"] == "rtx4090-24g.us-ca-6"
    assert min(deployable, key=lambda p: int(p["spotPrice"]))["id"] == "rtx4090-24g-b.us-ca-6"
    us_ca = [p for p in data if p["id"].endswith(".us-ca-6")]
    assert sorted((p["price"], p["spotPrice"]) for p in us_ca) == [
        (61000, "34000"),
        (64000, "30000"),
    ]
    assert {p["id"]: p["availableDeploy"] for p in data}["rtx4090-24g.cn-hongkong-1"] is False


def test_spot_filter_keeps_spot_capable_products(api: httpx.Client) -> None:
    all_products = api.get("/products", params={"clusterId": "as-sgp-2"}).json()["data"]
    spot = api.get("/products", params={"clusterId": "as-sgp-2", "billingMethod": "spot"})
    spot_names = {p["name"] for p in spot.json()["data"]}
    assert "L40S 48GB" in {p["name"] for p in all_products}
    assert "L40S 48GB" not in spot_names
    assert all("spot" in p["billingMethods"] for p in spot.json()["data"])


def test_gpu_num_filter_uses_available_gpu_number(api: httpx.Client) -> None:
    few = api.get("/products", params={"clusterId": "us-west-1", "productName": "H100"})
    many = api.get(
        "/products", params={"clusterId": "us-west-1", "productName": "H100", "gpuNum": 8}
    )
    assert len(few.json()["data"]) == 1
    assert many.json()["data"] == []


def test_bad_query_parameter_is_a_400_naming_it(api: httpx.Client) -> None:
    response = api.get("/gpu/instances", params={"pageSize": "ten"})
    assert response.status_code == 400
    assert response.json()["reason"] == "VALIDATOR_PARAM"
    assert "pageSize" in response.json()["message"]
    bad_mode = api.get("/products", params={"billingMethod": "weekly"})
    assert bad_mode.status_code == 400
    assert "billingMethod" in bad_mode.json()["message"]


def test_templates(api: httpx.Client) -> None:
    public = api.get("/template", params={"templateId": "1001"}).json()["template"]
    assert public["Id"] == "1001"
    assert public["imageAuth"] == ""
    assert {"type": "http", "ports": [8888, 7860]} in public["ports"]
    assert {"type": "tcp", "ports": [22]} in public["ports"]
    private = api.get("/template", params={"templateId": "1002"}).json()["template"]
    assert private["imageAuth"] == ACME_AUTH_ID
    no_ports = api.get("/template", params={"templateId": "1003"}).json()["template"]
    assert no_ports["ports"] == []
    assert no_ports["createTime"].isdigit()


def test_unknown_template_is_template_not_found(api: httpx.Client) -> None:
    response = api.get("/template", params={"templateId": "999999"})
    assert response.status_code == 400
    assert response.json()["reason"] == "TEMPLATE_NOT_FOUND"
    assert "template not found" in response.json()["message"]


def test_registry_auths(api: httpx.Client) -> None:
    data = api.get("/repository/auths").json()["data"]
    acme = next(a for a in data if a["id"] == ACME_AUTH_ID)
    assert acme == {
        "id": ACME_AUTH_ID,
        "name": "registry.acme.example",
        "username": "acme-puller",
        "password": "sim-registry-password",
    }
    assert all(len(a["id"]) == 32 and a["id"].isalnum() and a["id"].islower() for a in data)


def test_unknown_route_answers_the_envelope(api: httpx.Client) -> None:
    response = api.get("/no/such/route")
    assert response.status_code == 404
    assert response.json()["code"] == 404
