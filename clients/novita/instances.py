"""GPU instances as Novita reports them, cleaned up: statuses, ports, connections, timestamps.

Absorbed quirks: ``cpuNum``/``memory``/``gpuNum`` are strings; timestamps are epoch-second
strings with ``"0"`` for never (``"-1"`` for no end time); ``billingMode`` and ``spotStatus``
are ``""`` when unset; an empty ``statusError`` is ``{"state": "", "message": ""}``; list items
carry ``sshCommand``/``sshPassword`` at the top level while the detail view nests them in
``connectComponentSSH``. An unknown status never fails parsing: it becomes
``InstanceStatus.UNKNOWN`` and the original text stays in ``status_raw``.

Example:
    >>> instance = Instance.model_validate({"id": "07ed667185a895bb", "status": "exited",
    ...     "billingMode": "spot", "spotReclaimTime": "1768438800", "gpuNum": "1"})
    >>> instance.gpu_num, instance.was_spot_reclaimed
    (1, True)

"""

from __future__ import annotations

import logging
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, SecretStr, model_validator

from clients.novita._base import (
    CheckedStr,
    CheckedText,
    EpochTime,
    LenientInt,
    ListOrEmpty,
    NovitaModel,
    OptionalStr,
    RequiredId,
    parse_int,
)
from clients.novita.templates import EnvVar

__all__ = [
    "ConnectionComponent",
    "Instance",
    "InstanceActionResult",
    "InstanceStatus",
    "JupyterConnection",
    "LogConnection",
    "PortMapping",
    "SshConnection",
    "StatusError",
    "WebTerminalConnection",
]

logger = logging.getLogger(__name__)


class InstanceStatus(StrEnum):
    """Every status Novita reports for an instance (DESIGN §4), plus UNKNOWN.

    ``EXITED`` means both "stopped by someone" and "spot reclaimed"; see
    :attr:`Instance.was_spot_reclaimed`. ``PENDING`` is not documented but seen live.

    Example:
        >>> InstanceStatus("running") is InstanceStatus.RUNNING
        True
        >>> InstanceStatus.parse("hibernating")
        <InstanceStatus.UNKNOWN: 'unknown'>

    """

    TO_CREATE = "toCreate"
    CREATING = "creating"
    PULLING = "pulling"
    RUNNING = "running"
    TO_START = "toStart"
    STARTING = "starting"
    TO_STOP = "toStop"
    STOPPING = "stopping"
    EXITED = "exited"
    TO_RESTART = "toRestart"
    RESTARTING = "restarting"
    TO_REMOVE = "toRemove"
    REMOVING = "removing"
    REMOVED = "removed"
    TO_RESET = "toReset"
    RESETTING = "resetting"
    MIGRATING = "migrating"
    FREEZING = "freezing"
    PENDING = "pending"
    UNKNOWN = "unknown"

    @classmethod
    def parse(cls, value: Any) -> InstanceStatus:
        """Map Novita's status text to a member, UNKNOWN for anything unrecognised.

        Matching ignores case, so "Running" and "TOSTART" are understood too.

        Example:
            >>> InstanceStatus.parse("toStart")
            <InstanceStatus.TO_START: 'toStart'>

        """
        if isinstance(value, cls):
            return value
        text = str(value or "").strip()
        try:
            return cls(text)
        except ValueError:
            pass
        lowered = text.lower()
        for member in cls:
            if member.value.lower() == lowered:
                return member
        if text:
            logger.debug("Unknown Novita instance status %r", text)
        return cls.UNKNOWN


class StatusError(NovitaModel):
    """Why an instance failed or is unavailable (Novita's ``statusError``).

    Example:
        >>> StatusError(state="pullFailed", message="image not found").message
        'image not found'

    """

    state: OptionalStr = None
    message: OptionalStr = None


class PortMapping(NovitaModel):
    """A container port and where it is reachable from outside.

    Attributes:
        port: Container port.
        endpoint: Public URL (http) or host:port (tcp); "" while not yet assigned.
        type: "http" or "tcp".

    Example:
        >>> PortMapping.model_validate({"port": "8188", "type": "http",
        ...     "endpoint": "https://07ed-8188.us-ca-1.gpu-instance.novita.ai"}).port
        8188

    """

    port: Annotated[int, BeforeValidator(parse_int)]
    endpoint: Annotated[str, BeforeValidator(lambda v: v or "")] = ""
    type: Annotated[CheckedText, AfterValidator(str.lower)] = ""


class ConnectionComponent(NovitaModel):
    """What every ``connectComponent*`` object has: whether that way in is up.

    Example:
        >>> ConnectionComponent.model_validate({"isRunning": True}).is_running
        True

    """

    is_running: bool | None = None


class SshConnection(ConnectionComponent):
    """SSH access (``connectComponentSSH``); the password is a secret.

    Example:
        >>> SshConnection(ssh_command="ssh root@host -p 38597", password="pw")
        SshConnection(...ssh_command='ssh root@host -p 38597', password=SecretStr('**********'))

    """

    ssh_command: OptionalStr = None
    password: SecretStr | None = None


class JupyterConnection(ConnectionComponent):
    """Jupyter access (``connectComponentJupyter``).

    Example:
        >>> JupyterConnection(address="https://x-8888.us-ca-1.gpu-instance.novita.ai").address
        'https://x-8888.us-ca-1.gpu-instance.novita.ai'

    """

    port: LenientInt = None
    address: OptionalStr = None


class WebTerminalConnection(ConnectionComponent):
    """Web-terminal access (``connectComponentWebTerminal``); the password is a secret.

    Example:
        >>> WebTerminalConnection(address="https://t", username="root", password="pw").password
        SecretStr('**********')

    """

    address: OptionalStr = None
    username: OptionalStr = None
    password: SecretStr | None = None


class LogConnection(ConnectionComponent):
    """Where the logs are (``connectComponentLog``).

    Example:
        >>> LogConnection(instance_log_address="https://logs").instance_log_address
        'https://logs'

    """

    system_log_address: OptionalStr = None
    instance_log_address: OptionalStr = None


def _blank_to_none(value: Any) -> Any:
    # A connection component is sent as {} or null when the instance does not offer it.
    return value or None


def _status(value: Any) -> InstanceStatus:
    # An unknown status word is tolerated (UNKNOWN); a status that is not a word at all
    # means the answer is broken, and guessing would drive a sweep wrong.
    if value is None or isinstance(value, str):
        return InstanceStatus.parse(value)
    raise ValueError(f"expected a status string, got {type(value).__name__}")


def _status_error(value: Any) -> Any:
    # Novita sends {"state": "", "message": ""} when there is no error.
    if isinstance(value, dict) and not any(value.get(k) for k in ("state", "message")):
        return None
    return value or None


class Instance(NovitaModel):
    """A Novita GPU instance, from ``GET /gpu/instance`` or an item of ``GET /gpu/instances``.

    Attributes:
        id: Instance id (16 hex characters).
        name: Instance name.
        cluster_id, cluster_name: Where it runs (``us-ca-6``, ``US-CA-06``).
        status: Parsed status (UNKNOWN for an unrecognised one); ``status_raw`` keeps the text.
        status_error: Why it failed, or None.
        image_url, image_auth_id, command, entrypoint: What it runs.
        product_id, product_name: The GPU product.
        cpu_num, memory, gpu_num: Resources (memory in GB), as ints.
        rootfs_size: Root filesystem size in GB.
        port_mappings: Exposed ports and their public endpoints.
        envs: Environment variables (values hidden from repr).
        kind: "gpu" or "cpu".
        billing_mode: "onDemand", "spot", "monthly", or None when Novita sent "".
        spot_status: None, "running", "notified", "reclaiming" or "terminated".
        spot_reclaim_time: When a scheduled spot reclaim happens/happened, None if none.
        created_at, last_started_at, last_stopped_at: UTC datetimes, None for never.
        end_time: End of a monthly subscription, None for pay-as-you-go.
        ssh, jupyter, web_terminal, logs: Connection details, None when not provided.

    Example:
        >>> instance = Instance.model_validate({"id": "07ed667185a895bb", "status": "running",
        ...     "cpuNum": "16", "createdAt": "1768435200", "lastStoppedAt": "0", "billingMode": "",
        ...     "portMappings": [{"port": 8188, "type": "http",
        ...         "endpoint": "https://07ed667185a895bb-8188.us-ca-1.gpu-instance.novita.ai"}]})
        >>> instance.status, instance.cpu_num, instance.last_stopped_at, instance.billing_mode
        (<InstanceStatus.RUNNING: 'running'>, 16, None, None)
        >>> [m.endpoint for m in instance.port_mappings if m.type == "http"]
        ['https://07ed667185a895bb-8188.us-ca-1.gpu-instance.novita.ai']

    """

    id: RequiredId
    name: str = ""
    cluster_id: CheckedStr = None
    cluster_name: OptionalStr = None
    status: Annotated[InstanceStatus, BeforeValidator(_status)] = InstanceStatus.UNKNOWN
    status_raw: str = ""
    status_error: Annotated[StatusError | None, BeforeValidator(_status_error)] = None
    image_url: OptionalStr = None
    image_auth_id: OptionalStr = None
    command: OptionalStr = None
    entrypoint: OptionalStr = None
    product_id: OptionalStr = None
    product_name: OptionalStr = None
    cpu_num: LenientInt = None
    memory: LenientInt = None
    gpu_num: LenientInt = None
    rootfs_size: LenientInt = None
    port_mappings: Annotated[list[PortMapping], ListOrEmpty] = Field(default_factory=list)
    envs: Annotated[list[EnvVar], ListOrEmpty] = Field(default_factory=list)
    kind: OptionalStr = None
    billing_mode: OptionalStr = None
    spot_status: OptionalStr = None
    spot_reclaim_time: EpochTime = None
    created_at: EpochTime = None
    last_started_at: EpochTime = None
    last_stopped_at: EpochTime = None
    end_time: EpochTime = None
    ssh: Annotated[SshConnection | None, BeforeValidator(_blank_to_none)] = Field(
        default=None, alias="connectComponentSSH"
    )
    jupyter: Annotated[JupyterConnection | None, BeforeValidator(_blank_to_none)] = Field(
        default=None, alias="connectComponentJupyter"
    )
    web_terminal: Annotated[WebTerminalConnection | None, BeforeValidator(_blank_to_none)] = Field(
        default=None, alias="connectComponentWebTerminal"
    )
    logs: Annotated[LogConnection | None, BeforeValidator(_blank_to_none)] = Field(
        default=None, alias="connectComponentLog"
    )

    @model_validator(mode="before")
    @classmethod
    def _absorb_quirks(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        raw = data.get("status")
        data.setdefault("status_raw", str(raw) if isinstance(raw, str) else "")
        # List items (and older get answers) carry SSH details flat; fold them into `ssh`
        # so the clear-text password is never kept as a loose extra field.
        flat_command = data.pop("sshCommand", None)
        flat_password = data.pop("sshPassword", None)
        has_ssh = data.get("connectComponentSSH") or data.get("ssh")
        if not has_ssh and (flat_command or flat_password):
            data["connectComponentSSH"] = {"sshCommand": flat_command, "password": flat_password}
        return data

    @property
    def was_spot_reclaimed(self) -> bool:
        """Whether this ``exited`` instance was stopped by a spot reclaim, not by a person.

        True when the instance is exited and it is spot-billed, or Novita set a spot status
        or a reclaim time on it.

        Example:
            >>> Instance(id="a", status="exited", billing_mode="spot").was_spot_reclaimed
            True

        """
        if self.status is not InstanceStatus.EXITED:
            return False
        return (
            self.billing_mode == "spot"
            or self.spot_status is not None
            or self.spot_reclaim_time is not None
        )

    @property
    def last_changed_at(self) -> datetime | None:
        """The latest of created/started/stopped, for "when did this last change".

        Example:
            >>> Instance(id="a", created_at="1768435200", last_started_at="1768435300",
            ...          last_stopped_at="0").last_changed_at
            datetime.datetime(2026, 1, 15, 0, 1, 40, tzinfo=datetime.timezone.utc)

        """
        moments = [t for t in (self.created_at, self.last_started_at, self.last_stopped_at) if t]
        return max(moments) if moments else None


class InstanceActionResult(NovitaModel):
    """What start/stop/restart/delete/migrate answered.

    Start and stop answer ``{"instanceId", "state"}``; the others ``{}``. The client fills
    ``instance_id`` with the requested id when the answer lacks it.

    Attributes:
        instance_id: The instance acted on.
        state: The state Novita reported, if it did.
        new_instance_id: Set if a migrate answered with a new id (undocumented; defensive).

    Example:
        >>> InstanceActionResult.model_validate({"instanceId": "07ed", "state": "toStop"})
        InstanceActionResult(instance_id='07ed', state='toStop', new_instance_id=None)

    """

    instance_id: OptionalStr = None
    state: OptionalStr = None
    new_instance_id: OptionalStr = None
