"""Create the project's automations from `automations/*.yaml`: `python -m deployments.automations`.

Each file is one Prefect automation (name, trigger, actions) as Prefect's own schema spells
it. Their `send-notification` actions name no block in the file: the command fills in the
notification block given with `--notify-block <block-type-slug>/<block-name>` (e.g.
`slack-webhook/ops`), else the first of the saved policies' `notification_blocks`. An
automation of the same name is replaced, so running the command again never makes
duplicates (creating from YAML twice by hand does). Needs `PREFECT_API_URL`.

    python -m deployments.automations --notify-block slack-webhook/ops
    python -m deployments.automations --check      # validate the files, create nothing

The deployment trigger (`reclaim-watch` -> `migration-sweep`) is not here: it belongs to its
deployment (`prefect.yaml`, `deployments/triggers.py`).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any
from uuid import UUID

import yaml

AUTOMATIONS_DIR = Path(__file__).resolve().parents[1] / "automations"


class AutomationSetupError(RuntimeError):
    """The files or the notification block cannot be used; the message says which."""


def load_specs(folder: Path = AUTOMATIONS_DIR) -> list[dict[str, Any]]:
    """Read every `*.yaml` of the folder, sorted by file name.

    Example:
        >>> sorted(spec["name"] for spec in load_specs())
        ['novita-health-degraded', 'novita-migration-failed', 'novita-provision-failed']

    """
    specs = []
    for path in sorted(folder.glob("*.yaml")):
        spec = yaml.safe_load(path.read_text())
        if not isinstance(spec, dict) or "name" not in spec:
            raise AutomationSetupError(f"{path.name}: not an automation (no name)")
        specs.append(spec)
    return specs


def build_automation(spec: dict[str, Any], block_document_id: UUID) -> Any:
    """Validate one spec as a Prefect automation, its notifications sent through the block.

    Example:
        >>> from uuid import UUID
        >>> spec = load_specs()[0]
        >>> build_automation(spec, UUID(int=1)).actions[0].type
        'send-notification'

    """
    from prefect.events.schemas.automations import AutomationCore

    filled = dict(spec)
    filled["actions"] = [
        {**action, "block_document_id": str(block_document_id)}
        if action.get("type") == "send-notification"
        else action
        for action in spec.get("actions", [])
    ]
    try:
        return AutomationCore.model_validate(filled)
    except ValueError as exc:
        raise AutomationSetupError(f"automation {spec['name']!r}: {exc}") from None


async def notification_block_id(reference: str | None) -> tuple[str, UUID]:
    """The block document id of `<slug>/<name>`, or of the policies' first notification block.

    Example:
        ```python
        name, block_id = await notification_block_id("slack-webhook/ops")
        ```

    """
    from prefect.blocks.core import Block

    from blocks import NovitaPolicies

    if not reference:
        policies = await NovitaPolicies.resolve()
        reference = (policies.notification_blocks or [None])[0]
    if not reference:
        raise AutomationSetupError(
            "No notification block: pass --notify-block <block-type-slug>/<block-name> "
            "(e.g. slack-webhook/ops) or set notification_blocks in the NovitaPolicies block."
        )
    try:
        block = await Block.aload(reference)
    except (ValueError, KeyError) as exc:
        raise AutomationSetupError(f"Notification block {reference!r} not found: {exc}") from None
    block_id = block._block_document_id
    if block_id is None:
        raise AutomationSetupError(f"Notification block {reference!r} is not saved")
    return reference, block_id


async def apply_automations(
    notify_block: str | None = None, folder: Path = AUTOMATIONS_DIR
) -> dict[str, UUID]:
    """Create (or replace, by name) every automation of the folder; returns name -> id.

    Example:
        ```python
        created = await apply_automations("slack-webhook/ops")
        ```

    """
    from prefect.client.orchestration import get_client

    specs = load_specs(folder)
    _, block_id = await notification_block_id(notify_block)
    automations = [build_automation(spec, block_id) for spec in specs]
    created: dict[str, UUID] = {}
    async with get_client() as client:
        for automation in automations:
            for existing in await client.read_automations_by_name(automation.name):
                await client.delete_automation(existing.id)
            created[automation.name] = await client.create_automation(automation)
    return created


def main(argv: list[str] | None = None) -> int:
    """Validate the files, then create the automations (unless `--check`); 1 on a problem."""
    parser = argparse.ArgumentParser(
        prog="python -m deployments.automations",
        description="Create the project's Prefect automations from automations/*.yaml.",
    )
    parser.add_argument(
        "--notify-block",
        default=None,
        help="notification block as <block-type-slug>/<block-name>, e.g. slack-webhook/ops "
        "(default: the first of the NovitaPolicies block's notification_blocks)",
    )
    parser.add_argument(
        "--check", action="store_true", help="only validate the files; create nothing"
    )
    args = parser.parse_args(argv)
    try:
        if args.check:
            for spec in load_specs():
                build_automation(spec, UUID(int=0))
            sys.stdout.write(f"{len(load_specs())} automation files are valid\n")
            return 0
        created = asyncio.run(apply_automations(args.notify_block))
    except AutomationSetupError as exc:
        sys.stderr.write(f"{exc}\n")
        return 1
    for name, automation_id in created.items():
        sys.stdout.write(f"automation {name}: {automation_id}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
