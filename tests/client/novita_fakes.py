"""Shared fakes for the Novita client tests: a respx router on the client's own transport."""

from __future__ import annotations

from typing import Any

import httpx
import respx

from clients.novita import NovitaClient, RetryPolicy

BASE_URL = "https://novita.test/gpu-instance/openapi/v1"
# Easy to spot anywhere it should not be.
API_KEY = "sk_live_LEAKCANARY_7f3a9c2e1b"


class FakeSleep:
    """Records the waits the retry policy asked for, without waiting."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def make_router() -> respx.Router:
    # A private router, never the global respx.mock: nothing else's HTTP is intercepted.
    return respx.Router(base_url=BASE_URL, assert_all_called=False)


def make_client(
    router: respx.Router,
    sleep: FakeSleep | None = None,
    retry_policy: RetryPolicy | None = None,
    **kwargs: Any,
) -> NovitaClient:
    return NovitaClient(
        api_key=API_KEY,
        base_url=BASE_URL,
        transport=httpx.MockTransport(router.async_handler),
        sleep=sleep or FakeSleep(),
        retry_policy=retry_policy or RetryPolicy(jitter=0),
        **kwargs,
    )


def envelope(status: int, reason: str, message: str, **metadata: Any) -> httpx.Response:
    return httpx.Response(
        status,
        json={"code": status, "reason": reason, "message": message, "metadata": metadata},
    )


HTML_502 = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n"
)

# Assembled from the reference's field lists and live formats (novita-api.md §4.2).
INSTANCE_DETAIL: dict[str, Any] = {
    "id": "07ed667185a895bb",
    "name": "comfy-1",
    "clusterId": "us-ca-1",
    "clusterName": "US-CA-01",
    "status": "running",
    "statusError": {"state": "", "message": ""},
    "imageUrl": "nvidia/cuda:12.4.0-base-ubuntu22.04",
    "imageAuthId": "",
    "command": "",
    "entrypoint": "",
    "cpuNum": "16",
    "memory": "62",
    "gpuNum": "1",
    "productId": "prod-4090",
    "productName": "RTX 4090 24GB",
    "rootfsSize": 60,
    "portMappings": [
        {
            "port": 8188,
            "endpoint": "https://07ed667185a895bb-8188.us-ca-1.gpu-instance.novita.ai",
            "type": "http",
        },
        {"port": 22, "endpoint": "proxy.us-ca-1.gpu-instance.novita.ai:38597", "type": "tcp"},
    ],
    "volumeMounts": [{"type": "local", "size": 20, "id": "", "mountPath": "/workspace"}],
    "envs": [{"key": "HF_TOKEN", "value": "hf_envsecret"}],
    "kind": "gpu",
    "billingMode": "spot",
    "endTime": "-1",
    "spotStatus": "running",
    "spotReclaimTime": "0",
    "createdAt": "1768435200",
    "lastStartedAt": "1768435300",
    "lastStoppedAt": "0",
    "freeStorageSize": 60,
    "keepDataDay": 7,
    "jobs": [],
    "connectComponentSSH": {
        "sshCommand": "ssh root@proxy.us-ca-1.gpu-instance.novita.ai -p 38597",
        "password": "ssh-pass-SECRET",
        "isRunning": True,
    },
    "connectComponentJupyter": {
        "port": 8888,
        "address": "https://07ed667185a895bb-8888.us-ca-1.gpu-instance.novita.ai",
        "isRunning": True,
    },
    "connectComponentWebTerminal": {
        "address": "https://term.example",
        "username": "root",
        "password": "term-pass-SECRET",
        "isRunning": False,
    },
    "connectComponentLog": {"systemLogAddress": "https://sys.log", "instanceLogAddress": ""},
}


def instance_item(instance_id: str, **overrides: Any) -> dict[str, Any]:
    """A list item of GET /gpu/instances (flat ssh fields, no connect components)."""
    item: dict[str, Any] = {
        "id": instance_id,
        "name": f"inst-{instance_id}",
        "clusterId": "us-ca-6",
        "clusterName": "US-CA-06",
        "status": "running",
        "cpuNum": "8",
        "memory": "32",
        "gpuNum": "1",
        "rootfsSize": 60,
        "portMappings": [],
        "billingMode": "",
        "spotStatus": "",
        "spotReclaimTime": "0",
        "createdAt": "1768435200",
        "lastStartedAt": "0",
        "lastStoppedAt": "0",
        "sshPassword": "flat-ssh-SECRET",
    }
    item.update(overrides)
    return item
