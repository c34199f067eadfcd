"""Deployment triggers: which events run which deployment, with which parameters.

One trigger today: a `novita.instance.reclaimed` event (emitted by `reclaim-watch`, every
minute) runs `migration-sweep` at once for that instance, so a reclaimed spot machine waits
about a minute instead of up to the sweep's 15-minute schedule. The same spec is written
in `prefect.yaml` (for `prefect deploy`) and used by `python -m deployments.serve`; Prefect
turns each into an automation owned by the deployment, replaced on every (re)deploy, so
there are never duplicates. `tests/flows/test_health_and_reclaims.py` checks the two agree.
"""

from __future__ import annotations

from typing import Any

RECLAIM_TRIGGER: dict[str, Any] = {
    "type": "event",
    "name": "migrate-reclaimed-instance",
    "description": "A reclaimed spot instance (reclaim-watch) is migrated at once.",
    "enabled": True,
    "match": {"prefect.resource.id": "novita.instance.*"},
    "expect": ["novita.instance.reclaimed"],
    "posture": "Reactive",
    "threshold": 1,
    "within": 0,
    # the event's payload carries the plain Novita id; a one-item list is what the
    # sweep's `instance_ids` parameter takes
    "parameters": {"instance_ids": ["{{ event.payload.instance_id }}"]},
}
"""`migration-sweep`'s trigger, as `prefect.yaml` spells it."""

TRIGGER_SPECS: dict[str, list[dict[str, Any]]] = {"migration-sweep": [RECLAIM_TRIGGER]}
"""Deployment (= flow) name -> its trigger specs."""


def deployment_triggers(flow_name: str) -> list[Any]:
    """The Prefect trigger objects of a deployment, for `flow.to_deployment(triggers=...)`.

    Example:
        >>> [t.name for t in deployment_triggers("migration-sweep")]
        ['migrate-reclaimed-instance']
        >>> deployment_triggers("provision-instance")
        []

    """
    from prefect.events import DeploymentTriggerTypes
    from pydantic import TypeAdapter

    # the same reading `prefect deploy` gives the `triggers:` of prefect.yaml
    adapter: TypeAdapter[Any] = TypeAdapter(DeploymentTriggerTypes)
    return [adapter.validate_python(dict(spec)) for spec in TRIGGER_SPECS.get(flow_name, [])]
