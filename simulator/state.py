"""The simulated Novita account: instances, jobs and the operations of the API.

:class:`SimulatorState` is the one owner of mutable state. Every public method takes one
re-entrant lock, so the HTTP server thread and a test thread can both use it. Instances are
evaluated lazily: each read or mutation first applies the status steps that are due on the
clock (:mod:`simulator.lifecycle`), which keeps a get, a mutation and an unfiltered list
page O(1) / O(page) however many instances exist.

Operation rules (what the live API is known to do, reference §4-§6):

- start: only from ``exited`` (else 400 ``invalid state change``); 400
  ``INSUFFICIENT_RESOURCE`` when the instance's cluster has no capacity.
- stop, restart: only from ``running``.
- delete: from any status; deleting an instance already being removed answers ``{}``
  again (idempotent); monthly instances answer 400 ``PREPAID_INSTANCE_NOT_SUPPORT_RELEASE``.
- migrate: from ``exited`` or ``running``; keeps the id and cluster; creates an
  ``instanceMigrate`` job. Capacity exhaustion does not affect it (use the migrate fault).
- unknown instance id: 400 ``RESOURCE_NOT_FOUND``; ``removed`` for longer than the grace
  period: 404 ``RESOURCE_NOT_FOUND`` and gone from the list.
- list order: newest first.
"""

from __future__ import annotations

import heapq
import random
import string
import threading
from collections.abc import Container
from itertools import islice
from typing import Any

from simulator.catalog import BILLING_METHODS, Catalog, fuzzy_contains
from simulator.clock import SimulatorClock
from simulator.errors import ApiError, invalid_state_change, validator_param
from simulator.faults import Faults
from simulator.instance import Instance
from simulator.jobs import Job
from simulator.lifecycle import (
    Timings,
    plan_create,
    plan_delete,
    plan_migrate,
    plan_reclaim,
    plan_restart,
    plan_start,
    plan_stop,
)
from simulator.requestlog import RequestLog
from simulator.requeststats import RequestStats
from simulator.seed import build_catalog
from simulator.validation import parse_create_body, parse_ports

__all__ = ["DEFAULT_API_KEY", "SimulatorState"]

DEFAULT_API_KEY = "sk_sim_fake_key_for_local_use_only"
"""The Bearer key the simulator accepts unless told otherwise (not a secret)."""

_REMOVING = frozenset({"toRemove", "removing", "removed"})
_PASSWORD_ALPHABET = string.ascii_letters + string.digits


class SimulatorState:
    """The simulated account and its API operations.

    Args:
        api_key: The accepted Bearer key.
        speed: Clock speed (simulated seconds per real second).
        frozen: Start with a frozen clock (move it with ``clock.advance``).
        seed: Seed of the id generator and of the random fault rate; None (default) =
            random ids, so two simulators (or two test runs) never hand out the same id.
        timings: Phase durations; defaults to :class:`Timings`.
        clock: Use this clock instead of building one (``speed``/``frozen`` then ignored).

    Example:
        >>> state = SimulatorState(frozen=True)
        >>> iid = state.create_instance({"kind": "gpu", "productId": "rtx4090-24g.as-sgp-2",
        ...     "gpuNum": 1, "rootfsSize": 60, "imageUrl": "python:3.11", "ports": "8888/http"})
        >>> state.get_instance(iid)["status"]
        'toCreate'
        >>> state.clock.advance(6)
        >>> state.get_instance(iid)["status"]
        'running'

    """

    def __init__(
        self,
        api_key: str = DEFAULT_API_KEY,
        *,
        speed: float = 1.0,
        frozen: bool = False,
        seed: int | None = None,
        timings: Timings | None = None,
        clock: SimulatorClock | None = None,
    ):
        self.api_key = api_key
        self.clock = clock or SimulatorClock(speed, frozen=frozen)
        self.timings = timings or Timings()
        self.requests = RequestLog()
        self.request_stats = RequestStats()
        self.public_base = "http://127.0.0.1:8765"
        self.tcp_address = "127.0.0.1:0"
        self.closing = threading.Event()
        """Set when the server shuts down: held (hanging) requests answer at once."""
        self._lock = threading.RLock()
        self._seed = seed
        self._rng = random.Random(seed)
        self.faults = Faults(seed)
        self._reset_locked()

    # -- setup -------------------------------------------------------------------------

    def _reset_locked(self) -> None:
        self.catalog: Catalog = build_catalog()
        self._instances: dict[str, Instance] = {}
        self._purged: set[str] = set()
        self._purge_heap: list[tuple[float, str]] = []
        self._jobs: dict[str, Job] = {}
        self._seq = 0

    def reset(self, seed: int | None = None) -> None:
        """Back to the seed: catalogue, no instances or jobs, no faults, empty request log.

        No faults includes no rate cap, and the request counters start again from zero.

        The clock is left as it is: simulated time never goes backwards. Instance ids keep
        following the same sequence (64 random bits: ids do not come back after a reset)
        unless ``seed`` is given, which restarts the sequence of that seed.
        """
        with self._lock:
            if seed is not None:
                self._seed = seed
                self._rng = random.Random(seed)
            self._reset_locked()
            self.faults = Faults(self._seed)
            self.requests.clear()
            self.request_stats.clear()

    def set_addresses(self, public_base: str, tcp_address: str | None = None) -> None:
        """Tell the state where it is served (endpoint URLs are built from these)."""
        with self._lock:
            self.public_base = public_base.rstrip("/")
            if tcp_address is not None:
                self.tcp_address = tcp_address

    def _new_id(self, existing: Container[str]) -> str:
        while True:
            candidate = f"{self._rng.getrandbits(64):016x}"
            if candidate not in existing and candidate not in self._purged:
                return candidate

    # -- lookups -----------------------------------------------------------------------

    def _purge(self, now: float) -> None:
        heap = self._purge_heap
        while heap and heap[0][0] <= now:
            at, iid = heapq.heappop(heap)
            inst = self._instances.get(iid)
            if inst is not None and inst.purge_at == at:
                inst.advance(now)
                del self._instances[iid]
                self._purged.add(iid)

    def _lookup(self, instance_id: str, now: float) -> Instance:
        self._purge(now)
        inst = self._instances.get(instance_id)
        if inst is None:
            if instance_id in self._purged:
                raise ApiError(404, "RESOURCE_NOT_FOUND", "instance not found")
            raise ApiError(400, "RESOURCE_NOT_FOUND", "instance not found")
        inst.advance(now)
        return inst

    def _render(self, inst: Instance, now: float) -> dict[str, Any]:
        return inst.to_api(now=now, public_base=self.public_base, tcp_address=self.tcp_address)

    # -- catalogue reads ---------------------------------------------------------------

    def list_clusters(self) -> list[dict[str, Any]]:
        """Items of ``GET /clusters``."""
        with self._lock:
            return self.catalog.clusters_api()

    def list_products(
        self,
        *,
        cluster_id: str = "",
        gpu_num: int = 0,
        product_name: str = "",
        billing_method: str = "",
        min_cpu_per_gpu: int = 0,
        min_memory_per_gpu: int = 0,
        min_rootfs_size: int = 0,
    ) -> list[dict[str, Any]]:
        """Items of ``GET /products`` (fuzzy ``productName``, exact ``clusterId``)."""
        if billing_method and billing_method not in BILLING_METHODS:
            raise validator_param("billingMethod", "must be one of onDemand, spot, monthly")
        if not 0 <= gpu_num <= 8:
            raise validator_param("gpuNum", "must be between 0 and 8")
        with self._lock:
            found = self.catalog.find_products(
                cluster_id=cluster_id,
                gpu_num=gpu_num,
                product_name=product_name,
                billing_method=billing_method,
                min_cpu_per_gpu=min_cpu_per_gpu,
                min_memory_per_gpu=min_memory_per_gpu,
                min_rootfs_size=min_rootfs_size,
            )
            return [p.to_api(self.catalog.region_label(p.cluster_id)) for p in found]

    def get_template(self, template_id: str) -> dict[str, Any]:
        """The ``template`` object of ``GET /template``; 400 ``TEMPLATE_NOT_FOUND``."""
        if not template_id:
            raise validator_param("templateId", "is required")
        with self._lock:
            template = self.catalog.templates.get(template_id)
            if template is None:
                raise ApiError(400, "TEMPLATE_NOT_FOUND", "template not found")
            return template.to_api()

    def list_registry_auths(self) -> list[dict[str, str]]:
        """Items of ``GET /repository/auths``."""
        with self._lock:
            return [a.to_api() for a in self.catalog.registry_auths]

    # -- instances -----------------------------------------------------------------------

    def create_instance(self, body: Any) -> str:
        """``POST /gpu/instance/create``: validate, place and schedule a new instance.

        Returns:
            The new instance id (16 lowercase hex characters).

        Raises:
            ApiError: 400 ``VALIDATOR_PARAM``, ``RESOURCE_NOT_FOUND``,
                ``UNSUPPORTED_BILLING_MODE``, ``INSUFFICIENT_RESOURCE`` or
                ``IMAGE_URL_OR_AUTH_ERROR``.

        """
        req = parse_create_body(body)
        with self._lock:
            now = self.clock.now()
            product = self.catalog.products.get(req.product_id)
            if product is None:
                raise ApiError(
                    400, "RESOURCE_NOT_FOUND", f"productId: product not found: {req.product_id}"
                )
            if req.rootfs_size > product.max_rootfs:
                raise validator_param(
                    "rootfsSize", f"must be at most {product.max_rootfs} GB for this product"
                )
            if req.billing_mode not in product.billing_methods:
                raise ApiError(
                    400,
                    "UNSUPPORTED_BILLING_MODE",
                    f"billingMode: {req.billing_mode} is not supported by {product.name}",
                )
            cluster_id = req.cluster_id or product.cluster_id
            cluster = self.catalog.cluster(cluster_id)
            if cluster is None:
                raise ApiError(
                    400, "RESOURCE_NOT_FOUND", f"clusterId: cluster not found: {cluster_id}"
                )
            if product.cluster_id != cluster_id or not product.available:
                raise ApiError(
                    400,
                    "INSUFFICIENT_RESOURCE",
                    f"insufficient resource: {product.name} is not available in {cluster_id}",
                )
            if req.gpu_num > product.available_gpu_number:
                raise ApiError(
                    400,
                    "INSUFFICIENT_RESOURCE",
                    f"insufficient resource: at most {product.available_gpu_number} GPUs of "
                    f"{product.name} available in {cluster_id}",
                )
            if self.faults.is_exhausted(cluster_id):
                raise ApiError(
                    400, "INSUFFICIENT_RESOURCE", f"insufficient resource in cluster {cluster_id}"
                )
            image_auth_id = self._check_image_auth(req.image_url, req.image_auth, req.image_auth_id)
            iid = self._new_id(self._instances)
            self._seq += 1
            inst = Instance(
                id=iid,
                name=req.name,
                cluster_id=cluster.id,
                cluster_name=cluster.name,
                product=product,
                gpu_num=req.gpu_num,
                rootfs_size=req.rootfs_size,
                image_url=req.image_url,
                created_at=now,
                image_auth_id=image_auth_id,
                command=req.command,
                ports=req.ports,
                envs=req.envs,
                billing_mode=req.billing_mode,
                seq=self._seq,
                ssh_password="".join(self._rng.choice(_PASSWORD_ALPHABET) for _ in range(16)),
            )
            plan_create(inst, now, self.timings)
            self._instances[iid] = inst
            return iid

    def _check_image_auth(self, image_url: str, image_auth: str, image_auth_id: str) -> str:
        auth = self.catalog.private_auth_for(image_url)
        if auth is None:
            return image_auth_id
        if image_auth_id == auth.id or image_auth == f"{auth.username}:{auth.password}":
            return auth.id
        # Never echo the submitted credentials: they are secrets.
        raise ApiError(
            400,
            "IMAGE_URL_OR_AUTH_ERROR",
            "imageAuth: the image cannot be pulled, check the image URL or its registry auth",
        )

    def get_instance(self, instance_id: str) -> dict[str, Any]:
        """``GET /gpu/instance``: the instance object itself."""
        if not instance_id:
            raise validator_param("instanceId", "is required")
        with self._lock:
            now = self.clock.now()
            return self._render(self._lookup(instance_id, now), now)

    def list_instances(
        self,
        *,
        page_size: int = 10,
        page_num: int = 0,
        name: str = "",
        product_name: str = "",
        status: str = "",
    ) -> dict[str, Any]:
        """``GET /gpu/instances``: ``{"instances": [...], "total": N}``, newest first.

        ``pageNum`` 0 and 1 are both the first page; ``pageSize`` 0 means 10.
        """
        if page_size < 0:
            raise validator_param("pageSize", "must be >= 0")
        if page_num < 0:
            raise validator_param("pageNum", "must be >= 0")
        size = page_size or 10
        offset = (max(page_num, 1) - 1) * size
        with self._lock:
            now = self.clock.now()
            self._purge(now)
            newest_first = reversed(self._instances.values())
            if not (name or product_name or status):
                total = len(self._instances)
                page = list(islice(newest_first, offset, offset + size))
            else:

                def wanted(inst: Instance) -> bool:
                    if name and not fuzzy_contains(inst.name, name):
                        return False
                    if product_name and not fuzzy_contains(inst.product.name, product_name):
                        return False
                    if status:
                        inst.advance(now)  # a status filter needs the current status
                        return inst.status == status
                    return True

                matched = [i for i in newest_first if wanted(i)]
                total = len(matched)
                page = matched[offset : offset + size]
            for inst in page:
                inst.advance(now)
            return {"instances": [self._render(i, now) for i in page], "total": total}

    def start(self, instance_id: str) -> dict[str, Any]:
        """``POST /gpu/instance/start``: ``{"instanceId", "state"}``."""
        with self._lock:
            now = self.clock.now()
            inst = self._lookup(instance_id, now)
            if inst.status != "exited":
                raise invalid_state_change(inst.status, "start")
            if self.faults.is_exhausted(inst.cluster_id):
                raise ApiError(
                    400,
                    "INSUFFICIENT_RESOURCE",
                    f"start instance error: insufficient resource in cluster {inst.cluster_id}",
                )
            plan_start(inst, now, self.timings)
            return {"instanceId": inst.id, "state": inst.status}

    def stop(self, instance_id: str) -> dict[str, Any]:
        """``POST /gpu/instance/stop``: ``{"instanceId", "state"}``."""
        with self._lock:
            now = self.clock.now()
            inst = self._lookup(instance_id, now)
            if inst.status != "running":
                raise invalid_state_change(inst.status, "stop")
            plan_stop(inst, now, self.timings)
            return {"instanceId": inst.id, "state": inst.status}

    def restart(self, instance_id: str) -> dict[str, Any]:
        """``POST /gpu/instance/restart``: ``{}``."""
        with self._lock:
            now = self.clock.now()
            inst = self._lookup(instance_id, now)
            if inst.status != "running":
                raise invalid_state_change(inst.status, "restart")
            plan_restart(inst, now, self.timings)
            return {}

    def delete(self, instance_id: str) -> dict[str, Any]:
        """``POST /gpu/instance/delete``: ``{}``; idempotent while being removed."""
        with self._lock:
            now = self.clock.now()
            inst = self._lookup(instance_id, now)
            if inst.status in _REMOVING:
                return {}
            if inst.billing_mode == "monthly":
                raise ApiError(
                    400,
                    "PREPAID_INSTANCE_NOT_SUPPORT_RELEASE",
                    "prepaid (monthly) instances cannot be released",
                )
            job = self._jobs.get(inst.migrate_job_id)
            if job is not None and inst.status == "migrating":
                job.end_now(now, "fail", "INSTANCE_REMOVED", "instance was deleted")
            purge_at = plan_delete(inst, now, self.timings)
            heapq.heappush(self._purge_heap, (purge_at, inst.id))
            return {}

    def migrate(self, instance_id: str) -> dict[str, Any]:
        """``POST /gpu/instance/migrate``: ``{}``; the instance goes ``migrating``."""
        with self._lock:
            now = self.clock.now()
            inst = self._lookup(instance_id, now)
            if inst.status not in ("exited", "running"):
                raise invalid_state_change(inst.status, "migrate")
            mode = self.faults.migrate_failure(instance_id)
            if mode == "error":
                raise ApiError(
                    400,
                    "MIGRATE_INSUFFICIENT_RESOURCE",
                    "migrate failed: insufficient resource for migration",
                )
            succeed = mode != "job"
            message = "" if succeed else "migration failed: insufficient resource on target node"
            job = Job(
                id=self._new_id(self._jobs),
                type="instanceMigrate",
                instance_id=inst.id,
                created_at=now,
                finish_at=now + self.timings.migrating,
                outcome="success" if succeed else "fail",
                error="" if succeed else "MIGRATE_INSUFFICIENT_RESOURCE",
                message=message,
            )
            self._jobs[job.id] = job
            inst.migrate_job_id = job.id
            plan_migrate(inst, now, self.timings, succeed=succeed, error=message)
            return {}

    def list_jobs(
        self,
        *,
        job_type: str = "",
        state: str = "",
        job_id: str = "",
        page_size: int = 10,
        page_num: int = 0,
    ) -> dict[str, Any]:
        """``GET /jobs``: ``{"jobs": [...], "total": N}``, newest first."""
        if page_size < 0:
            raise validator_param("pageSize", "must be >= 0")
        if page_num < 0:
            raise validator_param("pageNum", "must be >= 0")
        size = page_size or 10
        offset = (max(page_num, 1) - 1) * size
        with self._lock:
            now = self.clock.now()
            matched = [
                j
                for j in reversed(self._jobs.values())
                if (not job_type or j.type == job_type)
                and (not job_id or j.id == job_id)
                and (not state or j.state(now) == state)
            ]
            page = matched[offset : offset + size]
            return {"jobs": [j.to_api(now) for j in page], "total": len(matched)}

    # -- endpoints -----------------------------------------------------------------------

    def endpoint_state(self, instance_id: str, port: str) -> tuple[str, float]:
        """What an instance's http endpoint should answer now.

        Returns:
            ``(kind, hang_seconds)``: kind is ``unknown`` (no such instance), ``unmapped``
            (no such http port), ``down`` (not running or app still booting), ``up``, or a
            forced health mode (``502``, ``503``, ``500``, ``hang``).

        """
        with self._lock:
            now = self.clock.now()
            self._purge(now)
            inst = self._instances.get(instance_id)
            if inst is None:
                return "unknown", 0.0
            inst.advance(now)
            terminal = port == "webterminal"
            if not terminal and not (port.isdigit() and inst.has_port(int(port), "http")):
                return "unmapped", 0.0
            if inst.status != "running":
                return "down", 0.0
            mode, hang = self.faults.app_health(instance_id)
            if mode != "ok":
                return mode, hang
            if terminal or inst.app_is_up(now):
                return "up", 0.0
            return "down", 0.0

    # -- scenario controls -------------------------------------------------------------

    def reclaim_spot(
        self, instance_id: str, *, notice_seconds: float | None = None, immediate: bool = False
    ) -> dict[str, Any]:
        """Start the reclaim of a running spot instance; returns the instance object.

        Raises:
            ValueError: The instance is not a running spot instance.

        """
        with self._lock:
            now = self.clock.now()
            inst = self._lookup(instance_id, now)
            if inst.billing_mode != "spot":
                raise ValueError("only spot instances can be reclaimed")
            if inst.status != "running":
                raise ValueError(f"only running instances can be reclaimed (status {inst.status})")
            notice = 0.0 if immediate else notice_seconds
            plan_reclaim(inst, now, self.timings, notice=notice)
            return self._render(inst, now)

    def set_product_availability(
        self,
        cluster_id: str,
        available: bool,
        *,
        product_id: str | None = None,
        product_name: str | None = None,
    ) -> list[str]:
        """Flip ``availableDeploy`` of products in a cluster, by id or exact name.

        Returns:
            The ids of the products changed.

        Raises:
            ValueError: Nothing matched.

        """
        if not product_id and not product_name:
            raise ValueError("give productId or productName")
        wanted = "".join((product_name or "").lower().split())
        with self._lock:
            changed = []
            for p in self.catalog.products.values():
                if p.cluster_id != cluster_id:
                    continue
                if product_id and p.id != product_id:
                    continue
                if product_name and "".join(p.name.lower().split()) != wanted:
                    continue
                p.available = available
                changed.append(p.id)
            if not changed:
                raise ValueError(f"no such product in cluster {cluster_id}")
            return changed

    def seed_instances(
        self,
        count: int,
        *,
        name_prefix: str = "seeded",
        first_index: int = 0,
        product_id: str = "rtx4090-24g.us-ca-6",
        status: str = "running",
        billing_mode: str = "onDemand",
        reclaimed: bool = False,
        ports: str = "8888/http, 7860/http, 22/tcp",
        gpu_num: int = 1,
        rootfs_size: int = 60,
        image_url: str = "novitalabs/pytorch:2.4.0-cuda12.4",
        age_seconds: float = 3600.0,
    ) -> list[dict[str, str]]:
        """Add ``count`` instances that are already ``running`` or ``exited`` (benchmarks).

        A fleet of ten thousand is seeded in well under a second, where creating each over
        the API would walk every instance through the status graph. Seeded instances are
        ordinary instances from then on (list, get, stop, start, migrate, reclaim, delete).
        Names are ``<name_prefix>-<index>`` with the index zero-padded to five digits,
        from ``first_index``. They started (or were created) ``age_seconds`` ago; a running
        one serves its http endpoints at once; a ``reclaimed`` one is a spot instance the
        cloud took back just now (``exited``, spotStatus ``terminated``).

        Returns:
            ``[{"id", "name"}]`` in seeding order (the list answers newest first).

        Raises:
            ValueError: Unknown product, a status other than running/exited, a billing mode
                the product does not offer, ``reclaimed`` without spot + exited, bad ports.

        Example:
            >>> state = SimulatorState(frozen=True)
            >>> seeded = state.seed_instances(3, name_prefix="fleet", billing_mode="spot")
            >>> [s["name"] for s in seeded]
            ['fleet-00000', 'fleet-00001', 'fleet-00002']
            >>> state.get_instance(seeded[0]["id"])["status"]
            'running'
            >>> gone = state.seed_instances(1, status="exited", billing_mode="spot",
            ...                             reclaimed=True)
            >>> state.get_instance(gone[0]["id"])["spotStatus"]
            'terminated'

        """
        if count < 0:
            raise ValueError("count must be >= 0")
        if status not in ("running", "exited"):
            raise ValueError("status must be running or exited")
        if reclaimed and (status != "exited" or billing_mode != "spot"):
            raise ValueError("a reclaimed instance is a spot instance that is exited")
        try:
            port_list = parse_ports(ports)
        except ApiError as exc:
            raise ValueError(exc.message) from None
        with self._lock:
            product = self.catalog.products.get(product_id)
            if product is None:
                raise ValueError(f"no such product: {product_id}")
            if billing_mode not in product.billing_methods:
                raise ValueError(f"{product.name} does not offer {billing_mode} billing")
            cluster = self.catalog.cluster(product.cluster_id)
            assert cluster is not None  # the seed catalogue places every product
            now = self.clock.now()
            since = now - age_seconds
            seeded = []
            for index in range(first_index, first_index + count):
                iid = self._new_id(self._instances)
                self._seq += 1
                inst = Instance(
                    id=iid,
                    name=f"{name_prefix}-{index:05d}",
                    cluster_id=cluster.id,
                    cluster_name=cluster.name,
                    product=product,
                    gpu_num=gpu_num,
                    rootfs_size=rootfs_size,
                    image_url=image_url,
                    created_at=since,
                    ports=list(port_list),
                    billing_mode=billing_mode,
                    seq=self._seq,
                    status=status,
                    last_started_at=since,
                    ssh_password="".join(self._rng.choice(_PASSWORD_ALPHABET) for _ in range(16)),
                )
                if status == "running":
                    inst.app_ready_at = since
                    inst.spot_status = "running" if billing_mode == "spot" else ""
                else:
                    inst.last_stopped_at = now
                    if reclaimed:
                        inst.spot_status = "terminated"
                        inst.spot_reclaim_time = now
                self._instances[iid] = inst
                seeded.append({"id": iid, "name": inst.name})
            return seeded

    def snapshot(self) -> dict[str, Any]:
        """Counts, addresses, clock and faults (for ``GET /_admin/state``)."""
        with self._lock:
            now = self.clock.now()
            self._purge(now)
            return {
                "instances": len(self._instances),
                "jobs": len(self._jobs),
                "publicBase": self.public_base,
                "tcpAddress": self.tcp_address,
                "clock": self.clock.snapshot(),
                "faults": self.faults.snapshot(),
            }
