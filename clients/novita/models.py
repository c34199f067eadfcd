"""All Novita models in one import, for callers that do not care which module holds which.

Example:
    >>> from clients.novita.models import CreateInstanceRequest, Instance, Product

"""

from clients.novita.catalog import (
    PRICE_UNITS_PER_USD,
    BillingMode,
    Cluster,
    MonthlyPrice,
    Product,
    strip_region_suffix,
    units_to_usd,
)
from clients.novita.create_request import CreateInstanceRequest, parse_ports_spec
from clients.novita.instances import (
    Instance,
    InstanceActionResult,
    InstanceStatus,
    JupyterConnection,
    LogConnection,
    PortMapping,
    SshConnection,
    StatusError,
    WebTerminalConnection,
)
from clients.novita.jobs import FINISHED_JOB_STATES, Job, JobState
from clients.novita.templates import EnvVar, RegistryAuth, Template, TemplatePort

__all__ = [
    "FINISHED_JOB_STATES",
    "PRICE_UNITS_PER_USD",
    "BillingMode",
    "Cluster",
    "CreateInstanceRequest",
    "EnvVar",
    "Instance",
    "InstanceActionResult",
    "InstanceStatus",
    "Job",
    "JobState",
    "JupyterConnection",
    "LogConnection",
    "MonthlyPrice",
    "PortMapping",
    "Product",
    "RegistryAuth",
    "SshConnection",
    "StatusError",
    "Template",
    "TemplatePort",
    "WebTerminalConnection",
    "parse_ports_spec",
    "strip_region_suffix",
    "units_to_usd",
]
