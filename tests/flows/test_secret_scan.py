"""Secrets stay out of storage: a scan of everything the project and Prefect wrote finds none.

The scenario uses every secret the project handles: the Novita API key, the webhook signing
secret, a token riding in the webhook URL (given as `SecretStr`), a private-image template
(its registry password) with a secret env value, and a provisioning whose parameters fail
validation. Then Prefect's database (flow runs and their parameters, task runs, logs,
artifacts, events, blocks), its result storage (decoded), the captured logs and the state
store are searched byte by byte.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prefect.exceptions import ParameterTypeError
from pydantic import SecretStr

from flows.lifecycle import stop_instance_flow
from flows.provision import provision_instance
from simulator.seed import TRAINER_TOKEN
from simulator.server import SimulatorServer
from store import StateStore
from tests.flows.conftest import WEBHOOK_SECRET
from tests.webhooks.receiver import Receiver

TOKEN = "scan-token-93ab51c0"


def files_under(*folders: Path) -> Iterator[Path]:
    for folder in folders:
        if folder.is_file():
            yield folder
        elif folder.is_dir():
            yield from (p for p in folder.rglob("*") if p.is_file())


def decoded(raw: bytes) -> Iterator[bytes]:
    """The bytes of a file and what they hold: JSON strings, base64 (Prefect's results)."""
    yield raw
    try:
        document = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return
    stack: list[Any] = [document]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str):
            yield item.encode()
            try:
                yield base64.b64decode("".join(item.split()), validate=True)
            except (binascii.Error, ValueError):
                pass


def hits(secrets: dict[str, str], folders: list[Path]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in files_under(*folders):
        for blob in decoded(path.read_bytes()):
            for label, secret in secrets.items():
                if secret.encode() in blob:
                    found.setdefault(label, []).append(str(path))
    return found


async def test_no_secret_is_stored_anywhere(
    sim: SimulatorServer,
    receiver: Receiver,
    store: StateStore,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from prefect.settings import get_current_settings

    caplog.set_level(logging.DEBUG)
    webhook = SecretStr(f"{receiver.url}?token={TOKEN}")
    name = f"scan-{uuid.uuid4().hex[:8]}"

    result = await provision_instance(
        name=name, product_name="RTX 4090 24GB", template_id="1002", webhook_url=webhook
    )
    assert result.status == "ready"
    await stop_instance_flow(name=name)  # a later flow sends to the kept webhook too
    with pytest.raises(ParameterTypeError):
        await provision_instance(
            name=f"{name}-bad", product_name="RTX 4090 24GB", template_id="1002",
            gpu_num=99, webhook_url=webhook,
        )  # fmt: skip

    # the owner was told, at the real URL with its token, and the signature holds
    assert receiver.requests and all(TOKEN in r.path for r in receiver.requests)
    record = await store.get_instance_by_name(name)
    assert record is not None and record.webhook_url is not None
    assert "token=REDACTED" in record.webhook_url

    settings = get_current_settings()
    url = settings.server.database.connection_url
    url_text = url.get_secret_value() if isinstance(url, SecretStr) else str(url)
    prefect_db = Path(url_text.split("///", 1)[1]).parent  # the harness's SQLite and its WAL
    results = Path(settings.results.local_storage_path)
    state_db = Path(str(store.url.database))
    secrets = {
        "API key": sim.api_key,
        "webhook signing secret": WEBHOOK_SECRET,
        "registry password": "sim-registry-password",
        "webhook URL token": TOKEN,
        "template env value": TRAINER_TOKEN,
    }
    where = [prefect_db, results, state_db, state_db.with_name(state_db.name + "-wal")]
    assert hits(secrets, where) == {}
    assert [label for label, s in secrets.items() if s in caplog.text] == []
    scanned = sum(1 for _ in files_under(*where))
    assert scanned >= 3  # the Prefect database, result files, the store


async def test_a_webhook_given_as_a_secret_block_reaches_the_owner(
    sim: SimulatorServer, receiver: Receiver, store: StateStore
) -> None:
    from prefect.blocks.system import Secret

    block = f"hook-{uuid.uuid4().hex[:6]}"
    await Secret(value=f"{receiver.url}?token={TOKEN}-block").asave(block)
    name = f"blockhook-{uuid.uuid4().hex[:6]}"

    await provision_instance(
        name=name, product_name="RTX 4090 24GB", template_id="1001", webhook_block=block
    )

    assert receiver.requests and all(f"{TOKEN}-block" in r.path for r in receiver.requests)
    record = await store.get_instance_by_name(name)
    assert record is not None and record.webhook_url is not None
    assert block in record.webhook_url and TOKEN not in record.webhook_url
    deliveries = await store.list_deliveries(instance_id=record.instance_id)
    assert deliveries and all(TOKEN not in d.url for d in deliveries)
