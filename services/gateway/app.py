"""The gateway's app factory: one OpenAPI and /docs, dev tokens, and the embedded default's edge
(auth, routing, limits: `services.gateway.proxy`); in the distributed mode nginx is the edge."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Annotated, Any

import httpx
from fastapi import APIRouter, Body, Depends, FastAPI
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from services.edge.routes import SERVICES as UPSTREAMS
from services.gateway.config import Settings
from services.gateway.openapi import OpenAPIAggregator
from services.gateway.pages import install_pages
from services.gateway.proxy import ApiProxy
from services.gateway.signin.housekeeping import housekeeping_job
from services.gateway.signin.providers.router import router as providers_router
from services.gateway.signin.router import router as signin_router
from services.gateway.signin.runtime import SignIn
from shared.apidocs import install_docs
from shared.auth import DevIssuer, TokenVerifier
from shared.config import Role
from shared.errors import install_problem_handlers
from shared.observability import RequestContextMiddleware, configure_logging
from shared.openapi import install_openapi
from shared.service import VERSION, build_verifier, install_health
from shared.validation import refuse_bad_input


class DevTokenRequest(BaseModel):
    """Who the development token is for."""

    model_config = ConfigDict(extra="forbid")

    district_id: str = Field(default="demo-district", min_length=1, max_length=64)
    roles: list[Role] = Field(default_factory=lambda: ["edtech"], min_length=1)  # type: ignore[arg-type]
    subject: str = Field(default="dev-user", min_length=1, max_length=200)
    name: str | None = None
    email: str | None = None
    ttl_minutes: int = Field(default=480, ge=1, le=7 * 24 * 60)


class DevTokenResponse(BaseModel):
    """A bearer token minted by the development issuer."""

    access_token: str
    token_type: str = "Bearer"  # noqa: S105 (the scheme name, not a secret)
    expires_in: int


def _dev_router(issuer: DevIssuer) -> APIRouter:
    router = APIRouter(prefix="/auth/dev", tags=["development auth"])

    @router.post("/token", response_model=DevTokenResponse)
    async def mint_token(body: Annotated[DevTokenRequest, Body()]) -> DevTokenResponse:
        """Mint a development token (only when the dev issuer is enabled; never in production)."""
        token = issuer.mint(
            subject=body.subject,
            district_id=body.district_id,
            roles=list(body.roles),
            name=body.name,
            email=body.email,
            ttl=dt.timedelta(minutes=body.ttl_minutes),
        )
        return DevTokenResponse(access_token=token, expires_in=body.ttl_minutes * 60)

    @router.get("/jwks.json")
    async def jwks() -> dict[str, Any]:
        """The development issuer's public keys."""
        return issuer.jwks()

    @router.get("/.well-known/openid-configuration")
    async def discovery() -> dict[str, Any]:
        """Minimal OIDC discovery document of the development issuer."""
        return {
            "issuer": issuer.issuer,
            "jwks_uri": f"{issuer.issuer}/jwks.json",
            "id_token_signing_alg_values_supported": ["RS256"],
        }

    return router


def create_app(
    settings: Settings | None = None,
    *,
    transports: Mapping[str, httpx.AsyncBaseTransport] | None = None,
    verifier: TokenVerifier | None = None,
    idp_http: httpx.AsyncClient | None = None,
) -> FastAPI:
    """Build the gateway (uvicorn: `services.gateway.app:create_app --factory`).

    `transports` maps a service to an in-process transport (the embedded default); otherwise the
    services are reached over HTTP at their configured URLs (the OpenAPI documents and readiness in
    the distributed mode, where nginx forwards `/api/`; or a gateway run on its own). `idp_http`
    reaches the districts' identity providers (a client of its own by default).
    """
    settings = settings or Settings()
    mounts = {f"{settings.upstream_url(s)}": t for s, t in (transports or {}).items()}
    client = httpx.AsyncClient(
        mounts=mounts or None,
        limits=httpx.Limits(max_connections=settings.max_connections),
        timeout=httpx.Timeout(settings.request_timeout_s, connect=settings.connect_timeout_s),
    )
    signin = SignIn(settings, idp_http=idp_http)
    verifier = verifier or build_verifier(settings, local_issuers=[signin.issuer])
    aggregator = OpenAPIAggregator(settings, client)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        configure_logging(level=settings.log_level, json=settings.json_logs)
        housekeeping = asyncio.create_task(housekeeping_job(signin), name="signin-housekeeping")
        try:
            yield
        finally:
            housekeeping.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await housekeeping
            await client.aclose()
            await verifier.aclose()
            await signin.aclose()

    app = FastAPI(
        title="EdTech Platform",
        version=VERSION,
        lifespan=lifespan,
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
        dependencies=[Depends(refuse_bad_input)],
        description="Catalog and vetting, classroom pilots and LMS usage analytics "
        "for school districts' educational technologists.",
    )
    app.state.settings = settings
    app.state.http = client
    """Reaches every service (in process in the embedded default): the pages fetch their data with it."""
    app.state.signin = signin
    app.state.verifier = verifier

    async def ready() -> dict[str, str]:
        async def database() -> str:
            try:
                await signin.db.ping()
                return "ok"
            except Exception as exc:
                return f"unavailable: {type(exc).__name__}"

        async def probe(service: str) -> str:
            try:
                r = await client.get(f"{settings.upstream_url(service)}/health/live", timeout=2)
                return "ok" if r.status_code == 200 else f"unhealthy: {r.status_code}"
            except Exception as exc:
                return f"unavailable: {type(exc).__name__}"

        results = await asyncio.gather(database(), *(probe(s) for s in UPSTREAMS))
        return dict(zip(("database", *UPSTREAMS), results, strict=True))

    install_health(app, ready)

    app.include_router(signin_router)
    app.include_router(providers_router)
    if settings.auth_dev_issuer and verifier.dev_issuer is not None:
        app.include_router(_dev_router(verifier.dev_issuer))

    @app.get("/openapi.json", include_in_schema=False)
    async def openapi() -> JSONResponse:
        """The combined OpenAPI document of every service."""
        base = {
            "openapi": "3.1.0",
            "info": {"title": app.title, "version": app.version, "description": app.description},
            "paths": {},
        }
        return JSONResponse(await aggregator.document(base, own=app.openapi()))

    install_openapi(app)  # its own routes (sign-in) documented as the services' are
    install_docs(app, openapi_url="/openapi.json", title="EdTech Platform API")
    install_pages(app)
    app.add_middleware(ApiProxy, settings=settings, client=client, verifier=verifier)
    install_problem_handlers(app)  # after the proxy: its unexpected errors are answered too
    app.add_middleware(RequestContextMiddleware, service="gateway")
    return app
