"""A simulated GPU instance and how the API renders it.

An :class:`Instance` holds what was asked at create time, its current status and a queue of
scheduled :class:`Step` s (status changes at future simulated times, see
:mod:`simulator.lifecycle`). :meth:`Instance.to_api` renders the object exactly as
``GET /gpu/instance`` returns it, quirks included: ``cpuNum``/``memory``/``gpuNum`` are
strings, timestamps are epoch-second strings ("0" = never), ``billingMode`` is "" for
on-demand instances, ``spotStatus`` is "" for non-spot ones, ``endTime`` is "-1" unless
monthly.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from simulator.catalog import Product

__all__ = ["Instance", "Step"]

MONTH_SECONDS = 30 * 24 * 3600


@dataclass(frozen=True)
class Step:
    """A status change scheduled at a simulated time.

    Example:
        >>> Step(at=6.0, status="running").status
        'running'

    """

    at: float
    status: str | None = None
    action: Callable[[Instance, float], None] | None = None
    """Side effect applied with the step's own time (so timestamps stay exact)."""


def _ts(value: float) -> str:
    return str(int(value)) if value else "0"


@dataclass(eq=False)
class Instance:
    """One simulated instance.

    Example:
        >>> from simulator.seed import build_catalog
        >>> product = build_catalog().products["rtx4090-24g.as-sgp-2"]
        >>> inst = Instance("07ed667185a895bb", "demo", "as-sgp-2", "AS-SGP-02", product,
        ...                 gpu_num=2, rootfs_size=60, image_url="python:3.11", created_at=1.0)
        >>> data = inst.to_api(now=1.0, public_base="http://h:1", tcp_address="h:2")
        >>> data["cpuNum"], data["billingMode"]
        ('32', '')

    """

    id: str
    name: str
    cluster_id: str
    cluster_name: str
    product: Product
    gpu_num: int
    rootfs_size: int
    image_url: str
    created_at: float
    image_auth_id: str = ""
    command: str = ""
    ports: list[tuple[int, str]] = field(default_factory=list)
    envs: list[dict[str, str]] = field(default_factory=list)
    billing_mode: str = "onDemand"
    seq: int = 0
    status: str = "toCreate"
    status_error: tuple[str, str] = ("", "")
    last_started_at: float = 0.0
    last_stopped_at: float = 0.0
    spot_status: str = ""
    spot_reclaim_time: float = 0.0
    app_ready_at: float | None = None
    ssh_password: str = ""
    migrate_job_id: str = ""
    purge_at: float | None = None
    pending: deque[Step] = field(default_factory=deque)

    def advance(self, now: float) -> None:
        """Apply every scheduled step due at ``now`` (lazy evaluation, O(steps due)).

        Example:
            >>> from simulator.seed import build_catalog
            >>> p = build_catalog().products["rtx4090-24g.as-sgp-2"]
            >>> inst = Instance("a" * 16, "", "as-sgp-2", "AS-SGP-02", p, 1, 60, "x", 0.0)
            >>> inst.pending.append(Step(at=5.0, status="running"))
            >>> inst.advance(4.9); inst.status
            'toCreate'
            >>> inst.advance(5.0); inst.status
            'running'

        """
        pending = self.pending
        while pending and pending[0].at <= now:
            step = pending.popleft()
            if step.status is not None:
                self.status = step.status
            if step.action is not None:
                step.action(self, step.at)

    def app_is_up(self, now: float) -> bool:
        """Whether the instance's application answers (running and booted)."""
        return (
            self.status == "running" and self.app_ready_at is not None and now >= self.app_ready_at
        )

    def has_port(self, port: int, kind: str) -> bool:
        """Whether ``port`` is mapped with this type."""
        return (port, kind) in self.ports

    def to_api(self, *, now: float, public_base: str, tcp_address: str) -> dict[str, Any]:
        """Render the instance as ``GET /gpu/instance`` returns it.

        Args:
            now: Current simulated time (decides ``isRunning`` of the app components).
            public_base: ``http://host:port`` of the simulator, for http endpoints.
            tcp_address: ``host:port`` of the simulator's TCP listener, for tcp endpoints.

        """
        running = self.status == "running"
        app_up = self.app_is_up(now)
        mappings = []
        for port, kind in self.ports:
            endpoint = (
                f"{public_base}/_endpoints/{self.id}/{port}" if kind == "http" else tcp_address
            )
            mappings.append({"port": port, "endpoint": endpoint, "type": kind})
        tcp_host, _, tcp_port = tcp_address.rpartition(":")
        ssh_mapped = self.has_port(22, "tcp")
        jupyter_mapped = self.has_port(8888, "http")
        data: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "clusterId": self.cluster_id,
            "clusterName": self.cluster_name,
            "status": self.status,
            "statusError": {"state": self.status_error[0], "message": self.status_error[1]},
            "imageUrl": self.image_url,
            "imageAuthId": self.image_auth_id,
            "command": self.command,
            "entrypoint": "",
            "cpuNum": str(self.product.cpu_per_gpu * self.gpu_num),
            "memory": str(self.product.memory_per_gpu * self.gpu_num),
            "gpuNum": str(self.gpu_num),
            "productId": self.product.id,
            "productName": self.product.name,
            "rootfsSize": self.rootfs_size,
            "volumeMounts": [
                {"type": "local", "size": self.rootfs_size, "id": "", "mountPath": "/"}
            ],
            "portMappings": mappings,
            "envs": [dict(e) for e in self.envs],
            "kind": "gpu",
            # Live quirk: on-demand instances report an empty billingMode.
            "billingMode": "" if self.billing_mode == "onDemand" else self.billing_mode,
            "endTime": (
                _ts(self.created_at + MONTH_SECONDS) if self.billing_mode == "monthly" else "-1"
            ),
            "spotStatus": self.spot_status,
            "spotReclaimTime": _ts(self.spot_reclaim_time),
            "createdAt": _ts(self.created_at),
            "lastStartedAt": _ts(self.last_started_at),
            "lastStoppedAt": _ts(self.last_stopped_at),
            "freeStorageSize": 60,
            "keepDataDay": 7,
            "jobs": [{"id": self.migrate_job_id, "type": "instanceMigrate"}]
            if self.status == "migrating" and self.migrate_job_id
            else [],
            "connectComponentSSH": {
                "sshCommand": f"ssh root@{tcp_host} -p {tcp_port}" if ssh_mapped else "",
                "password": self.ssh_password if ssh_mapped else "",
                "isRunning": running and ssh_mapped,
            },
            "connectComponentWebTerminal": {
                "address": f"{public_base}/_endpoints/{self.id}/webterminal",
                "username": "root",
                "password": self.ssh_password,
                "isRunning": running,
            },
            "connectComponentLog": {
                "systemLogAddress": "",
                "instanceLogAddress": "",
                "isRunning": running,
            },
        }
        if jupyter_mapped:
            data["connectComponentJupyter"] = {
                "port": 8888,
                "address": f"{public_base}/_endpoints/{self.id}/8888",
                "isRunning": app_up,
            }
        return data
