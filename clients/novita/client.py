"""Async client of the Novita GPU-instance API (v1): one method per operation, no policy.

The client speaks HTTP and hands back clean models; choosing products, falling back between
regions or deciding what a failure means for a provisioning belong to tasks and flows. It
owns one ``httpx.AsyncClient`` (one connection pool) for its whole life, retries what is safe
to retry (see :mod:`clients.novita.retry`), and raises :mod:`clients.novita.errors` classes.
Every attempt is bounded in time and size (see :mod:`clients.novita.http_attempt`), and the
retries of one call by the policy's budget.

Idempotency contract:
    * Reads and start/stop/restart/delete/migrate are retried on any retryable error. After an
      ambiguous failure (a read timeout), the retry of a stop may answer "invalid state change"
      or a delete may answer 404 because the first attempt worked: callers treat
      ``NovitaInvalidStateError`` by re-reading the instance and ``NovitaNotFoundError`` on
      delete as "already gone".
    * ``create_instance`` is retried only when the error proves Novita did not act (connect
      failure, 429, 408, 503). A read timeout or a 500/502/504 is raised at once with a
      message saying the instance may exist; look it up by name before creating again.

Example:
    async with NovitaClient(api_key=os.environ["NOVITA_API_KEY"]) as client:
        clusters = await client.list_clusters()
        products = await client.list_products(cluster_id="us-ca-6", gpu_num=1)

"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import Any, Literal, TypeVar

import httpx
from pydantic import BaseModel, SecretStr

from clients.novita.answer_parsing import list_field, parse_items, parse_model
from clients.novita.catalog import BillingMode, Cluster, Product
from clients.novita.create_request import CreateInstanceRequest
from clients.novita.errors import (
    NovitaNotFoundError,
    NovitaRateLimitError,
    NovitaUnexpectedResponseError,
)
from clients.novita.http_attempt import (
    DEFAULT_MAX_RESPONSE_BYTES,
    DEFAULT_REQUEST_DEADLINE,
    AttemptLimits,
    CallContext,
    send_once,
)
from clients.novita.instances import Instance, InstanceActionResult, InstanceStatus
from clients.novita.jobs import Job
from clients.novita.pagination import (
    DEFAULT_MAX_PAGES,
    DEFAULT_PAGE_CONCURRENCY,
    iter_pages,
    read_all_pages,
)
from clients.novita.retry import RetryPolicy, Sleep, call_with_retry
from clients.novita.templates import RegistryAuth, Template

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_TIMEOUT",
    "NovitaClient",
    "RateLimitListener",
    "RequestGate",
]

logger = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.novita.ai/gpu-instance/openapi/v1"
"""Novita's GPU-instance OpenAPI v1 base URL."""

DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=5.0)
"""Short connect timeout (a dead host fails fast), 30 s for read, write and pool."""

RequestGate = Callable[[], Awaitable[None]]
"""Awaited before every HTTP attempt; a shared rate limiter plugs in here."""

RateLimitListener = Callable[[float | None], Awaitable[None]]
"""Awaited with the ``Retry-After`` seconds (or None) of every 429 Novita sends."""

ModelT = TypeVar("ModelT", bound=BaseModel)
InstanceAction = Literal["start", "stop", "restart", "delete", "migrate"]


class NovitaClient:
    """Async client of the Novita GPU-instance API.

    Args:
        api_key: Novita API key (``sk_...``), as ``str`` or ``SecretStr``; kept as a secret.
        base_url: API base URL; point it at the simulator to run offline.
        timeout: A full ``httpx.Timeout`` (or seconds for all phases); overrides the two below.
        connect_timeout: Seconds to establish a connection (short: a dead host fails fast).
        read_timeout: Seconds for read, write and pool waits.
        retry_policy: How failed calls are retried; ``RetryPolicy(max_attempts=1)`` disables.
        transport: An httpx transport to use instead of the network (tests: respx router).
        limits: Connection-pool limits of the shared pool.
        sleep: Async sleep used between retries; inject a fake one in tests.
        user_agent: ``User-Agent`` header value.
        request_deadline: Seconds one attempt may take in all (connect + whole response);
            past it the attempt fails with ``NovitaDeadlineExceededError`` (retried like any
            timeout, within ``retry_policy.budget_seconds``).
        max_response_bytes: Largest answer accepted; a larger one stops being read at the
            limit and fails with ``NovitaResponseTooLargeError`` (not retried).
        request_gate: Awaited before every HTTP attempt, retries included: a shared rate
            limiter (e.g. a Prefect global concurrency limit) makes every request of every
            worker pass one gate. It may wait as long as it likes; that wait is not part of
            the attempt's deadline.
        on_rate_limited: Awaited with the ``Retry-After`` seconds (None if absent) whenever
            Novita answers 429, so that a shared limiter can slow everyone down. Its own
            failures are logged, never raised in place of the 429.

    One client holds one connection pool bound to the event loop it is first used on: create
    it inside the flow (or task) that uses it and share it between coroutines of that loop
    (``asyncio.gather``), not between threads or loops.

    Example:
        Against the simulator: ``NovitaClient(api_key=key, base_url="http://127.0.0.1:8765/v1")``.
        Here against a fake transport, as tests do:

        >>> import asyncio, httpx
        >>> def fake_novita(request):
        ...     return httpx.Response(200, json={"data": [{"id": "us-ca-6", "name": "US-CA-06"}]})
        >>> async def main():
        ...     transport = httpx.MockTransport(fake_novita)
        ...     async with NovitaClient(api_key="sk_test", transport=transport) as client:
        ...         return [cluster.id for cluster in await client.list_clusters()]
        >>> asyncio.run(main())
        ['us-ca-6']
        >>> NovitaClient(api_key="sk_test")
        NovitaClient(base_url='https://api.novita.ai/...', api_key=SecretStr('**********'))

    """

    #: Hard stop for paginated reads, whatever the server says (a server that ignores
    #: pageNum and sends id-less items must not keep us looping).
    max_pages: int = DEFAULT_MAX_PAGES

    def __init__(
        self,
        api_key: str | SecretStr,
        base_url: str = DEFAULT_BASE_URL,
        *,
        timeout: httpx.Timeout | float | None = None,
        connect_timeout: float = 5.0,
        read_timeout: float = 30.0,
        retry_policy: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        limits: httpx.Limits | None = None,
        sleep: Sleep | None = None,
        user_agent: str = "novita-prefect/0.1",
        request_deadline: float = DEFAULT_REQUEST_DEADLINE,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        request_gate: RequestGate | None = None,
        on_rate_limited: RateLimitListener | None = None,
    ) -> None:
        secret = api_key if isinstance(api_key, SecretStr) else SecretStr(api_key)
        key = secret.get_secret_value().strip()
        if not key:
            raise ValueError("Novita API key is empty; set NOVITA_API_KEY or the credentials block")
        self._api_key = SecretStr(key)
        self.base_url = base_url.rstrip("/")
        self.retry_policy = retry_policy or RetryPolicy()
        self.attempt_limits = AttemptLimits(
            deadline=request_deadline, max_response_bytes=max_response_bytes
        )
        self._sleep = sleep
        self._request_gate = request_gate
        self._on_rate_limited = on_rate_limited
        if timeout is None:
            timeout = httpx.Timeout(read_timeout, connect=connect_timeout)
        elif not isinstance(timeout, httpx.Timeout):
            timeout = httpx.Timeout(timeout, connect=min(float(timeout), connect_timeout))
        self.timeout = timeout
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            headers={
                "Authorization": f"Bearer {key}",
                "Content-Type": "application/json",
                "Accept": "application/json",
                "User-Agent": user_agent,
            },
            timeout=timeout,
            limits=limits or httpx.Limits(max_connections=50, max_keepalive_connections=20),
            transport=transport,
            follow_redirects=False,
        )

    def __repr__(self) -> str:
        return f"NovitaClient(base_url={self.base_url!r}, api_key=SecretStr('**********'))"

    async def __aenter__(self) -> NovitaClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool. Safe to call twice.

        Example:
            client = NovitaClient(api_key=key)
            try:
                await client.list_clusters()
            finally:
                await client.aclose()

        """
        await self._http.aclose()

    @property
    def is_closed(self) -> bool:
        """Whether :meth:`aclose` was called.

        Example:
            if client.is_closed:
                client = NovitaClient(api_key=key)

        """
        return self._http.is_closed

    @property
    def account_scope(self) -> str:
        """A stable label of the account this client speaks for: base URL + key fingerprint.

        Caches of reads use it so two accounts never share results; it holds a truncated
        SHA-256 of the key, never the key itself.

        Example:
            scope = client.account_scope  # "https://api.novita.ai/...#3f2a9c41d0b7e6aa"

        """
        digest = hashlib.sha256(self._api_key.get_secret_value().encode()).hexdigest()[:16]
        return f"{self.base_url}#{digest}"

    # -- transport ---------------------------------------------------------------------

    async def _request(
        self,
        method: str,
        path: str,
        *,
        operation: str,
        target: str | None = None,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        idempotent: bool = True,
        secrets: Sequence[str] = (),
    ) -> Any:
        """Send one logical call (with retries) and return the decoded JSON body."""
        clean_params = {k: v for k, v in (params or {}).items() if v is not None}
        call = CallContext(
            operation=operation,
            target=target,
            idempotent=idempotent,
            secrets=(self._api_key.get_secret_value(), *secrets),
        )

        async def attempt() -> Any:
            return await self._send_once(method, path, call=call, params=clean_params, json=json)

        kwargs: dict[str, Any] = {}
        if self._sleep is not None:
            kwargs["sleep"] = self._sleep
        return await call_with_retry(
            attempt, policy=self.retry_policy, operation=operation, idempotent=idempotent, **kwargs
        )

    async def _send_once(
        self, method: str, path: str, *, call: CallContext, params: dict[str, Any], json: Any
    ) -> Any:
        if self._request_gate is not None:
            await self._request_gate()
        try:
            return await send_once(
                self._http,
                method,
                path,
                call=call,
                params=params,
                json_body=json,
                limits=self.attempt_limits,
            )
        except NovitaRateLimitError as error:
            await self._tell_rate_limited(error.retry_after)
            raise

    async def _tell_rate_limited(self, retry_after: float | None) -> None:
        if self._on_rate_limited is None:
            return
        try:
            await self._on_rate_limited(retry_after)
        except Exception:
            # The listener is advisory (a shared limiter); the 429 is what the caller must see.
            logger.warning("on_rate_limited listener failed", exc_info=True)

    # -- paging ------------------------------------------------------------------------

    async def _iter_pages(
        self,
        path: str,
        *,
        items_key: str,
        model: type[ModelT],
        params: Mapping[str, Any],
        page_size: int,
        operation: str,
    ) -> AsyncIterator[list[ModelT]]:
        """Yield the pages of a paged read (see :func:`clients.novita.pagination.iter_pages`)."""

        async def fetch_page(page_num: int) -> Any:
            page_params = {**params, "pageSize": page_size, "pageNum": page_num}
            return await self._request("GET", path, operation=operation, params=page_params)

        async for page in iter_pages(
            fetch_page,
            items_key=items_key,
            model=model,
            page_size=page_size,
            operation=operation,
            max_pages=self.max_pages,
        ):
            yield page

    # -- catalogue ---------------------------------------------------------------------

    async def list_clusters(self) -> list[Cluster]:
        """List Novita's clusters (regions).

        Returns:
            Every cluster, with its id (``us-ca-6``) and name (``US-CA-06``).

        Example:
            ids_by_name = {c.name: c.id for c in await client.list_clusters()}
            # {'US-CA-06': 'us-ca-6', ...}

        """
        operation = "list clusters"
        body = await self._request("GET", "/clusters", operation=operation)
        return parse_items(Cluster, list_field(body, "data", operation), operation)

    async def list_products(
        self,
        cluster_id: str | None = None,
        gpu_num: int | None = None,
        product_name: str | None = None,
        billing_method: BillingMode | None = None,
        min_cpu_per_gpu: int | None = None,
        min_memory_per_gpu: int | None = None,
        min_rootfs_size: int | None = None,
    ) -> list[Product]:
        """List GPU products, optionally filtered the way Novita filters them.

        Novita's ``productName`` filter is fuzzy ("RTX 4090" also matches other cards);
        exact matching is the caller's business.

        Args:
            cluster_id: Only products available in this cluster id.
            gpu_num: Only products that can be rented with this many GPUs.
            product_name: Fuzzy name filter.
            billing_method: "onDemand", "spot" or "monthly".
            min_cpu_per_gpu: Lower bound of CPUs per GPU.
            min_memory_per_gpu: Lower bound of memory per GPU (GB).
            min_rootfs_size: Lower bound of the maximum root filesystem (GB).

        Returns:
            The matching products.

        Example:
            products = await client.list_products(
                cluster_id="us-ca-6", product_name="RTX 4090", billing_method="spot")
            deployable = [p for p in products if p.available_deploy]

        """
        operation = "list products"
        params = {
            "clusterId": cluster_id,
            "gpuNum": gpu_num,
            "productName": product_name,
            "billingMethod": billing_method,
            "minCpuPerGpu": min_cpu_per_gpu,
            "minMemoryPerGpu": min_memory_per_gpu,
            "minRootFSSize": min_rootfs_size,
        }
        body = await self._request("GET", "/products", operation=operation, params=params)
        return parse_items(Product, list_field(body, "data", operation), operation)

    # -- instances: reads --------------------------------------------------------------

    async def iter_instance_pages(
        self,
        name: str | None = None,
        product_name: str | None = None,
        status: InstanceStatus | str | None = None,
        page_size: int = 100,
    ) -> AsyncIterator[list[Instance]]:
        """Yield the account's instances one page at a time (each page one request).

        Args:
            name: Fuzzy name filter (Novita's; compare names exactly yourself).
            product_name: Fuzzy product-name filter.
            status: Only instances in this status.
            page_size: Instances per request.

        Yields:
            Lists of instances; an instance never appears twice.

        Example:
            async for page in client.iter_instance_pages(status="running"):
                await handle(page)

        """
        params = {
            "name": name,
            "productName": product_name,
            "status": None if status is None else str(status),
        }
        async for page in self._iter_pages(
            "/gpu/instances",
            items_key="instances",
            model=Instance,
            params=params,
            page_size=page_size,
            operation="list instances",
        ):
            yield page

    async def iter_instances(
        self,
        name: str | None = None,
        product_name: str | None = None,
        status: InstanceStatus | str | None = None,
        page_size: int = 100,
    ) -> AsyncIterator[Instance]:
        """Yield the account's instances one by one, fetching pages as needed.

        Takes the same filters as :meth:`list_instances`.

        Example:
            async for instance in client.iter_instances(name="train-"):
                statuses[instance.id] = instance.status

        """
        async for page in self.iter_instance_pages(
            name=name, product_name=product_name, status=status, page_size=page_size
        ):
            for instance in page:
                yield instance

    async def list_instances(
        self,
        name: str | None = None,
        product_name: str | None = None,
        status: InstanceStatus | str | None = None,
        page_size: int = 100,
        page_concurrency: int = DEFAULT_PAGE_CONCURRENCY,
    ) -> list[Instance]:
        """List every instance of the account, reading all pages.

        The first page says how many instances there are; the other pages are then read
        `page_concurrency` at a time (still within the rate limit, when one is set).

        Args:
            name: Fuzzy name filter.
            product_name: Fuzzy product-name filter.
            status: Only instances in this status.
            page_size: Instances per request.
            page_concurrency: Pages read at once after the first (1: one after another).

        Returns:
            All matching instances.

        Example:
            same_name = [i for i in await client.list_instances(name="train-1")
                         if i.name == "train-1"]

        """
        params = {
            "name": name,
            "productName": product_name,
            "status": None if status is None else str(status),
        }

        async def fetch_page(page_num: int) -> Any:
            page_params = {**params, "pageSize": page_size, "pageNum": page_num}
            return await self._request(
                "GET", "/gpu/instances", operation="list instances", params=page_params
            )

        return await read_all_pages(
            fetch_page,
            items_key="instances",
            model=Instance,
            page_size=page_size,
            operation="list instances",
            max_pages=self.max_pages,
            concurrency=page_concurrency,
        )

    async def get_instance(self, instance_id: str) -> Instance:
        """Read one instance, with its connection details.

        Args:
            instance_id: The instance id.

        Returns:
            The instance.

        Raises:
            NovitaNotFoundError: The instance does not exist (any more).

        Example:
            instance = await client.get_instance("07ed667185a895bb")
            if instance.status is InstanceStatus.RUNNING:
                ...

        """
        instance_id = _require_id(instance_id, "instance_id")
        operation, target = "get instance", instance_id
        body = await self._request(
            "GET",
            "/gpu/instance",
            operation=operation,
            target=target,
            params={"instanceId": instance_id},
        )
        if (
            isinstance(body, Mapping)
            and "id" not in body
            and isinstance(body.get("instance"), Mapping)
        ):
            body = body["instance"]  # tolerate a wrapped answer
        return parse_model(Instance, body, operation, target=target)

    # -- instances: mutations ----------------------------------------------------------

    async def create_instance(self, request: CreateInstanceRequest) -> str:
        """Create an instance and return its id (creation continues asynchronously).

        Not blindly retried: see the module docstring. Poll :meth:`get_instance` afterwards.

        Args:
            request: What to create.

        Returns:
            The new instance id.

        Raises:
            NovitaCapacityError: No room in that cluster (or an account limit, as
                ``NovitaQuotaError``).
            NovitaTimeoutError: No answer in time; ``maybe_processed`` says whether the
                instance may exist anyway.

        Example:
            instance_id = await client.create_instance(CreateInstanceRequest(
                name="train-1", product_id=product.id, rootfs_size=60,
                image_url="nvidia/cuda:12.4.0-base-ubuntu22.04", cluster_id="us-ca-6"))

        """
        where = f"in cluster {request.cluster_id}" if request.cluster_id else "in any cluster"
        target = f"{request.name!r} {where}" if request.name else where
        secrets: list[str] = []
        if request.image_auth is not None:
            credential = request.image_auth.get_secret_value()
            secrets += [credential, credential.partition(":")[2]]
        logger.info(
            "Creating Novita instance name=%s product=%s gpus=%d cluster=%s billing=%s",
            request.name,
            request.product_id,
            request.gpu_num,
            request.cluster_id,
            request.billing_mode,
        )
        body = await self._request(
            "POST",
            "/gpu/instance/create",
            operation="create instance",
            target=target,
            json=request.to_body(),
            idempotent=False,
            secrets=secrets,
        )
        instance_id = _created_id(body.get("id") if isinstance(body, Mapping) else None)
        if instance_id is None:
            raise NovitaUnexpectedResponseError(
                operation="create instance",
                target=target,
                status_code=200,
                api_message="the answer carries no instance id",
                idempotent=False,
            )
        logger.info("Created Novita instance %s (name=%s)", instance_id, request.name)
        return instance_id

    async def _instance_action(
        self, action: InstanceAction, instance_id: str
    ) -> InstanceActionResult:
        instance_id = _require_id(instance_id, "instance_id")
        body = await self._request(
            "POST",
            f"/gpu/instance/{action}",
            operation=f"{action} instance",
            target=instance_id,
            json={"instanceId": instance_id},
        )
        data = dict(body) if isinstance(body, Mapping) else {}
        if not data.get("instanceId"):
            data["instanceId"] = instance_id
        logger.info(
            "Novita accepted %s of instance %s (state=%s)", action, instance_id, data.get("state")
        )
        return parse_model(InstanceActionResult, data, f"{action} instance", target=instance_id)

    async def start_instance(self, instance_id: str) -> InstanceActionResult:
        """Start an exited instance.

        Raises:
            NovitaInvalidStateError: The instance cannot be started from its current state.
            NovitaCapacityError: Its resources were taken meanwhile (consider migrate).

        Example:
            result = await client.start_instance("07ed667185a895bb")
            # result.state == "toStart"

        """
        return await self._instance_action("start", instance_id)

    async def stop_instance(self, instance_id: str) -> InstanceActionResult:
        """Stop a running instance (compute billing stops; data kept up to 7 days).

        Example:
            await client.stop_instance("07ed667185a895bb")

        """
        return await self._instance_action("stop", instance_id)

    async def restart_instance(self, instance_id: str) -> InstanceActionResult:
        """Restart a running instance.

        Example:
            await client.restart_instance("07ed667185a895bb")

        """
        return await self._instance_action("restart", instance_id)

    async def delete_instance(self, instance_id: str) -> InstanceActionResult:
        """Delete an instance for good (any state; data is lost).

        Raises:
            NovitaNotFoundError: Already gone; callers usually treat this as success.

        Example:
            with contextlib.suppress(NovitaNotFoundError):
                await client.delete_instance("07ed667185a895bb")

        """
        return await self._instance_action("delete", instance_id)

    async def migrate_instance(self, instance_id: str) -> InstanceActionResult:
        """Migrate an instance to other hardware (e.g. after a spot reclaim).

        The instance goes ``migrating`` and an ``instanceMigrate`` job tracks the outcome
        (:meth:`list_jobs`). Data on the system and local disks is not preserved.

        Raises:
            NovitaCapacityError: ``MIGRATE_INSUFFICIENT_RESOURCE``.

        Example:
            await client.migrate_instance("07ed667185a895bb")
            jobs = await client.list_jobs(type="instanceMigrate")

        """
        return await self._instance_action("migrate", instance_id)

    # -- jobs, templates, registry auths ---------------------------------------------

    async def iter_jobs(
        self, type: str | None = None, state: str | None = None, page_size: int = 100
    ) -> AsyncIterator[Job]:
        """Yield jobs one by one, fetching pages as needed.

        Example:
            async for job in client.iter_jobs(type="instanceMigrate", state="fail"):
                failures[job.instance_id] = job.state.error

        """
        async for page in self._iter_pages(
            "/jobs",
            items_key="jobs",
            model=Job,
            params={"type": type, "state": state},
            page_size=page_size,
            operation="list jobs",
        ):
            for job in page:
                yield job

    async def list_jobs(
        self, type: str | None = None, state: str | None = None, page_size: int = 100
    ) -> list[Job]:
        """List jobs (migrations, image saves), reading all pages.

        Args:
            type: "instanceMigrate", "autoInstanceMigrate" or "saveImage".
            state: "pulling", "running", "fail", "success" or "break".
            page_size: Jobs per request.

        Returns:
            All matching jobs.

        Example:
            jobs = await client.list_jobs(type="instanceMigrate")
            done = [j for j in jobs if j.instance_id == instance_id and j.finished]

        """
        return [job async for job in self.iter_jobs(type=type, state=state, page_size=page_size)]

    async def get_template(self, template_id: str | int) -> Template:
        """Read a template.

        Raises:
            NovitaNotFoundError: No such template (Novita answers 400 TEMPLATE_NOT_FOUND).

        Example:
            template = await client.get_template("100")
            ports = template.ports_spec()  # "8888/http,22/tcp"

        """
        template_id = _require_id(str(template_id), "template_id")
        operation = "get template"
        body = await self._request(
            "GET",
            "/template",
            operation=operation,
            target=template_id,
            params={"templateId": template_id},
        )
        data = body.get("template") if isinstance(body, Mapping) else None
        if not isinstance(data, Mapping):
            raise NovitaUnexpectedResponseError(
                operation=operation,
                target=template_id,
                status_code=200,
                api_message="the answer carries no 'template' object",
            )
        return parse_model(Template, data, operation, target=template_id)

    async def list_registry_auths(self) -> list[RegistryAuth]:
        """List the container-registry credentials saved in Novita (passwords as secrets).

        Example:
            auths = await client.list_registry_auths()
            names = [a.name for a in auths]

        """
        operation = "list registry auths"
        body = await self._request("GET", "/repository/auths", operation=operation)
        return parse_items(RegistryAuth, list_field(body, "data", operation), operation)

    async def get_registry_auth(self, auth_id: str) -> RegistryAuth:
        """Find one registry auth by id (Novita has no single-item read; this lists).

        Raises:
            NovitaNotFoundError: No registry auth has that id.

        Example:
            auth = await client.get_registry_auth(template.image_auth_id)
            request = request.model_copy(update={"image_auth": auth.image_auth()})

        """
        auth_id = _require_id(auth_id, "auth_id")
        for auth in await self.list_registry_auths():
            if auth.id == auth_id:
                return auth
        raise NovitaNotFoundError(
            operation="find registry auth",
            target=auth_id,
            api_message="no registry auth with this id",
        )


def _created_id(value: Any) -> str | None:
    """The id a create answered, as text; None unless it is a non-blank string or an int.

    An object, a list, a boolean or a float is no instance id: polling ``"{'a': 1}"`` would
    only fail later, far from the answer that was wrong.

    Example:
        >>> _created_id("07ed667185a895bb"), _created_id(42), _created_id({"id": 1})
        ('07ed667185a895bb', '42', None)

    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def _require_id(value: str, name: str) -> str:
    text = (value or "").strip()
    if not text:
        raise ValueError(f"{name} must not be empty")
    return text
