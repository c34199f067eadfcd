"""The data of a health check: the port mappings we probe and what each probe found."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["EndpointCheck", "HealthReport", "PortMapping"]


class PortMapping(BaseModel):
    """One exposed port of an instance, as Novita's ``portMappings`` lists it.

    Built from a dict or any object with ``port``, ``endpoint`` and ``type`` attributes;
    extra keys are ignored and ``type`` is lower-cased (``"HTTP"`` reads as ``"http"``).

    Example:
        >>> PortMapping.model_validate({"port": "8888", "endpoint": "x.example", "type": "HTTP"})
        PortMapping(port=8888, endpoint='x.example', type='http')

    """

    model_config = ConfigDict(from_attributes=True, extra="ignore", frozen=True)

    port: int | None = None
    endpoint: str = ""
    type: str = "http"

    @field_validator("endpoint", mode="before")
    @classmethod
    def _none_is_empty(cls, value: object) -> object:
        """Novita may send ``null`` before an endpoint is assigned; treat it as empty."""
        return "" if value is None else value

    @field_validator("type", mode="before")
    @classmethod
    def _lower_type(cls, value: object) -> object:
        """Compare protocol names without regard to case or stray spaces."""
        return value.strip().lower() if isinstance(value, str) else value


class EndpointCheck(BaseModel):
    """What probing one endpoint found.

    Attributes:
        port: The instance-side port of the mapping (None when probed outside a mapping).
        type: ``"http"`` (a GET) or ``"tcp"`` (a connect).
        endpoint: What was probed: the full URL, or ``host:port`` for tcp.
        healthy: True when the endpoint serves (see ``EndpointProber``).
        status_code: The last HTTP status received (http only), None when none came back.
        attempts: How many probes were made.
        error: Why it is not healthy, None when healthy.
        elapsed_s: Seconds spent on this endpoint, waits included.

    Example:
        >>> EndpointCheck(type="tcp", endpoint="10.0.0.5:22", healthy=True, attempts=1).error

    """

    port: int | None = None
    type: Literal["http", "tcp"]
    endpoint: str
    healthy: bool
    status_code: int | None = None
    attempts: int = 0
    error: str | None = None
    elapsed_s: float = 0.0


class HealthReport(BaseModel):
    """The health of an instance: every endpoint checked, healthy only if all of them are.

    Attributes:
        healthy: True when every checked endpoint is healthy (and so when none was checked:
            an instance with no ports is ready once running).
        checked: One ``EndpointCheck`` per probed mapping, in the order given.
        skipped: Mappings with a type we cannot probe (neither http nor tcp); they do not
            count against health.
        elapsed_s: Seconds the whole report took (checks run concurrently).

    Example:
        >>> HealthReport(healthy=True).checked
        []

    """

    healthy: bool
    checked: list[EndpointCheck] = Field(default_factory=list)
    skipped: list[PortMapping] = Field(default_factory=list)
    elapsed_s: float = 0.0

    @property
    def unhealthy(self) -> list[EndpointCheck]:
        """The checks that failed, for error messages and artifacts.

        Example:
            >>> HealthReport(healthy=True).unhealthy
            []

        """
        return [check for check in self.checked if not check.healthy]
