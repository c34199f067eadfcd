"""Admin routes (``/_admin/...``): drive the simulator over HTTP, from tests or curl.

No Bearer key, but only loopback clients are served (403 otherwise), so exposing the
simulator on another interface does not expose its controls. Bodies are JSON with
camelCase fields; every route maps to one :class:`simulator.controls.SimulatorControls`
method. A bad control value answers 400 ``{"code":400,"reason":"BAD_REQUEST",...}``.

======  ==================================  =============================================
verb    path                                body
======  ==================================  =============================================
GET     /_admin/state                       (counts, addresses, clock, faults)
POST    /_admin/reset                       ``{"seed": 0}`` (optional)
GET     /_admin/clock
POST    /_admin/clock                       ``{"speed": 20, "frozen": true, "advance": 6}``
POST    /_admin/faults/latency              ``{"ms": 200, "path": "/products"}``
POST    /_admin/faults/errors               ``{"count": 2, "status": 503, "path": null}``
                                            or ``{"rate": 0.3, "status": 500, "seed": 1}``
POST    /_admin/faults/rate-limit           ``{"count": 1, "retryAfter": 2, "path": null}``
                                            or ``{"perSecond": 20, "burst": 20,
                                            "retryAfterMs": false}`` (0 lifts the cap)
POST    /_admin/faults/hang                 ``{"count": 1, "seconds": 5, "path": null}``
POST    /_admin/faults/clear                ``{}``
POST    /_admin/capacity                    ``{"clusterId": "as-sgp-2", "exhausted": true}``
POST    /_admin/products/availability       ``{"clusterId", "productId"|"productName",
                                            "available": false}``
POST    /_admin/instances/seed              ``{"count": 10000, "namePrefix": "fleet",
                                            "status": "running"|"exited", "billingMode":
                                            "spot", "reclaimed": false, ...}`` (below)
POST    /_admin/instances/{id}/reclaim      ``{"noticeSeconds": 10, "immediate": false}``
POST    /_admin/instances/{id}/app-health   ``{"mode": "502"|"503"|"500"|"hang"|"ok",
                                            "hangSeconds": 30}``
POST    /_admin/migrate-failure             ``{"mode": "job"|"error"|"none",
                                            "instanceId": null}``
GET     /_admin/requests?path=&method=      ``{"requests": [...]}``
DELETE  /_admin/requests
GET     /_admin/stats                       (totals, per path and second, peaks)
DELETE  /_admin/stats
======  ==================================  =============================================
"""

from __future__ import annotations

import ipaddress
from typing import Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from simulator.controls import SimulatorControls
from simulator.errors import ApiError

__all__ = ["build_admin_router"]


def _loopback_only(request: Request) -> None:
    host = request.client.host if request.client else ""
    try:
        allowed = ipaddress.ip_address(host).is_loopback
    except ValueError:
        allowed = False
    if not allowed:
        raise ApiError(403, "FORBIDDEN", "admin routes are served to loopback clients only")


class ResetBody(BaseModel):
    """Body of ``POST /_admin/reset``."""

    seed: int | None = None


class ClockBody(BaseModel):
    """Body of ``POST /_admin/clock``: any of the three, applied speed, frozen, advance."""

    speed: float | None = Field(default=None, gt=0)
    frozen: bool | None = None
    advance: float | None = Field(default=None, ge=0)


class LatencyBody(BaseModel):
    """Body of ``POST /_admin/faults/latency``."""

    ms: float = Field(ge=0)
    path: str | None = None


class ErrorsBody(BaseModel):
    """Body of ``POST /_admin/faults/errors``: a count, a rate, or both."""

    count: int | None = Field(default=None, ge=0)
    rate: float | None = Field(default=None, ge=0, le=1)
    status: int = Field(default=503, ge=500, le=599)
    path: str | None = None
    seed: int | None = None


class RateLimitBody(BaseModel):
    """Body of ``POST /_admin/faults/rate-limit``: "next N" 429s, a per-second cap, or both.

    With neither ``count`` nor ``perSecond``, one forced 429 (the route's original meaning).
    """

    count: int | None = Field(default=None, ge=0)
    retryAfter: int = Field(default=1, ge=0)
    path: str | None = None
    perSecond: int | None = Field(default=None, ge=0)
    burst: int | None = Field(default=None, ge=1)
    retryAfterMs: bool = False


class HangBody(BaseModel):
    """Body of ``POST /_admin/faults/hang``."""

    count: int = Field(default=1, ge=0)
    seconds: float = Field(default=5.0, ge=0)
    path: str | None = None


class CapacityBody(BaseModel):
    """Body of ``POST /_admin/capacity``."""

    clusterId: str
    exhausted: bool = True


class AvailabilityBody(BaseModel):
    """Body of ``POST /_admin/products/availability``."""

    clusterId: str
    available: bool
    productId: str | None = None
    productName: str | None = None


class SeedBody(BaseModel):
    """Body of ``POST /_admin/instances/seed``: instances already running or exited."""

    count: int = Field(ge=0, le=100_000)
    namePrefix: str = Field(default="seeded", min_length=1, max_length=200)
    firstIndex: int = Field(default=0, ge=0)
    productId: str = "rtx4090-24g.us-ca-6"
    status: Literal["running", "exited"] = "running"
    billingMode: Literal["onDemand", "spot", "monthly"] = "onDemand"
    reclaimed: bool = False
    ports: str = "8888/http, 7860/http, 22/tcp"
    ageSeconds: float = Field(default=3600.0, ge=0)


class ReclaimBody(BaseModel):
    """Body of ``POST /_admin/instances/{id}/reclaim``."""

    noticeSeconds: float | None = Field(default=None, ge=0)
    immediate: bool = False


class AppHealthBody(BaseModel):
    """Body of ``POST /_admin/instances/{id}/app-health``."""

    mode: Literal["ok", "502", "503", "500", "hang"]
    hangSeconds: float = Field(default=30.0, ge=0)


class MigrateFailureBody(BaseModel):
    """Body of ``POST /_admin/migrate-failure``."""

    mode: Literal["none", "error", "job"]
    instanceId: str | None = None


def _ok(extra: dict[str, Any] | None = None) -> JSONResponse:
    return JSONResponse({"ok": True, **(extra or {})})


def _bad(exc: ValueError) -> ApiError:
    return ApiError(400, "BAD_REQUEST", str(exc))


def build_admin_router(controls: SimulatorControls) -> APIRouter:
    """The ``/_admin`` routes over a controls object (mount with ``prefix="/_admin"``).

    Example:
        >>> from simulator.state import SimulatorState
        >>> router = build_admin_router(SimulatorControls(SimulatorState()))
        >>> "/state" in {r.path for r in router.routes}
        True

    """
    router = APIRouter(dependencies=[Depends(_loopback_only)], include_in_schema=False)

    @router.get("/state")
    async def state() -> JSONResponse:
        return JSONResponse(controls.snapshot())

    @router.post("/reset")
    async def reset(body: ResetBody | None = None) -> JSONResponse:
        controls.reset(body.seed if body else None)
        return _ok()

    @router.get("/clock")
    async def clock() -> JSONResponse:
        return JSONResponse(controls.clock_state())

    @router.post("/clock")
    async def set_clock(body: ClockBody) -> JSONResponse:
        if body.speed is not None:
            controls.set_speed(body.speed)
        if body.frozen is True:
            controls.freeze()
        elif body.frozen is False:
            controls.unfreeze()
        if body.advance:
            controls.advance(body.advance)
        return JSONResponse(controls.clock_state())

    @router.post("/faults/latency")
    async def latency(body: LatencyBody) -> JSONResponse:
        controls.set_latency(body.ms, body.path)
        return _ok()

    @router.post("/faults/errors")
    async def errors(body: ErrorsBody) -> JSONResponse:
        if body.count is None and body.rate is None:
            raise ApiError(400, "BAD_REQUEST", "give count and/or rate")
        if body.count is not None:
            controls.fail_requests(body.count, body.status, body.path)
        if body.rate is not None:
            controls.set_error_rate(body.rate, body.status, body.path, body.seed)
        return _ok()

    @router.post("/faults/rate-limit")
    async def rate_limit(body: RateLimitBody) -> JSONResponse:
        if body.perSecond is not None:
            try:
                controls.set_rate_limit(body.perSecond, body.burst, body.retryAfterMs)
            except ValueError as exc:
                raise _bad(exc) from None
        if body.count is not None or body.perSecond is None:
            count = 1 if body.count is None else body.count
            controls.rate_limit(count, body.retryAfter, body.path)
        return _ok()

    @router.post("/faults/hang")
    async def hang(body: HangBody) -> JSONResponse:
        controls.hang_requests(body.count, body.seconds, body.path)
        return _ok()

    @router.post("/faults/clear")
    async def clear() -> JSONResponse:
        controls.clear_faults()
        return _ok()

    @router.post("/capacity")
    async def capacity(body: CapacityBody) -> JSONResponse:
        controls.set_capacity(body.clusterId, body.exhausted)
        return _ok()

    @router.post("/products/availability")
    async def availability(body: AvailabilityBody) -> JSONResponse:
        try:
            changed = controls.set_product_availability(
                body.clusterId,
                body.available,
                product_id=body.productId,
                product_name=body.productName,
            )
        except ValueError as exc:
            raise _bad(exc) from None
        return _ok({"products": changed})

    @router.post("/instances/seed")
    async def seed(body: SeedBody) -> JSONResponse:
        try:
            seeded = controls.seed_instances(
                body.count,
                name_prefix=body.namePrefix,
                first_index=body.firstIndex,
                product_id=body.productId,
                status=body.status,
                billing_mode=body.billingMode,
                reclaimed=body.reclaimed,
                ports=body.ports,
                age_seconds=body.ageSeconds,
            )
        except ValueError as exc:
            raise _bad(exc) from None
        return JSONResponse({"instances": seeded})

    @router.post("/instances/{instance_id}/reclaim")
    async def reclaim(instance_id: str, body: ReclaimBody | None = None) -> JSONResponse:
        body = body or ReclaimBody()
        try:
            instance = controls.reclaim_spot(instance_id, body.noticeSeconds, body.immediate)
        except ValueError as exc:
            raise _bad(exc) from None
        return JSONResponse(instance)

    @router.post("/instances/{instance_id}/app-health")
    async def app_health(instance_id: str, body: AppHealthBody) -> JSONResponse:
        controls.set_app_health(instance_id, body.mode, body.hangSeconds)
        return _ok()

    @router.post("/migrate-failure")
    async def migrate_failure(body: MigrateFailureBody) -> JSONResponse:
        controls.fail_migrations(body.mode, body.instanceId)
        return _ok()

    @router.get("/requests")
    async def requests(path: str | None = None, method: str | None = None) -> JSONResponse:
        return JSONResponse({"requests": controls.requests(path, method)})

    @router.delete("/requests")
    async def clear_requests() -> JSONResponse:
        controls.clear_requests()
        return _ok()

    @router.get("/stats")
    async def stats() -> JSONResponse:
        return JSONResponse(controls.request_stats())

    @router.delete("/stats")
    async def clear_stats() -> JSONResponse:
        controls.clear_request_stats()
        return _ok()

    return router
