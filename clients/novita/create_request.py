"""The body of ``POST /gpu/instance/create``, validated before it leaves the machine.

Novita wants camelCase keys, ``ports`` as *one string* (``"8888/http,22/tcp"``), ``kind: "gpu"``
and, for a private image, ``imageAuth: "username:password"``. :class:`CreateInstanceRequest`
checks the documented limits (gpuNum 1-8, ports 1-65535 except 2222-2224, at most 15 ports,
envs at most 100...) and renders the exact body with :meth:`CreateInstanceRequest.to_body`.
The image credential is a ``SecretStr``: it shows as ``**********`` in repr, dumps and
validation errors, and is revealed only in the body handed to httpx.

Example:
    >>> request = CreateInstanceRequest(name="train-1", product_id="p1", gpu_num=1,
    ...     rootfs_size=60, image_url="nvidia/cuda:12.4.0-base-ubuntu22.04",
    ...     cluster_id="us-ca-6", billing_mode="spot", ports="8888/http, 22/tcp")
    >>> request.to_body()["ports"]
    '8888/http,22/tcp'

"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator
from pydantic.alias_generators import to_camel

from clients.novita.catalog import BillingMode
from clients.novita.templates import EnvVar

__all__ = ["MAX_PORTS", "RESERVED_PORTS", "CreateInstanceRequest", "parse_ports_spec"]

RESERVED_PORTS = frozenset({2222, 2223, 2224})
"""Ports Novita keeps for itself."""

MAX_PORTS = 15
"""Most ports (plus tools) one instance may expose."""

_PORT_TYPES = ("http", "tcp")


def parse_ports_spec(spec: str) -> list[tuple[int, str]]:
    """Parse and check a create ``ports`` string such as ``"8888/http, 22/tcp"``.

    Args:
        spec: Comma-separated ``<port>/<type>`` entries; type is http or tcp.

    Returns:
        ``[(8888, "http"), (22, "tcp")]``, in order.

    Raises:
        ValueError: On a malformed entry, a port outside 1-65535 or reserved (2222-2224),
            an unknown type, a repeated port, or more than 15 ports.

    Example:
        >>> parse_ports_spec("8888/http, 22/tcp")
        [(8888, 'http'), (22, 'tcp')]

    """
    entries: list[tuple[int, str]] = []
    seen: set[int] = set()
    for raw in spec.split(","):
        item = raw.strip()
        if not item:
            continue
        port_text, sep, kind = item.partition("/")
        kind = kind.strip().lower()
        if not sep or not port_text.strip().isdigit():
            raise ValueError(f"port entry {item!r} must look like '8888/http' or '22/tcp'")
        if kind not in _PORT_TYPES:
            raise ValueError(f"port entry {item!r} has type {kind!r}; use 'http' or 'tcp'")
        port = int(port_text)
        if not 1 <= port <= 65535:
            raise ValueError(f"port {port} is outside 1-65535")
        if port in RESERVED_PORTS:
            raise ValueError(f"port {port} is reserved by Novita (2222-2224)")
        if port in seen:
            raise ValueError(f"port {port} is listed twice")
        seen.add(port)
        entries.append((port, kind))
    if len(entries) > MAX_PORTS:
        raise ValueError(f"{len(entries)} ports requested; Novita allows at most {MAX_PORTS}")
    return entries


class CreateInstanceRequest(BaseModel):
    """Everything needed to create one GPU instance.

    Attributes:
        name: Instance name (0-255 chars); used to find the instance again, so make it unique.
        product_id: Product id from ``list_products``.
        gpu_num: GPUs, 1-8.
        rootfs_size: Root filesystem in GB (Novita raises values below 10 to 10).
        image_url: Container image.
        cluster_id: Cluster to create in; None lets Novita pick one at random.
        billing_mode: "onDemand", "spot" or "monthly".
        ports: Exposed ports as one string, ``"8888/http,22/tcp"`` (normalised: no spaces).
        envs: Environment variables (at most 100).
        command: Start command (at most 2047 chars).
        entrypoint: Overrides the image ENTRYPOINT.
        image_auth: ``"username:password"`` of a private registry, a secret
            (see :meth:`RegistryAuth.image_auth`).
        image_auth_id: A registry-auth id, Novita's alternative to ``image_auth``.
        min_cuda_version: Lowest acceptable CUDA version, e.g. "12.4".
        month: Months for monthly billing (0 = pay as you go).
        kind: Always "gpu".

    Example:
        >>> request = CreateInstanceRequest(name="train-1", product_id="p1", rootfs_size=60,
        ...     image_url="nvidia/cuda:12.4.0-base-ubuntu22.04", cluster_id="us-ca-6",
        ...     image_auth="bot:s3cret")
        >>> request.image_auth
        SecretStr('**********')

        Then ``instance_id = await client.create_instance(request)``.

    """

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        frozen=True,
        # Validation errors would otherwise echo the input, credentials included.
        hide_input_in_errors=True,
    )

    name: str = Field(default="", max_length=255)
    product_id: str = Field(min_length=1, max_length=255)
    gpu_num: int = Field(default=1, ge=1, le=8)
    rootfs_size: int = Field(ge=1, le=6144)
    image_url: str = Field(min_length=1, max_length=500)
    cluster_id: str | None = Field(default=None, max_length=255)
    billing_mode: BillingMode = "onDemand"
    ports: str | None = None
    envs: Annotated[list[EnvVar], Field(max_length=100)] = Field(default_factory=list)
    command: str | None = Field(default=None, max_length=2047)
    entrypoint: str | None = Field(default=None, max_length=2047)
    image_auth: SecretStr | None = Field(default=None, max_length=10239)
    image_auth_id: str | None = Field(default=None, max_length=255)
    min_cuda_version: str | None = Field(default=None, max_length=255)
    month: int | None = Field(default=None, ge=0)
    kind: Literal["gpu"] = "gpu"

    @field_validator("ports", mode="before")
    @classmethod
    def _normalise_ports(cls, value: Any) -> Any:
        if value is None:
            return None
        if not isinstance(value, str):
            raise ValueError("ports must be one string such as '8888/http,22/tcp'")
        entries = parse_ports_spec(value)
        return ",".join(f"{port}/{kind}" for port, kind in entries) or None

    @field_validator("cluster_id", "command", "entrypoint", "image_auth_id", "min_cuda_version")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        return value if value and value.strip() else None

    @field_validator("image_auth")
    @classmethod
    def _check_image_auth(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None
        user, sep, _ = value.get_secret_value().partition(":")
        if not sep or not user:
            # Never quote the value: it is a credential.
            raise ValueError("image_auth must be 'username:password'")
        return value

    def to_body(self) -> dict[str, Any]:
        """The exact JSON body for ``POST /gpu/instance/create``.

        camelCase keys, None fields left out, ``kind: "gpu"``, and ``imageAuth`` revealed
        (this is the only place it is). Do not log the result.

        Example:
            >>> body = CreateInstanceRequest(name="train-1", product_id="p1", rootfs_size=60,
            ...     image_url="img", ports="8888/http, 22/tcp", image_auth="bot:s3cret").to_body()
            >>> body["productId"], body["ports"], body["kind"], body["imageAuth"]
            ('p1', '8888/http,22/tcp', 'gpu', 'bot:s3cret')

        """
        body = self.model_dump(by_alias=True, exclude_none=True, exclude={"image_auth", "envs"})
        body["envs"] = [{"key": env.key, "value": env.value} for env in self.envs]
        if self.image_auth is not None:
            body["imageAuth"] = self.image_auth.get_secret_value()
        return body
