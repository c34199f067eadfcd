"""What `novita-health` shows: the `novita-health` artifact and the `novita.health.*` event.

The artifact (keyed, so the latest verdict is one click away) holds the verdict and each
check's reason. The event is what automations and notification blocks react to:
`novita.health.degraded` for a degraded or down verdict (the payload says which),
`novita.health.healthy` otherwise, both on resource `novita.health`.
"""

from __future__ import annotations

from prefect.artifacts import acreate_markdown_artifact
from prefect.events import emit_event

from flows.common.run_logger import run_logger
from flows.health.rules import HealthVerdict, Level

ARTIFACT_KEY = "novita-health"
RESOURCE_ID = "novita.health"
DEGRADED_EVENT = "novita.health.degraded"
HEALTHY_EVENT = "novita.health.healthy"


def health_markdown(verdict: HealthVerdict) -> str:
    """The artifact's text: the verdict, then one table row per check.

    Example:
        >>> from flows.health.rules import CheckResult
        >>> print(health_markdown(HealthVerdict(verdict=Level.HEALTHY, checks=[
        ...     CheckResult(name="store", level=Level.HEALTHY, reason="read 2")])))
        # Novita health: **healthy**
        <BLANKLINE>
        | check | level | reason |
        |---|---|---|
        | store | healthy | read 2 |

    """
    rows = [f"| {c.name} | {c.level} | {c.reason.replace('|', '/')} |" for c in verdict.checks]
    lines = [
        f"# Novita health: **{verdict.verdict}**",
        "",
        "| check | level | reason |",
        "|---|---|---|",
    ]
    return "\n".join(lines + rows)


async def publish_health(verdict: HealthVerdict) -> None:
    """Publish the artifact and emit the event; never fails the run (the verdict does).

    Example:
        ```python
        await publish_health(overall(checks))
        ```

    """
    logger = run_logger(__name__)
    try:
        await acreate_markdown_artifact(
            key=ARTIFACT_KEY, markdown=health_markdown(verdict), description=verdict.summary()
        )
    except Exception as exc:
        logger.warning("Health artifact not published: %s", type(exc).__name__)
    try:
        emit_event(
            event=HEALTHY_EVENT if verdict.verdict == Level.HEALTHY else DEGRADED_EVENT,
            resource={"prefect.resource.id": RESOURCE_ID, "prefect.resource.name": "Novita"},
            payload={
                "verdict": str(verdict.verdict),
                "summary": verdict.summary(),
                "checks": [c.model_dump(mode="json") for c in verdict.checks],
            },
        )
    except Exception as exc:  # an event that cannot be sent must not hide the verdict
        logger.warning("Health event not emitted: %s", type(exc).__name__)
