"""Syntax checks of request bodies, with the live API's limits and error shape.

:func:`parse_create_body` turns the JSON body of ``POST /gpu/instance/create`` into a
:class:`CreateRequest` or raises a 400 ``VALIDATOR_PARAM`` whose message starts with the
offending field (``"gpuNum: must be an integer between 1 and 8"``). Checks that need the
catalogue (product exists, billing mode supported, ``maxRootFS``, capacity, private image)
live in :mod:`simulator.state`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from simulator.errors import validator_param

__all__ = [
    "MAX_ENVS",
    "MAX_PORTS",
    "RESERVED_PORTS",
    "CreateRequest",
    "parse_create_body",
    "parse_ports",
    "require_instance_id",
]

MAX_PORTS = 15
"""Ports (plus tools) per instance."""

MAX_ENVS = 100
"""Environment variables per GPU instance."""

RESERVED_PORTS = frozenset({2222, 2223, 2224})
"""Ports Novita keeps for itself."""

BILLING_MODES = ("onDemand", "spot", "monthly")


@dataclass
class CreateRequest:
    """A syntactically valid create request.

    Example:
        >>> req = parse_create_body({"productId": "p", "gpuNum": 1, "rootfsSize": 60,
        ...                          "imageUrl": "python:3.11", "kind": "gpu"})
        >>> req.billing_mode, req.ports
        ('onDemand', [])

    """

    product_id: str
    gpu_num: int
    rootfs_size: int
    image_url: str
    name: str = ""
    cluster_id: str = ""
    billing_mode: str = "onDemand"
    ports: list[tuple[int, str]] = field(default_factory=list)
    envs: list[dict[str, str]] = field(default_factory=list)
    command: str = ""
    image_auth: str = ""
    image_auth_id: str = ""


def _is_int(value: Any) -> bool:
    # JSON true/false decode to bool, which is an int subclass: not a number here.
    return isinstance(value, int) and not isinstance(value, bool)


def _string(body: dict[str, Any], key: str, max_len: int, *, min_len: int = 0) -> str:
    value = body.get(key, "")
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise validator_param(key, "must be a string")
    if not min_len <= len(value) <= max_len:
        if min_len and not value:
            raise validator_param(key, "is required")
        raise validator_param(key, f"length must be between {min_len} and {max_len}")
    return value


def parse_ports(raw: Any) -> list[tuple[int, str]]:
    """Parse the create ``ports`` string, e.g. ``"8888/http, 22/tcp"``.

    Args:
        raw: The ``ports`` value of the body: one comma-separated string (None or "" = none).

    Returns:
        ``[(port, type), ...]`` in the given order.

    Raises:
        ApiError: 400 ``VALIDATOR_PARAM`` naming ``ports``.

    Example:
        >>> parse_ports("8888/http, 22/tcp")
        [(8888, 'http'), (22, 'tcp')]

    """
    if raw is None or raw == "":
        return []
    if not isinstance(raw, str):
        raise validator_param("ports", 'must be one string such as "8888/http,22/tcp"')
    out: list[tuple[int, str]] = []
    for item in raw.split(","):
        item = item.strip()
        port_text, sep, kind = item.partition("/")
        if not sep or not port_text.strip().isdigit():
            raise validator_param("ports", f'invalid entry "{item}", expected "<port>/<type>"')
        port, kind = int(port_text.strip()), kind.strip().lower()
        if kind not in ("http", "tcp"):
            raise validator_param("ports", f'invalid type "{kind}" for port {port}: http|tcp')
        if not 1 <= port <= 65535:
            raise validator_param("ports", f"port {port} out of range 1-65535")
        if port in RESERVED_PORTS:
            raise validator_param("ports", f"port {port} is reserved (2222-2224)")
        if any(p == port for p, _ in out):
            raise validator_param("ports", f"port {port} is given twice")
        out.append((port, kind))
    if len(out) > MAX_PORTS:
        raise validator_param("ports", f"at most {MAX_PORTS} ports")
    return out


def _envs(raw: Any) -> list[dict[str, str]]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise validator_param("envs", "must be a list of {key, value}")
    if len(raw) > MAX_ENVS:
        raise validator_param("envs", f"at most {MAX_ENVS} items")
    out = []
    for item in raw:
        if not isinstance(item, dict):
            raise validator_param("envs", "must be a list of {key, value}")
        key, value = item.get("key", ""), item.get("value", "")
        if not isinstance(key, str) or not isinstance(value, str):
            raise validator_param("envs", "key and value must be strings")
        if len(key) > 511 or len(value) > 4095:
            raise validator_param("envs", "key at most 511, value at most 4095 characters")
        out.append({"key": key, "value": value})
    return out


def parse_create_body(body: Any) -> CreateRequest:
    """Validate the create body's syntax and limits.

    Args:
        body: The decoded JSON body.

    Returns:
        The request with defaults applied.

    Raises:
        ApiError: 400 ``VALIDATOR_PARAM`` naming the first offending field.

    Example:
        >>> parse_create_body({"kind": "gpu", "productId": "p", "gpuNum": 9, "rootfsSize": 60,
        ...                    "imageUrl": "x"})
        Traceback (most recent call last):
        ...
        simulator.errors.ApiError: 400 VALIDATOR_PARAM: gpuNum: must be an integer between 1 and 8

    """
    if not isinstance(body, dict):
        raise validator_param("body", "must be a JSON object")
    if body.get("kind") != "gpu":
        raise validator_param("kind", 'must be "gpu"')
    product_id = _string(body, "productId", 255, min_len=1)
    gpu_num = body.get("gpuNum")
    if not _is_int(gpu_num) or not 1 <= gpu_num <= 8:
        raise validator_param("gpuNum", "must be an integer between 1 and 8")
    rootfs = body.get("rootfsSize")
    if not _is_int(rootfs) or not 10 <= rootfs <= 6144:
        raise validator_param("rootfsSize", "must be an integer between 10 and 6144 (GB)")
    image_url = _string(body, "imageUrl", 500, min_len=1)
    name = _string(body, "name", 255)
    cluster_id = _string(body, "clusterId", 255)
    billing_mode = body.get("billingMode") or "onDemand"
    if billing_mode not in BILLING_MODES:
        raise validator_param("billingMode", "must be one of onDemand, spot, monthly")
    return CreateRequest(
        product_id=product_id,
        gpu_num=gpu_num,
        rootfs_size=rootfs,
        image_url=image_url,
        name=name,
        cluster_id=cluster_id,
        billing_mode=billing_mode,
        ports=parse_ports(body.get("ports")),
        envs=_envs(body.get("envs")),
        command=_string(body, "command", 2047),
        image_auth=_string(body, "imageAuth", 10239),
        image_auth_id=_string(body, "imageAuthId", 255),
    )


def require_instance_id(body: Any) -> str:
    """Read ``instanceId`` from a mutation body (``{"instanceId": "..."}``).

    Example:
        >>> require_instance_id({"instanceId": "07ed667185a895bb"})
        '07ed667185a895bb'

    """
    if not isinstance(body, dict):
        raise validator_param("body", "must be a JSON object")
    value = body.get("instanceId")
    if not isinstance(value, str) or not value:
        raise validator_param("instanceId", "is required")
    return value
