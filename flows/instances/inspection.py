"""Look at one instance now for `get-instance`: one live read, the record, an optional probe.

The lookup is the lifecycle flows' own (`flows/instances/lookup.py`: by id or by name, managed
or not, a deleted record still found by name); the probe is the readiness check's task, told
to answer quickly (a couple of attempts within `PROBE_DEADLINE_SECONDS`), since an operator
asks "does it answer *now*?". Nothing is written: get-instance changes no status and sends
no webhook. The details are published as the `instance-<name>` markdown artifact and logged.
"""

from __future__ import annotations

from datetime import datetime

from prefect.artifacts import acreate_markdown_artifact

from clients.novita import InstanceStatus
from flows.common.resources import FlowResources
from flows.common.run_logger import run_logger
from flows.common.use_events import newest_use_events
from flows.instances.details import InstanceDetails, describe, details_markdown, summary_lines
from flows.instances.lookup import find_target
from flows.instances.mark_used import MARK_USED_CLOCK_SKEW
from flows.sweeps.auto_stop.rules import use_event_lookback
from store import ManagedInstance, utc_now
from tasks.probe_endpoints import probe_endpoints

PROBE_ATTEMPTS = 2
"""Probes per endpoint: one retry absorbs a blip, more would be a readiness wait."""

PROBE_DEADLINE_SECONDS = 20.0
"""The whole probe gives up after this long (endpoints are probed concurrently)."""


async def inspect_instance(
    res: FlowResources, instance_id: str | None, name: str | None, probe: bool
) -> InstanceDetails:
    """Find the instance, read it live, probe it when asked; publish and log the details.

    Raises:
        InstanceSelectorError: not exactly one of `instance_id` and `name`.
        InstanceLookupError: neither the store nor Novita knows it.

    Example:
        ```python
        details = await inspect_instance(res, None, "trainer-1", probe=True)
        print(details.connection_details["ssh"])
        ```

    """
    target = await find_target(res, instance_id, name)
    now = utc_now()
    logger = run_logger(__name__)
    details = describe(
        target.instance_id,
        target.name,
        target.record,
        target.live,
        res.policies.auto_stop_minutes,
        now,
        await _newest_use_event(target.instance_id, target.record, res, now),
    )
    if probe:
        if target.live is None or target.live.status != InstanceStatus.RUNNING:
            # a stopped machine's endpoints cannot answer: probing would only wait
            logger.info("No probe: Novita does not report %s running", target.label)
        elif not target.live.port_mappings:
            logger.info("No probe: %s exposes no ports", target.label)
        else:
            settings = res.webhook_settings
            details.health = await probe_endpoints.with_options(
                task_run_name=f"probe-{target.name or target.instance_id}"
            )(
                target.live.port_mappings,
                deadline_seconds=PROBE_DEADLINE_SECONDS,
                attempts=PROBE_ATTEMPTS,
                strict_outbound=settings.strict_outbound,
                outbound_allow_list=list(settings.outbound_allow_list),
            )
    await publish_details(details)
    logger.info("\n".join(summary_lines(details)))
    return details


async def _newest_use_event(
    instance_id: str, record: ManagedInstance | None, res: FlowResources, now: datetime
) -> datetime | None:
    """Its newest use event, as the sweep reads it; None when Prefect's events cannot be read."""
    if record is None:
        return None
    since = now - use_event_lookback([record], res.policies.auto_stop_minutes)
    try:
        used = await newest_use_events(since, now + MARK_USED_CLOCK_SKEW, [instance_id])
    except Exception as exc:  # get-instance still answers from the store's view
        run_logger(__name__).warning("Use events not read: %s", type(exc).__name__)
        return None
    return used.get(instance_id)


async def publish_details(details: InstanceDetails) -> None:
    """Publish the `instance-<name>` markdown artifact; never fails the run.

    Example:
        ```python
        await publish_details(details)
        ```

    """
    try:
        await acreate_markdown_artifact(
            markdown=details_markdown(details),
            key=details.artifact_key,
            description=f"get-instance: {details.name or details.instance_id}",
        )
    except Exception as exc:  # the details are also the flow's result: a lost artifact is not fatal
        run_logger(__name__).warning(
            "Artifact %s not published: %s", details.artifact_key, type(exc).__name__
        )
