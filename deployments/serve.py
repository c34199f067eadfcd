"""Serve every deployment from one local process: `python -m deployments.serve`.

Each deployment is named after its flow, so a served provisioning is run with
`prefect deployment run 'provision-instance/provision-instance' --param name=... ...`.
Needs `PREFECT_API_URL` pointing at a Prefect server (`prefect server start`).
"""

from __future__ import annotations

import argparse
import asyncio
from datetime import timedelta
from typing import Any

from prefect import aserve
from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy
from prefect.types.entrypoint import EntrypointType

from deployments.catalog import DEPLOYMENTS
from deployments.triggers import deployment_triggers


def build_deployments() -> list[Any]:
    """Turn every `DeploymentSpec` into a Prefect runner deployment named after its flow.

    Example:
        >>> [d.name for d in build_deployments()][0]
        'provision-instance'

    """
    deployments = []
    for spec in DEPLOYMENTS:
        flow = spec.load_flow()
        scheduled: dict[str, Any] = {}
        if spec.interval_minutes:
            scheduled = {
                "interval": timedelta(minutes=spec.interval_minutes),
                "concurrency_limit": ConcurrencyLimitConfig(
                    limit=1, collision_strategy=ConcurrencyLimitStrategy.CANCEL_NEW
                ),
            }
        deployments.append(
            flow.to_deployment(
                name=flow.name,
                description=spec.description,
                tags=list(spec.tags),
                # module paths: results pickle under `flows.provision`, not a bare `provision`
                entrypoint_type=EntrypointType.MODULE_PATH,
                triggers=deployment_triggers(flow.name),
                **scheduled,
            )
        )
    return deployments


def main(argv: list[str] | None = None) -> None:
    """Serve until interrupted; Ctrl-C pauses the sweeps' schedules as it stops."""
    parser = argparse.ArgumentParser(
        prog="python -m deployments.serve", description="Serve every Novita deployment locally."
    )
    parser.add_argument("--limit", type=int, default=None, help="max concurrent flow runs")
    args = parser.parse_args(argv)
    asyncio.run(aserve(*build_deployments(), limit=args.limit))


if __name__ == "__main__":
    main()
