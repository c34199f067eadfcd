"""What a provisioning shows in the Prefect UI: a progress bar while it runs, a summary at the end.

The progress artifact (on the flow run's Artifacts tab) moves 10% planned → 30% created →
60% running → 80% health checking → 100% ready; its description says the current step, or
what went wrong. The markdown summary, keyed `provision-<name>` (`summary_key`), is published
when the machine is ready (id, region, product, price, ports, how to connect, times) or when
the provisioning fails (what happened in each region). Passwords never appear: connection
details come from `flows.instance_view.connection_details`, which leaves them out.

Artifacts are the dashboard, not the operation: a failure to publish one is logged and
never fails the provisioning.

Example:
    ```python
    progress = ProvisionProgress("trainer-1")
    await progress.step(ProgressStep.PLANNED)
    ...
    await publish_provision_summary(result)
    ```

"""

from __future__ import annotations

import re
from collections.abc import Sequence
from enum import Enum
from typing import Any
from uuid import UUID

from prefect.artifacts import (
    acreate_markdown_artifact,
    acreate_progress_artifact,
    aupdate_progress_artifact,
)

from flows.common.dashboard_format import NONE, format_duration, format_moment, format_usd
from flows.common.run_logger import run_logger
from flows.provisioning.creation import RegionAttempt
from flows.provisioning.readiness import ReadinessPhase
from flows.provisioning.request import ProvisionRequest
from flows.provisioning.result import ProvisionResult

SUMMARY_KEY_PREFIX = "provision-"


def summary_key(name: str) -> str:
    """The artifact key of an instance's provisioning summary: `provision-<name>`.

    Artifact keys take lowercase letters, digits and dashes only: the name is lowercased and
    every other run of characters becomes one dash.

    Example:
        >>> summary_key("Trainer_1")
        'provision-trainer-1'

    """
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "instance"
    return SUMMARY_KEY_PREFIX + slug


class ProgressStep(Enum):
    """The steps a provisioning reports, with their percentage and wording."""

    PLANNED = (10, "planned: product and regions chosen")
    CREATED = (30, "created at Novita, waiting until it runs")
    RUNNING = (60, "running at Novita")
    HEALTH_CHECKING = (80, "health-checking its endpoints")
    READY = (100, "ready")

    @property
    def percent(self) -> float:
        """How far along this step is, 0-100."""
        return float(self.value[0])

    @property
    def text(self) -> str:
        """What the step means, for the artifact's description."""
        return self.value[1]


_PHASE_STEPS = {
    ReadinessPhase.RUNNING: ProgressStep.RUNNING,
    ReadinessPhase.HEALTH_CHECKING: ProgressStep.HEALTH_CHECKING,
    ReadinessPhase.READY: ProgressStep.READY,
}


class ProvisionProgress:
    """The progress artifact of one provisioning; created at its first step, then updated.

    Example:
        ```python
        progress = ProvisionProgress("trainer-1")
        await progress.step(ProgressStep.PLANNED)          # 10%
        await progress.phase(ReadinessPhase.RUNNING)       # 60%
        await progress.failed("not healthy by the deadline")
        ```

    """

    def __init__(self, name: str, *, publish: bool = True) -> None:
        self.name = name
        self.publish = publish
        self.artifact_id: UUID | None = None
        self.percent = 0.0

    async def step(self, step: ProgressStep) -> None:
        """Move the bar to `step` (never backwards); never raises."""
        self.percent = max(self.percent, step.percent)
        await self._publish(f"Provisioning {self.name}: {step.text}")

    async def phase(self, phase: ReadinessPhase) -> None:
        """Move the bar to the step of a readiness phase (running, health checking, ready)."""
        step = _PHASE_STEPS.get(phase)
        if step is not None:
            await self.step(step)

    async def failed(self, message: str) -> None:
        """Keep the bar where it stopped and say why the provisioning failed."""
        await self._publish(f"Provisioning {self.name} FAILED at {self.percent:.0f}%: {message}")

    async def publish_text(self, description: str) -> None:
        """Show the bar at its current percent with this description; never raises."""
        await self._publish(description)

    async def _publish(self, description: str) -> None:
        if not self.publish:
            return
        try:
            if self.artifact_id is None:
                self.artifact_id = await acreate_progress_artifact(
                    progress=self.percent, description=description
                )
            else:
                await aupdate_progress_artifact(
                    self.artifact_id, progress=self.percent, description=description
                )
        except Exception as exc:  # the dashboard never fails the provisioning
            run_logger(__name__).warning("Progress artifact not updated: %s", type(exc).__name__)


class FleetProgress:
    """The progress bar of a fleet: machines created, then machines done (ready or failed).

    Creating counts for the first half of the bar, finishing for the second; it is updated
    every tenth of the fleet at most, so a big fleet costs a handful of artifact updates.

    Example:
        ```python
        progress = FleetProgress(100)
        await progress.created()
        await progress.done(ready=98, failed=2)
        ```

    """

    def __init__(self, total: int) -> None:
        self.total = max(total, 1)
        self.created_count = self.failed_count = 0
        self.bar = ProvisionProgress("fleet")
        self._shown = -1.0

    async def created(self) -> None:
        """One more machine was created or adopted."""
        self.created_count += 1
        await self._show(50 * self.created_count / self.total)

    async def failed(self) -> None:
        """One more machine failed."""
        self.failed_count += 1
        await self._show(self.bar.percent)

    async def done(self, ready: int, failed: int) -> None:
        """Every machine is done: the bar is full and says how it went."""
        self._shown = -1.0
        self.bar.percent = 100.0
        await self.bar.publish_text(f"Fleet of {self.total}: {ready} ready, {failed} failed")

    async def _show(self, percent: float) -> None:
        if percent - self._shown < 10 and percent < 100:
            return
        self._shown = self.bar.percent = max(self.bar.percent, percent)
        await self.bar.publish_text(
            f"Fleet of {self.total}: {self.created_count} created, {self.failed_count} failed"
        )


def _cell(value: Any) -> str:
    """A markdown table cell: no pipes or line breaks from the data break the table."""
    text = NONE if value is None or value == "" else str(value)
    return text.replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def _regions_table(attempts: Sequence[RegionAttempt]) -> list[str]:
    if not attempts:
        return ["No region was tried."]
    lines = ["| region | cluster | outcome | reason |", "|---|---|---|---|"]
    lines += [
        f"| {_cell(a.region)} | {_cell(a.cluster_id)} | {_cell(a.outcome)} | {_cell(a.reason)} |"
        for a in attempts
    ]
    return lines


_CONNECTION_LABELS = {"ssh": "SSH", "jupyter": "Jupyter", "web_terminal": "Web terminal"}


def ready_summary_markdown(result: ProvisionResult) -> str:
    """The markdown of a ready provisioning: where, what, how much, how to connect.

    Example:
        ```python
        print(ready_summary_markdown(result))
        ```

    """
    took = ""
    if result.created_at and result.ready_at:
        took = f" (after {format_duration(result.ready_at - result.created_at)})"
    price = NONE if result.price_per_hour is None else f"{format_usd(result.price_per_hour)}/h"
    lines = [
        f"# {result.name} is ready",
        "",
        "| | |",
        "|---|---|",
        f"| Instance | `{_cell(result.instance_id)}` |",
        f"| Region | {_cell(result.region)} ({_cell(result.cluster_id)}) |",
        f"| Product | {_cell(result.product_name)} (`{_cell(result.product_id)}`) |",
        f"| Billing | {_cell(result.billing_mode)} |",
        f"| Price | {price} (all GPUs) |",
        f"| Created | {format_moment(result.created_at)} |",
        f"| Ready | {format_moment(result.ready_at)}{took} |",
        f"| Adopted | {'yes, an instance of this name existed' if result.adopted else 'no'} |",
        "",
        "## Connect",
        "",
    ]
    details = result.connection_details
    for key, value in details.items():
        label = _CONNECTION_LABELS.get(key) or key.replace("http_", "HTTP port ")
        lines.append(f"- {label}: `{_cell(value)}`")
    if not details:
        lines.append("- No connection details were reported.")
    lines += [
        "",
        "Passwords are not shown: the Novita console shows them to the instance's owner.",
        "",
        "## Ports",
        "",
    ]
    if result.port_mappings:
        lines += ["| port | type | endpoint |", "|---|---|---|"]
        lines += [
            f"| {p.port} | {_cell(p.type)} | {_cell(p.endpoint)} |" for p in result.port_mappings
        ]
    else:
        lines.append("No ports are exposed.")
    if result.health_check is not None:
        checked = len(result.health_check.checked)
        verdict = "healthy" if result.health_check.healthy else "NOT healthy"
        lines += ["", f"Health check: {verdict} ({checked} endpoint(s) checked)."]
    lines += ["", "## Regions tried", "", *_regions_table(result.regions_tried)]
    return "\n".join(lines) + "\n"


def failure_summary_markdown(
    request: ProvisionRequest,
    message: str,
    attempts: Sequence[RegionAttempt],
    instance_id: str | None,
) -> str:
    """The markdown of a failed provisioning: the error and what happened in each region.

    Example:
        >>> request = ProvisionRequest(name="a", product_name="RTX 4090 24GB", template_id="1")
        >>> print(failure_summary_markdown(request, "no capacity", [], None).splitlines()[0])
        # Provisioning a failed

    """
    lines = [
        f"# Provisioning {request.name} failed",
        "",
        f"{_cell(request.product_name)} ({_cell(request.billing_mode)}): {_cell(message)}",
        "",
    ]
    if instance_id:
        lines += [
            f"The instance `{instance_id}` was created and is recorded as failed; start or "
            "provision it again, or delete it.",
            "",
        ]
    lines += ["## What happened in each region", "", *_regions_table(attempts)]
    return "\n".join(lines) + "\n"


async def _publish_markdown(name: str, markdown: str, description: str) -> UUID | None:
    try:
        return await acreate_markdown_artifact(
            markdown=markdown, key=summary_key(name), description=description
        )
    except Exception as exc:  # the dashboard never fails the provisioning
        run_logger(__name__).warning("Provisioning summary not published: %s", type(exc).__name__)
        return None


async def publish_provision_summary(result: ProvisionResult) -> UUID | None:
    """Publish the `provision-<name>` summary of a ready machine (nothing for other results).

    Example:
        ```python
        await publish_provision_summary(result)
        ```

    """
    if result.status != "ready":
        return None
    return await _publish_markdown(
        result.name,
        ready_summary_markdown(result),
        f"{result.name} ready in {result.region} at {format_usd(result.price_per_hour)}/h",
    )


async def publish_failure_summary(
    progress: ProvisionProgress,
    request: ProvisionRequest,
    message: str,
    attempts: Sequence[RegionAttempt],
    instance_id: str | None,
) -> UUID | None:
    """Mark the progress bar failed and publish the `provision-<name>` failure summary.

    Example:
        ```python
        await publish_failure_summary(progress, request, str(exc), attempts, instance_id)
        ```

    """
    await progress.failed(message)
    return await _publish_markdown(
        request.name,
        failure_summary_markdown(request, message, attempts, instance_id),
        f"Provisioning {request.name} failed",
    )
