"""Every deployment of the project in one list: what `serve` serves and `prefect.yaml` declares."""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class DeploymentSpec:
    """One deployment: the flow's entrypoint, its description and tags (schedules come later)."""

    entrypoint: str
    """`module.path:function`, e.g. `flows.provision:provision_instance`."""

    description: str
    tags: tuple[str, ...] = field(default=("novita",))

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
)
"""Each is deployed under its flow's name, e.g. `provision-instance/provision-instance`."""
