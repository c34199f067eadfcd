"""The FastAPI application: the Novita GPU-instance API routes and the app factory.

Routes live under ``/gpu-instance/openapi/v1`` (see :data:`simulator.gateway.API_PREFIX`)
with the live API's verbs and shapes: reads are GET with query parameters, every mutation
is a POST with a JSON body, success bodies are not wrapped, and every error is the
``{"code", "reason", "message", "metadata"}`` envelope (query-parameter errors included:
400 ``VALIDATOR_PARAM`` naming the parameter, never FastAPI's 422).

:func:`create_app` also mounts the admin routes (``/_admin``), the instance endpoints
(``/_endpoints``) and starts the shared TCP listener with the app's lifespan.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from simulator.admin import build_admin_router
from simulator.controls import SimulatorControls
from simulator.endpoints import build_endpoints_router, start_tcp_listener
from simulator.errors import ApiError, envelope, validator_param
from simulator.gateway import API_PREFIX, ApiGateway
from simulator.state import SimulatorState
from simulator.validation import require_instance_id

__all__ = ["build_api_router", "create_app"]

logger = logging.getLogger(__name__)


async def _json_body(request: Request) -> Any:
    raw = await request.body()
    if not raw:
        return {}
    try:
        return json.loads(raw)
    except ValueError:
        raise validator_param("body", "must be valid JSON") from None


def build_api_router(state: SimulatorState) -> APIRouter:
    """The Novita API routes, relative to the API base.

    Example:
        >>> sorted(r.path for r in build_api_router(SimulatorState()).routes)[:2]
        ['/clusters', '/gpu/instance']

    """
    # Query parameters keep Novita's camelCase names: FastAPI reads them by parameter name.
    router = APIRouter()

    @router.get("/clusters")
    async def clusters() -> JSONResponse:
        return JSONResponse({"data": state.list_clusters()})

    @router.get("/products")
    async def products(
        clusterId: str = "",
        gpuNum: int = 0,
        productName: str = "",
        billingMethod: str = "",
        minCpuPerGpu: int = 0,
        minMemoryPerGpu: int = 0,
        minRootFSSize: int = 0,
    ) -> JSONResponse:
        data = state.list_products(
            cluster_id=clusterId,
            gpu_num=gpuNum,
            product_name=productName,
            billing_method=billingMethod,
            min_cpu_per_gpu=minCpuPerGpu,
            min_memory_per_gpu=minMemoryPerGpu,
            min_rootfs_size=minRootFSSize,
        )
        return JSONResponse({"data": data})

    @router.post("/gpu/instance/create")
    async def create(request: Request) -> JSONResponse:
        return JSONResponse({"id": state.create_instance(await _json_body(request))})

    @router.get("/gpu/instance")
    async def get_instance(instanceId: str = "") -> JSONResponse:
        return JSONResponse(state.get_instance(instanceId))

    @router.get("/gpu/instances")
    async def list_instances(
        pageSize: int = 10,
        pageNum: int = 0,
        name: str = "",
        productName: str = "",
        status: str = "",
    ) -> JSONResponse:
        return JSONResponse(
            state.list_instances(
                page_size=pageSize,
                page_num=pageNum,
                name=name,
                product_name=productName,
                status=status,
            )
        )

    @router.post("/gpu/instance/start")
    async def start(request: Request) -> JSONResponse:
        return JSONResponse(state.start(require_instance_id(await _json_body(request))))

    @router.post("/gpu/instance/stop")
    async def stop(request: Request) -> JSONResponse:
        return JSONResponse(state.stop(require_instance_id(await _json_body(request))))

    @router.post("/gpu/instance/restart")
    async def restart(request: Request) -> JSONResponse:
        return JSONResponse(state.restart(require_instance_id(await _json_body(request))))

    @router.post("/gpu/instance/delete")
    async def delete(request: Request) -> JSONResponse:
        return JSONResponse(state.delete(require_instance_id(await _json_body(request))))

    @router.post("/gpu/instance/migrate")
    async def migrate(request: Request) -> JSONResponse:
        return JSONResponse(state.migrate(require_instance_id(await _json_body(request))))

    @router.get("/jobs")
    async def jobs(
        job_type: str = Query("", alias="type"),
        job_state: str = Query("", alias="state"),
        jobId: str = "",
        pageSize: int = 10,
        pageNum: int = 0,
    ) -> JSONResponse:
        return JSONResponse(
            state.list_jobs(
                job_type=job_type,
                state=job_state,
                job_id=jobId,
                page_size=pageSize,
                page_num=pageNum,
            )
        )

    @router.get("/template")
    async def template(templateId: str = "") -> JSONResponse:
        return JSONResponse({"template": state.get_template(templateId)})

    @router.get("/repository/auths")
    async def registry_auths() -> JSONResponse:
        return JSONResponse({"data": state.list_registry_auths()})

    return router


def _install_error_handlers(app: FastAPI) -> None:
    async def api_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiError)
        return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers)

    async def bad_params(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        errors = exc.errors()
        field = str(errors[0]["loc"][-1]) if errors and errors[0].get("loc") else "request"
        problem = errors[0].get("msg", "invalid value") if errors else "invalid value"
        return JSONResponse(validator_param(field, problem).body(), status_code=400)

    async def http_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        reason = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}.get(exc.status_code, "REQUEST")
        return JSONResponse(
            envelope(exc.status_code, reason, str(exc.detail)), status_code=exc.status_code
        )

    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(RequestValidationError, bad_params)
    app.add_exception_handler(StarletteHTTPException, http_error)


def create_app(
    state: SimulatorState,
    *,
    tcp_host: str = "127.0.0.1",
    tcp_port: int = 0,
    serve_tcp: bool = True,
) -> FastAPI:
    """Build the simulator's ASGI app around a state.

    Args:
        state: The simulated account (its ``public_base`` should be set to where the app
            is served, so that endpoint URLs point back at it).
        tcp_host: Interface of the shared TCP listener of tcp port mappings.
        tcp_port: Its port; 0 picks a free one at startup.
        serve_tcp: Start that listener with the app (off for apps never served).

    Example:
        >>> app = create_app(SimulatorState(), serve_tcp=False)
        >>> app.title
        'Novita GPU-instance API simulator'

    """

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        listener = None
        if serve_tcp:
            listener = await start_tcp_listener(tcp_host, tcp_port)
            bound_port = listener.sockets[0].getsockname()[1]
            advertised = "127.0.0.1" if tcp_host in ("0.0.0.0", "", "::") else tcp_host
            state.set_addresses(state.public_base, f"{advertised}:{bound_port}")
        try:
            yield
        finally:
            if listener is not None:
                listener.close()

    app = FastAPI(
        title="Novita GPU-instance API simulator",
        lifespan=lifespan,
        docs_url="/_docs",
        redoc_url=None,
        openapi_url="/_openapi.json",
    )
    app.include_router(build_api_router(state), prefix=API_PREFIX)
    app.include_router(build_admin_router(SimulatorControls(state)), prefix="/_admin")
    app.include_router(build_endpoints_router(state))
    _install_error_handlers(app)
    app.add_middleware(ApiGateway, state=state)
    return app
