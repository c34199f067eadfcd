"""Find the instance a lifecycle flow acts on, by Novita id or by name: our record and Novita's.

Every lifecycle flow (start, stop, delete, mark-used) takes exactly one of `instance_id` or
`name`. The lookup returns an `InstanceTarget`: the managed record when the store has one,
and Novita's live view when asked for it (None when Novita no longer knows the instance).
An instance Novita knows but the store does not is *unmanaged*: start, stop and delete still
act on it (the owner asked for it by id or name), mark-used refuses it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from prefect import get_run_logger
from pydantic import BaseModel, ConfigDict

from clients.novita import Instance, NovitaNotFoundError
from flows.common.resources import FlowResources, open_flow_resources
from flows.instances.view import live_event_data, record_event_data
from store import LifecycleStatus, ManagedInstance
from store.statuses import NOVITA_GONE
from tasks.novita_instances import get_instance, list_instances


class InstanceSelectorError(ValueError):
    """Neither or both of `instance_id` and `name` were given."""


class InstanceLookupError(LookupError):
    """No instance matches the id or name (neither managed nor known to Novita), or several do."""


def check_selector(instance_id: str | None, name: str | None) -> None:
    """Refuse a call that does not give exactly one of `instance_id` and `name`.

    Raises:
        InstanceSelectorError: both or neither were given; the message names both fields.

    Example:
        >>> check_selector("0123456789abcdef", None)
        >>> try:
        ...     check_selector(None, None)
        ... except InstanceSelectorError as exc:
        ...     print(exc)
        Give exactly one of instance_id or name (got neither)

    """
    if (instance_id is None) == (name is None):
        got = "both" if instance_id is not None else "neither"
        raise InstanceSelectorError(f"Give exactly one of instance_id or name (got {got})")


def describe_selector(instance_id: str | None, name: str | None) -> str:
    """How the caller named the instance, for messages: `instance_id 'x'` or `name 'y'`.

    Example:
        >>> describe_selector(None, "trainer-1")
        "name 'trainer-1'"

    """
    return f"instance_id {instance_id!r}" if instance_id is not None else f"name {name!r}"


class InstanceTarget(BaseModel):
    """The instance a lifecycle flow acts on.

    Attributes:
        instance_id: The Novita id.
        name: The instance name (from the record, else from Novita), None when unknown.
        record: The managed record (possibly one with status `deleted`), None if unmanaged.
        live: Novita's view at lookup time; None when Novita no longer knows the id or the
            lookup did not ask Novita.

    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    instance_id: str
    name: str | None = None
    record: ManagedInstance | None = None
    live: Instance | None = None

    @property
    def managed(self) -> bool:
        """True when the store keeps a record of this instance that is not deleted."""
        return self.record is not None and self.record.status != LifecycleStatus.DELETED

    @property
    def label(self) -> str:
        """`'name' (id)` for log lines and messages."""
        return f"{self.name!r} ({self.instance_id})" if self.name else self.instance_id

    @property
    def webhook_url(self) -> str | None:
        """Where the owner is told; unmanaged instances have no webhook."""
        return self.record.webhook_url if self.managed and self.record else None

    def event_data(self) -> dict[str, Any]:
        """The facts every lifecycle webhook carries: name, region, product, billing.

        Example:
            ```python
            await res.webhooks.notify(url, WebhookEvent.STOPPED, "stopped", iid,
                                      target.event_data() | {"stoppedAt": now})
            ```

        """
        if self.record is not None:
            return record_event_data(self.record)
        return live_event_data(self.name, self.live)


async def read_live(res: FlowResources, instance_id: str) -> Instance | None:
    """Novita's view of one instance now, or None when Novita no longer knows it.

    Example:
        ```python
        live = await read_live(res, "0123456789abcdef")
        ```

    """
    try:
        return await get_instance(res.client, instance_id)
    except NovitaNotFoundError:
        return None


async def find_target(
    res: FlowResources,
    instance_id: str | None,
    name: str | None,
    *,
    ask_novita: bool = True,
) -> InstanceTarget:
    """Resolve an id or a name to the managed record and (optionally) Novita's live view.

    By name, a live managed record wins; else Novita's list (its name filter is fuzzy, so
    the exact name is checked) finds an unmanaged instance; else the latest deleted record
    of that name is returned (so a repeated delete is a no-op, and start/stop can say
    "deleted"). With `ask_novita=False` only the store is read.

    Raises:
        InstanceSelectorError: not exactly one of `instance_id` and `name`.
        InstanceLookupError: nothing matches, or several unmanaged instances share the name.

    Example:
        ```python
        target = await find_target(res, None, "trainer-1")
        if target.live is None:
            ...  # Novita no longer knows it
        ```

    """
    check_selector(instance_id, name)
    logger = get_run_logger()
    wanted = describe_selector(instance_id, name)
    if instance_id is not None:
        record = await res.store.get_instance(instance_id)
        live = await read_live(res, instance_id) if ask_novita else None
        if record is None and live is None:
            raise InstanceLookupError(_not_found(wanted, ask_novita))
        target = InstanceTarget(
            instance_id=instance_id,
            name=record.name if record else (live.name if live else None),
            record=record,
            live=live,
        )
    else:
        assert name is not None  # check_selector guarantees one of the two
        target = await _find_by_name(res, name, ask_novita=ask_novita)
    logger.info(
        "Found %s by %s: %s, Novita status %s",
        target.label,
        "id" if instance_id is not None else "name",
        f"managed (status {target.record.status})" if target.record else "not managed",
        (target.live.status_raw or "unknown") if target.live else "(not known to Novita)",
    )
    return target


async def _find_by_name(res: FlowResources, name: str, *, ask_novita: bool) -> InstanceTarget:
    record = await res.store.get_instance_by_name(name)
    if record is not None:
        live = await read_live(res, record.instance_id) if ask_novita else None
        return InstanceTarget(instance_id=record.instance_id, name=name, record=record, live=live)
    if ask_novita:
        matches = [
            i
            for i in await list_instances(res.client, name=name)
            if i.name == name and i.status not in NOVITA_GONE
        ]
        if len(matches) > 1:
            ids = ", ".join(i.id for i in matches)
            raise InstanceLookupError(
                f"Several Novita instances are named {name!r} ({ids}): give instance_id instead"
            )
        if matches:
            live = matches[0]
            record = await res.store.get_instance(live.id)
            return InstanceTarget(instance_id=live.id, name=name, record=record, live=live)
    deleted = await res.store.get_instance_by_name(name, include_deleted=True)
    if deleted is not None:
        return InstanceTarget(instance_id=deleted.instance_id, name=name, record=deleted)
    raise InstanceLookupError(_not_found(describe_selector(None, name), ask_novita))


def _not_found(wanted: str, asked_novita: bool) -> str:
    if asked_novita:
        return f"No instance with {wanted}: neither the state store nor Novita knows it"
    return f"No managed instance with {wanted}: the state store does not know it"


@asynccontextmanager
async def open_target(
    instance_id: str | None,
    name: str | None,
    credentials_block: str | None = None,
    webhook_settings_block: str | None = None,
    policies_block: str | None = None,
) -> AsyncIterator[tuple[FlowResources, InstanceTarget]]:
    """What a lifecycle flow starts with: the selector checked, resources open, target found.

    Raises:
        InstanceSelectorError: not exactly one of `instance_id` and `name` (before any call).
        InstanceLookupError: nothing matches.

    Example:
        ```python
        async with open_target(None, "trainer-1") as (res, target):
            await Shutdown(res, target, 10, force=False).run()
        ```

    """
    check_selector(instance_id, name)
    async with open_flow_resources(
        credentials_block, webhook_settings_block, policies_block
    ) as res:
        yield res, await find_target(res, instance_id, name)
