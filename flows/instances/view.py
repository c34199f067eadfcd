"""What a caller is told about an instance: ports, connection details (never passwords)."""

from __future__ import annotations

from pydantic import BaseModel

from clients.novita import Instance


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
