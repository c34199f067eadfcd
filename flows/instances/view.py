"""What a caller is told about an instance: ports, connection details (never passwords)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from clients.novita import Instance
from store.models import ManagedInstance


class PortView(BaseModel):
    """One exposed port: container port, public endpoint, http or tcp."""

    port: int
    endpoint: str
    type: str


def port_views(instance: Instance) -> list[PortView]:
    """The instance's port mappings as plain data.

    Example:
        >>> port_views(Instance.model_validate({"id": "a" * 16, "portMappings": [
        ...     {"port": 22, "endpoint": "h:1", "type": "tcp"}]}))[0].endpoint
        'h:1'

    """
    return [PortView(port=m.port, endpoint=m.endpoint, type=m.type) for m in instance.port_mappings]


def connection_details(instance: Instance) -> dict[str, str]:
    """How to reach the machine: ssh command, jupyter and web-terminal addresses, http URLs.

    Passwords Novita returns (ssh, web terminal) are left out on purpose: results, artifacts
    and webhooks must never carry secrets; the Novita console shows them to their owner.

    Example:
        >>> connection_details(Instance.model_validate({"id": "a" * 16,
        ...     "connectComponentSSH": {"sshCommand": "ssh root@h -p 1", "password": "x"}}))
        {'ssh': 'ssh root@h -p 1'}

    """
    details: dict[str, str] = {}
    if instance.ssh and instance.ssh.ssh_command:
        details["ssh"] = instance.ssh.ssh_command
    if instance.jupyter and instance.jupyter.address:
        details["jupyter"] = instance.jupyter.address
    if instance.web_terminal and instance.web_terminal.address:
        details["web_terminal"] = instance.web_terminal.address
    for mapping in instance.port_mappings:
        if mapping.type == "http" and mapping.endpoint:
            details[f"http_{mapping.port}"] = mapping.endpoint
    return details


def record_event_data(record: ManagedInstance) -> dict[str, Any]:
    """The facts every webhook about a managed machine carries: name, region, product, price.

    Example:
        >>> record_event_data(ManagedInstance(instance_id="0123456789abcdef", name="a"))["name"]
        'a'

    """
    return {
        "name": record.name,
        "region": record.region,
        "clusterId": record.cluster_id,
        "product": record.product_name,
        "productId": record.product_id,
        "billingMode": record.billing_mode,
        "pricePerHour": record.price_per_hour,
    }


def live_event_data(name: str | None, live: Instance | None) -> dict[str, Any]:
    """The same facts for a machine the store does not manage, from Novita's view of it.

    Example:
        >>> live_event_data("x", None)["region"] is None
        True

    """
    return {
        "name": name,
        "region": live.cluster_name if live else None,
        "clusterId": live.cluster_id if live else None,
        "product": live.product_name if live else None,
        "productId": live.product_id if live else None,
        "billingMode": live.billing_mode if live else None,
    }
