"""Parsing of Novita's loosely typed JSON into clean models, and the create body."""

from __future__ import annotations

import pickle
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from pydantic import SecretStr, ValidationError

from clients.novita import (
    Cluster,
    CreateInstanceRequest,
    Instance,
    InstanceStatus,
    Job,
    Product,
    RegistryAuth,
    Template,
    parse_ports_spec,
    strip_region_suffix,
)
from tests.client.novita_fakes import INSTANCE_DETAIL, instance_item

PRODUCT = {
    "id": "prod-4090",
    "name": "RTX 4090 24GB",
    "cpuPerGpu": 16,
    "memoryPerGpu": "62",
    "diskPerGpu": 200,
    "availableDeploy": True,
    "minRootFS": 10,
    "maxRootFS": 500,
    "regions": ["US-CA-06 (California)", "AS-SGP-02", "US-CA-06"],
    "price": 67000,
    "spotPrice": "34000",
    "monthlyPrice": [{"price": 43800000, "month": 1}],
    "billingMethods": ["onDemand", "spot", "monthly"],
    "inventoryState": "normal",
    "brandNewField": {"nested": True},
}


def test_cluster_parses_and_tolerates_null_lists() -> None:
    cluster = Cluster.model_validate(
        {
            "id": "us-ca-6",
            "name": "US-CA-06",
            "availableGpuType": None,
            "supportNetworkStorage": True,
            "supportInstanceNetwork": None,
        }
    )
    assert cluster.id == "us-ca-6"
    assert cluster.available_gpu_types == []
    assert cluster.support_network_storage is True
    assert cluster.support_instance_network is False


def test_product_prices_regions_and_extra_fields() -> None:
    product = Product.model_validate(PRODUCT)
    assert product.price == 67000
    assert product.spot_price == 34000
    assert product.price_per_hour == Decimal("0.67")
    assert product.spot_price_per_hour == Decimal("0.34")
    assert product.price_for("onDemand") == Decimal("0.67")
    assert product.price_for("spot") == Decimal("0.34")
    assert product.price_for("monthly") == Decimal("438")
    assert product.price_for("monthly", months=3) is None
    assert product.memory_per_gpu == 62
    assert product.min_rootfs == 10 and product.max_rootfs == 500
    # Suffix stripped, duplicates merged, order kept.
    assert product.regions == ["US-CA-06", "AS-SGP-02"]
    assert product.model_extra == {"brandNewField": {"nested": True}}
    assert "brandNewField" not in repr(product)
    assert product.supports("spot") and not Product(id="x").supports("spot")


@pytest.mark.parametrize("spot", ["", "0", None, 0])
def test_product_without_spot_offer_has_no_spot_price(spot: object) -> None:
    product = Product.model_validate({**PRODUCT, "spotPrice": spot})
    assert product.spot_price is None
    assert product.spot_price_per_hour is None
    assert product.price_for("spot") is None


def test_strip_region_suffix() -> None:
    assert strip_region_suffix("US-CA-06 (California)") == "US-CA-06"
    assert strip_region_suffix("  AS-SGP-02 ") == "AS-SGP-02"
    assert strip_region_suffix("EU-DE-01") == "EU-DE-01"


def test_instance_detail_quirks_are_absorbed() -> None:
    instance = Instance.model_validate(INSTANCE_DETAIL)
    assert instance.status is InstanceStatus.RUNNING
    assert instance.status_raw == "running"
    assert instance.status_error is None
    assert (instance.cpu_num, instance.memory, instance.gpu_num) == (16, 62, 1)
    assert instance.rootfs_size == 60
    assert instance.image_auth_id is None and instance.command is None
    assert instance.created_at == datetime(2026, 1, 15, 0, 0, tzinfo=UTC)
    assert instance.last_started_at == datetime(2026, 1, 15, 0, 1, 40, tzinfo=UTC)
    assert instance.last_stopped_at is None
    assert instance.end_time is None
    assert instance.spot_reclaim_time is None
    assert instance.billing_mode == "spot" and instance.spot_status == "running"
    assert [(m.port, m.type) for m in instance.port_mappings] == [(8188, "http"), (22, "tcp")]
    assert instance.port_mappings[0].endpoint.startswith("https://07ed667185a895bb-8188")
    assert instance.ssh is not None and instance.ssh.ssh_command.startswith("ssh root@")
    assert instance.ssh.password == SecretStr("ssh-pass-SECRET")
    assert instance.jupyter is not None and instance.jupyter.port == 8888
    assert instance.web_terminal is not None
    assert instance.web_terminal.password.get_secret_value() == "term-pass-SECRET"
    assert instance.logs is not None and instance.logs.instance_log_address is None
    assert instance.model_extra is not None and instance.model_extra["keepDataDay"] == 7
    text = repr(instance) + str(instance) + instance.model_dump_json()
    for secret in ("ssh-pass-SECRET", "term-pass-SECRET", "hf_envsecret"):
        assert secret not in repr(instance)
    assert "ssh-pass-SECRET" not in text and "term-pass-SECRET" not in text


def test_instance_list_item_folds_flat_ssh_fields_into_a_secret() -> None:
    instance = Instance.model_validate(
        instance_item("aaaa000000000001", sshCommand="ssh root@h -p 1", unknownThing="x")
    )
    assert instance.ssh is not None
    assert instance.ssh.ssh_command == "ssh root@h -p 1"
    assert instance.ssh.password.get_secret_value() == "flat-ssh-SECRET"
    assert "sshPassword" not in (instance.model_extra or {})
    assert "flat-ssh-SECRET" not in repr(instance) + instance.model_dump_json()
    assert instance.billing_mode is None and instance.spot_status is None
    assert instance.model_extra == {"unknownThing": "x"}


def test_unknown_extra_field_with_secret_name_is_wrapped() -> None:
    instance = Instance.model_validate(
        {
            "id": "a",
            "status": "running",
            "rootPassword": "zzTOPSECRETzz",
            "meta": {"apiToken": "t0k"},
        }
    )
    assert isinstance(instance.model_extra["rootPassword"], SecretStr)
    assert isinstance(instance.model_extra["meta"]["apiToken"], SecretStr)
    assert "zzTOPSECRETzz" not in instance.model_dump_json()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("pending", InstanceStatus.PENDING),
        ("toStart", InstanceStatus.TO_START),
        ("freezing", InstanceStatus.FREEZING),
        ("Running", InstanceStatus.RUNNING),
        ("hibernating", InstanceStatus.UNKNOWN),
        ("", InstanceStatus.UNKNOWN),
        (None, InstanceStatus.UNKNOWN),
    ],
)
def test_instance_status_is_tolerant(raw: str | None, expected: InstanceStatus) -> None:
    instance = Instance.model_validate({"id": "a", "status": raw})
    assert instance.status is expected
    assert instance.status_raw == (raw or "")


def test_every_documented_status_is_known() -> None:
    documented = (
        "toCreate creating pulling running toStart starting toStop stopping exited toRestart "
        "restarting toRemove removing removed toReset resetting migrating freezing pending"
    ).split()
    assert all(InstanceStatus.parse(s) is not InstanceStatus.UNKNOWN for s in documented)


@pytest.mark.parametrize("never", ["0", "", "-1", 0, None])
def test_epoch_never_values_become_none(never: object) -> None:
    instance = Instance.model_validate({"id": "a", "createdAt": never, "spotReclaimTime": never})
    assert instance.created_at is None and instance.spot_reclaim_time is None


def test_status_error_is_kept_when_set() -> None:
    instance = Instance.model_validate(
        {"id": "a", "status": "exited", "statusError": {"state": "oom", "message": "killed"}}
    )
    assert instance.status_error is not None and instance.status_error.message == "killed"


@pytest.mark.parametrize(
    ("fields", "reclaimed"),
    [
        ({"status": "exited", "billingMode": "spot"}, True),
        ({"status": "exited", "billingMode": "", "spotStatus": "terminated"}, True),
        ({"status": "exited", "billingMode": "onDemand", "spotReclaimTime": "1768438800"}, True),
        (
            {
                "status": "exited",
                "billingMode": "onDemand",
                "spotStatus": "",
                "spotReclaimTime": "0",
            },
            False,
        ),
        ({"status": "running", "billingMode": "spot", "spotStatus": "notified"}, False),
    ],
)
def test_was_spot_reclaimed(fields: dict[str, str], reclaimed: bool) -> None:
    assert Instance.model_validate({"id": "a", **fields}).was_spot_reclaimed is reclaimed


def test_job_parses_capital_id_and_state() -> None:
    job = Job.model_validate(
        {
            "Id": "job-1",
            "user": "u",
            "type": "instanceMigrate",
            "state": {"state": "fail", "error": "MIGRATE_INSUFFICIENT_RESOURCE", "message": ""},
            "instanceId": "07ed667185a895bb",
            "createdAt": "1768435200",
        }
    )
    assert job.id == "job-1"
    assert job.instance_id == "07ed667185a895bb"
    assert job.state.state == "fail" and job.state.error == "MIGRATE_INSUFFICIENT_RESOURCE"
    assert job.state.message is None
    assert job.failed and job.finished and not job.succeeded
    assert job.created_at == datetime(2026, 1, 15, tzinfo=UTC)


def test_template_quirks_and_ports_spec() -> None:
    template = Template.model_validate(
        {
            "Id": 212,
            "name": "comfy",
            "image": "ghcr.io/acme/comfy:1",
            "imageAuth": "",
            "startCommand": "python main.py",
            "rootfsSize": "80",
            "ports": [{"type": "http", "ports": [8888, "8188"]}, {"type": "TCP", "ports": ["22"]}],
            "envs": [{"key": "A", "value": "1"}],
            "createTime": "1711995567",
        }
    )
    assert template.id == "212"
    assert template.image_auth_id is None
    assert template.rootfs_size == 80
    assert template.ports_spec() == "8888/http,8188/http,22/tcp"
    assert template.envs[0].key == "A" and template.envs[0].value == "1"
    assert template.created_at is not None
    private = Template.model_validate({"Id": "1", "imageAuth": "75irlsvvsehnqdajg2r481mjk54ecodc"})
    assert private.image_auth_id == "75irlsvvsehnqdajg2r481mjk54ecodc"
    assert private.ports_spec() is None


def test_registry_auth_hides_password_and_builds_image_auth() -> None:
    auth = RegistryAuth.model_validate(
        {"id": "75irl", "name": "ghcr.io", "username": "bot", "password": "reg-pass-SECRET"}
    )
    assert "reg-pass-SECRET" not in repr(auth) + auth.model_dump_json()
    image_auth = auth.image_auth()
    assert isinstance(image_auth, SecretStr)
    assert image_auth.get_secret_value() == "bot:reg-pass-SECRET"


def _request(**overrides: object) -> CreateInstanceRequest:
    fields: dict[str, object] = {
        "name": "train-1",
        "product_id": "prod-4090",
        "gpu_num": 2,
        "rootfs_size": 60,
        "image_url": "ghcr.io/acme/train:1",
        "cluster_id": "us-ca-6",
        "billing_mode": "spot",
        "ports": "8888/http, 22/tcp",
        "envs": [{"key": "A", "value": "1"}],
        "command": "python train.py",
        "image_auth": "bot:reg-pass-SECRET",
    }
    fields.update(overrides)
    return CreateInstanceRequest(**fields)  # type: ignore[arg-type]


def test_create_request_body_is_exact_and_secret_only_in_body() -> None:
    request = _request()
    assert request.to_body() == {
        "name": "train-1",
        "productId": "prod-4090",
        "gpuNum": 2,
        "rootfsSize": 60,
        "imageUrl": "ghcr.io/acme/train:1",
        "clusterId": "us-ca-6",
        "billingMode": "spot",
        "ports": "8888/http,22/tcp",
        "envs": [{"key": "A", "value": "1"}],
        "command": "python train.py",
        "imageAuth": "bot:reg-pass-SECRET",
        "kind": "gpu",
    }
    for text in (repr(request), str(request), request.model_dump_json()):
        assert "reg-pass-SECRET" not in text


def test_create_request_minimal_body_omits_unset_fields() -> None:
    request = CreateInstanceRequest(product_id="p", rootfs_size=20, image_url="img")
    assert request.to_body() == {
        "name": "",
        "productId": "p",
        "gpuNum": 1,
        "rootfsSize": 20,
        "imageUrl": "img",
        "billingMode": "onDemand",
        "envs": [],
        "kind": "gpu",
    }


@pytest.mark.parametrize(
    "overrides",
    [
        {"gpu_num": 0},
        {"gpu_num": 9},
        {"billing_mode": "reserved"},
        {"ports": "8888"},
        {"ports": "8888/udp"},
        {"ports": "2222/tcp"},
        {"ports": "70000/http"},
        {"ports": "22/tcp,22/http"},
        {"ports": ",".join(f"{8000 + i}/http" for i in range(16))},
        {"product_id": ""},
        {"image_url": ""},
        {"kind": "cpu"},
    ],
)
def test_create_request_rejects_bad_values(overrides: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        _request(**overrides)


def test_create_request_validation_error_never_shows_image_auth() -> None:
    with pytest.raises(ValidationError) as info:
        _request(image_auth="no-colon-reg-pass-SECRET")
    assert "reg-pass-SECRET" not in str(info.value)
    with pytest.raises(ValidationError) as info:
        _request(gpu_num=99)
    assert "reg-pass-SECRET" not in str(info.value)


def test_parse_ports_spec() -> None:
    assert parse_ports_spec("80/http, 3306/TCP") == [(80, "http"), (3306, "tcp")]
    assert parse_ports_spec("") == []


def test_models_survive_pickling() -> None:
    # Prefect persists task results with cloudpickle.
    instance = Instance.model_validate(INSTANCE_DETAIL)
    clone = pickle.loads(pickle.dumps(instance))
    assert clone == instance
