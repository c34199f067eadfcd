"""Every deployment of the project in one list: what `serve` serves and `prefect.yaml` declares."""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class DeploymentSpec:
    """One deployment: the flow's entrypoint, description, tags, and schedule if it is a sweep."""

    entrypoint: str
    """`module.path:function`, e.g. `flows.provision:provision_instance`."""

    description: str
    tags: tuple[str, ...] = field(default=("novita",))
    interval_minutes: int | None = None
    """Scheduled sweeps run this often, one run at a time (a new run is cancelled)."""

    def load_flow(self) -> Any:
        """Import the flow object.

        Example:
            >>> DEPLOYMENTS[0].load_flow().name
            'provision-instance'

        """
        module_name, attribute = self.entrypoint.split(":")
        return getattr(importlib.import_module(module_name), attribute)


DEPLOYMENTS: tuple[DeploymentSpec, ...] = (
    DeploymentSpec(
        "flows.provision:provision_instance",
        "Provision a GPU machine: cheapest available product, region failover, ready, webhooks.",
    ),
    DeploymentSpec(
        "flows.provision_fleet:provision_fleet",
        "Provision many machines at once with bounded concurrency.",
    ),
    DeploymentSpec(
        "flows.lifecycle:start_instance_flow",
        "Start a stopped machine (by id or name) and wait until it serves.",
    ),
    DeploymentSpec(
        "flows.lifecycle:stop_instance_flow",
        "Stop a machine (by id or name) and wait until Novita reports it exited.",
    ),
    DeploymentSpec(
        "flows.lifecycle:delete_instance_flow",
        "Delete a machine (by id or name).",
    ),
    DeploymentSpec(
        "flows.lifecycle:mark_instance_used_flow",
        "Record that a machine was used (keeps auto-stop away).",
    ),
    DeploymentSpec(
        "flows.auto_stop_sweep:auto_stop_sweep",
        "Stop running machines nobody used for longer than their threshold.",
        tags=("novita", "sweep"),
        interval_minutes=5,
    ),
    DeploymentSpec(
        "flows.migration_sweep:migration_sweep",
        "Bring back spot machines the cloud reclaimed: migrate, else recreate elsewhere.",
        tags=("novita", "sweep"),
        interval_minutes=15,
    ),
    DeploymentSpec(
        "flows.fleet_sync:fleet_sync",
        "Reconcile the store with Novita, redeliver failed webhooks, publish the fleet table.",
        tags=("novita", "sweep"),
        interval_minutes=10,
    ),
    DeploymentSpec(
        "flows.get_instance:get_instance_flow",
        "Show one machine (by id or name): live status, cost so far, how to connect; probe=true.",
    ),
    DeploymentSpec(
        "flows.stop_all:stop_all_flow",
        "Stop every running managed machine (filters: name_prefix, regions); confirm=true to act.",
    ),
    DeploymentSpec(
        "flows.novita_health:novita_health",
        "One verdict on the Novita side (healthy/degraded/down); Failed + an event unless healthy.",
        tags=("novita", "sweep"),
        interval_minutes=5,
    ),
    DeploymentSpec(
        "flows.reclaim_watch:reclaim_watch",
        "Announce reclaimed spot machines (novita.instance.reclaimed); the trigger migrates them.",
        tags=("novita", "sweep"),
        interval_minutes=1,
    ),
)
"""Each is deployed under its flow's name, e.g. `provision-instance/provision-instance`."""
