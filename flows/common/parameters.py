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

from pydantic import AfterValidator, Field, HttpUrl

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
ProductName = Annotated[
    str, Field(min_length=1, max_length=100, description="GPU product, e.g. RTX 4090 24GB")
]


def _template_id_text(value: str | int) -> str:
    # The prefect CLI parses `--param template_id=1001` as JSON, i.e. an int: accept both.
    text = str(value).strip()
    if not 1 <= len(text) <= 64:
        raise ValueError("template_id must be 1-64 characters, e.g. 1001")
    return text


TemplateId = Annotated[
    str | int,
    Field(description="Novita template id, e.g. 1001"),
    AfterValidator(_template_id_text),
]
GpuNum = Annotated[int, Field(ge=1, le=8, description="GPUs, 1-8")]
RootfsSize = Annotated[
    int, Field(ge=10, le=6144, description="Root disk in GB (within the product's limits)")
]
PreferredRegion = Annotated[
    str | None, Field(description="Preferred region (name or id), tried first")
]
RegionPriority = Annotated[
    list[str] | None, Field(description="Custom region priority; replaces the default order")
]
BillingModeChoice = Annotated[BillingChoice, Field(description="spot or onDemand")]
WebhookUrl = Annotated[
    HttpUrl | None, Field(description="http(s) URL told about every step (signed)")
]
AutoStopMinutes = Annotated[
    int | None, Field(ge=0, le=10080, description="Idle minutes before auto-stop; 0 = never")
]
WaitUntilReady = Annotated[
    bool, Field(description="Wait for running + healthy endpoints before returning")
]
DeadlineMinutes = Annotated[
    float | None,
    Field(
        gt=0,
        le=240,
        description="Fail when not ready within this many minutes "
        "(default: the policies' readiness deadline, 10)",
    ),
]
DryRun = Annotated[
    bool, Field(description="Only plan: no create call, returns and publishes the plan")
]
CredentialsBlock = Annotated[
    str | None, Field(description="Saved NovitaCredentials block (default: env)")
]
WebhookSettingsBlock = Annotated[
    str | None, Field(description="Saved WebhookSettings block (default: env)")
]
PoliciesBlock = Annotated[
    str | None, Field(description="Saved NovitaPolicies block (default: built-ins)")
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
    float, Field(gt=0, le=240, description="Fail when not done within this many minutes")
]

DEFAULT_GPU_NUM = 1
DEFAULT_ROOTFS_SIZE = 60
DEFAULT_BILLING_MODE: BillingChoice = "spot"
