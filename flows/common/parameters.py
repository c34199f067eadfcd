"""Every flow parameter type and its constraints, defined once for every flow that takes them.

`ProvisionRequest` (and so each request of `provision-fleet`) uses them as its fields;
`provision-instance` takes the same types as flow parameters; the lifecycle flows share the
instance selector and deadline; every flow names its blocks the same way. Prefect validates
flow parameters against these types before the flow body runs, so a bad value fails the run
with a message naming the field and no Novita call is made.

Defaults cannot live inside `Annotated[...]` for a function signature, so they are constants
beside their types. Flow modules do not use `from __future__ import annotations`: Prefect
resolves these types when it builds a served flow's parameter schema in another process.

Example:
    ```python
    from flows.common.parameters import DEFAULT_GPU_NUM, GpuNum

    async def my_flow(gpu_num: GpuNum = DEFAULT_GPU_NUM) -> None: ...
    ```

"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    HttpUrl,
    SecretStr,
    TypeAdapter,
    ValidationError,
)

INSTANCE_NAME_PATTERN = r"^[A-Za-z0-9_-]+$"
"""Letters, digits, '-' and '_': safe in Novita names, URLs and Prefect run names."""

BillingChoice = Literal["spot", "onDemand"]
"""The billing modes a provisioning may ask for."""

InstanceName = Annotated[
    str,
    Field(
        min_length=1,
        max_length=100,
        pattern=INSTANCE_NAME_PATTERN,
        description="Instance name: 1-100 letters, digits, '-' or '_'. Reused names adopt.",
    ),
]


def refuse_bool(value: object) -> object:
    """A number parameter given true/false is a mistake, not 1/0 (pydantic's lax reading).

    Example:
        >>> refuse_bool(3)
        3

    """
    if isinstance(value, bool):
        raise ValueError("must be a number, not true/false")
    return value


NotBool = BeforeValidator(refuse_bool)
"""Put on every number parameter."""


def _not_blank(value: str) -> str:
    text = value.strip()
    if not text:
        raise ValueError("must not be blank")
    return text


BlockName = Annotated[str, Field(min_length=1, max_length=255), AfterValidator(_not_blank)]
ProductName = Annotated[
    str,
    Field(min_length=1, max_length=100, description="GPU product, e.g. RTX 4090 24GB"),
    AfterValidator(_not_blank),
]


def _template_id_text(value: str | int) -> str:
    # The prefect CLI parses `--param template_id=1001` as JSON, i.e. an int: accept both.
    text = str(value).strip()
    if not (1 <= len(text) <= 20 and text.isdigit() and text.isascii()):
        raise ValueError("template_id must be a Novita template number, e.g. 1001")
    return text


TemplateId = Annotated[
    str | int,
    NotBool,
    Field(description="Novita template id, e.g. 1001"),
    AfterValidator(_template_id_text),
]
GpuNum = Annotated[int, NotBool, Field(ge=1, le=8, description="GPUs, 1-8")]
RootfsSize = Annotated[
    int,
    NotBool,
    Field(ge=10, le=6144, description="Root disk in GB (within the product's limits)"),
]
RegionText = Annotated[str, Field(min_length=1, max_length=64), AfterValidator(_not_blank)]
PreferredRegion = Annotated[
    RegionText | None, Field(description="Preferred region (name or id), tried first")
]
RegionPriority = Annotated[
    list[RegionText] | None,
    Field(min_length=1, description="Custom region priority; replaces the default order"),
]
BillingModeChoice = Annotated[BillingChoice, Field(description="spot or onDemand")]


_HTTP_URL = TypeAdapter(HttpUrl)


def _webhook_url(value: SecretStr) -> SecretStr:
    # Checked by pydantic's HttpUrl, but the error is ours: neither the value nor a token in
    # it is echoed (pydantic's own error would quote the input).
    try:
        _HTTP_URL.validate_python(value.get_secret_value())
    except ValidationError:
        raise ValueError(
            "must be an http(s) URL with a host, e.g. https://hooks.example/novita"
        ) from None
    return value


WebhookUrl = Annotated[
    Annotated[SecretStr, AfterValidator(_webhook_url)] | None,
    Field(
        description="http(s) URL told about every step (signed). A token in it stays out of "
        "the run's parameters when given as SecretStr from Python; from the UI or CLI, save "
        "the URL in a Secret block and use webhook_block instead"
    ),
]
WebhookBlock = Annotated[
    BlockName | None,
    Field(
        description="Saved Prefect Secret block holding the webhook URL (instead of webhook_url)"
    ),
]
AutoStopMinutes = Annotated[
    Annotated[int, NotBool, Field(ge=0, le=10080)] | None,
    Field(description="Idle minutes before auto-stop; 0 = never"),
]
WaitUntilReady = Annotated[
    bool, Field(description="Wait for running + healthy endpoints before returning")
]
DeadlineMinutes = Annotated[
    Annotated[float, NotBool, Field(gt=0, le=240)] | None,
    Field(
        description="Fail when not ready within this many minutes "
        "(default: the policies' readiness deadline, 10)",
    ),
]
DryRun = Annotated[
    bool, Field(description="Only plan: no create call, returns and publishes the plan")
]
CredentialsBlock = Annotated[
    BlockName | None, Field(description="Saved NovitaCredentials block (default: env)")
]
WebhookSettingsBlock = Annotated[
    BlockName | None, Field(description="Saved WebhookSettings block (default: env)")
]
PoliciesBlock = Annotated[
    BlockName | None, Field(description="Saved NovitaPolicies block (default: built-ins)")
]

InstanceIdParam = Annotated[
    str | None,
    Field(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="Novita instance id (give this or name, not both)",
    ),
]
NameParam = Annotated[
    str | None,
    Field(
        min_length=1,
        max_length=100,
        pattern=INSTANCE_NAME_PATTERN,
        description="Instance name (give this or instance_id, not both)",
    ),
]
OperationDeadline = Annotated[
    float,
    NotBool,
    Field(gt=0, le=240, description="Fail when not done within this many minutes"),
]
FleetConcurrency = Annotated[
    int, NotBool, Field(ge=1, le=50, description="Provisionings running at the same time, 1-50")
]
InactivityMinutes = Annotated[
    Annotated[int, NotBool, Field(ge=1, le=10080)] | None,
    Field(
        description="Default idle minutes before a stop for this run (instances with their "
        "own auto_stop_minutes keep it); empty = the policies' auto_stop_minutes (20)",
    ),
]
MaxMigrations = Annotated[
    int, NotBool, Field(ge=0, le=1000, description="At most this many migrations in one run")
]
MigrationConcurrency = Annotated[
    int, NotBool, Field(ge=1, le=50, description="Migrations running at once")
]
CooldownMinutes = Annotated[
    Annotated[int, NotBool, Field(ge=0, le=10080)] | None,
    Field(
        description="Minutes between two attempts on one instance; "
        "empty = the policies' migration_cooldown_minutes (30)",
    ),
]
MaxAttempts = Annotated[
    Annotated[int, NotBool, Field(ge=1, le=20)] | None,
    Field(
        description="Attempts per instance before giving up; "
        "empty = the policies' migration_max_attempts (3)",
    ),
]
MaxRedeliveries = Annotated[
    int,
    NotBool,
    Field(ge=0, le=10000, description="Due webhook deliveries sent again per run, at most"),
]

DEFAULT_GPU_NUM = 1
DEFAULT_ROOTFS_SIZE = 60
DEFAULT_BILLING_MODE: BillingChoice = "spot"


# -- operator flows: get-instance, stop-all --------------------------------------------------

ProbeNow = Annotated[
    bool, Field(description="Also health-check the instance's endpoints now (a few seconds)")
]
NamePrefix = Annotated[
    str | None,
    Field(
        min_length=1,
        max_length=100,
        pattern=INSTANCE_NAME_PATTERN,
        description="Only instances whose name starts with this (empty: every name)",
    ),
]
RegionFilter = Annotated[
    list[RegionText] | None,
    Field(min_length=1, description="Only instances in these regions (names or ids)"),
]
IncludeUnmanaged = Annotated[
    bool, Field(description="Also stop running instances the store does not manage")
]
StopAllDryRun = Annotated[bool, Field(description="Only list what would be stopped")]
ConfirmStopAll = Annotated[
    bool, Field(description="Required (true) for a real run: without it nothing is stopped")
]
StopConcurrency = Annotated[
    int, NotBool, Field(ge=1, le=50, description="Stops running at the same time, 1-50")
]

# -- novita-health, reclaim-watch, migration-sweep's instance_ids (issue 10) ---------------
InstanceIds = Annotated[
    Annotated[
        list[Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]]
        | None,
        Field(min_length=1, max_length=1000),
    ],
    Field(description="Only these Novita instance ids (empty: every managed instance)"),
]
SlowNovitaMs = Annotated[
    float,
    NotBool,
    Field(gt=0, le=60000, description="Novita answering slower than this (ms) is degraded"),
]
DriftMinutes = Annotated[
    float,
    NotBool,
    Field(
        gt=0,
        le=10080,
        description="Desired state and Novita disagreeing longer than this (minutes) is degraded",
    ),
]
