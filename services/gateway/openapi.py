"""One OpenAPI document for the whole platform, merged from the services' own documents."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import structlog

from services.edge import routes
from services.edge.routes import SERVICES as UPSTREAMS
from services.gateway.config import Settings
from shared.openapi import PROBLEM_SCHEMAS, add_problem, operations

log = structlog.get_logger(__name__)
REF_PREFIX = "#/components/schemas/"


def _rename_refs(node: Any, renames: dict[str, str]) -> Any:
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and value.startswith(REF_PREFIX):
                name = value[len(REF_PREFIX) :]
                out[key] = REF_PREFIX + renames.get(name, name)
            else:
                out[key] = _rename_refs(value, renames)
        return out
    if isinstance(node, list):
        return [_rename_refs(v, renames) for v in node]
    return node


def merge_documents(base: dict[str, Any], documents: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Merge service documents into `base`; schema names that clash get the service as prefix."""
    merged = dict(base)
    paths: dict[str, Any] = dict(base.get("paths", {}))
    schemas: dict[str, Any] = dict(base.get("components", {}).get("schemas", {}))
    security: dict[str, Any] = dict(base.get("components", {}).get("securitySchemes", {}))
    tags: list[dict[str, Any]] = list(base.get("tags", []))
    for service, doc in documents.items():
        own = doc.get("components", {}).get("schemas", {})
        renames: dict[str, str] = {}
        changed = True
        while changed:  # a schema naming a renamed one differs too (Page[LicenseRead] of two services)
            changed = False
            for name, schema in own.items():
                if name in renames or name not in schemas:
                    continue
                if schemas[name] != _rename_refs(schema, renames):
                    renames[name] = f"{service.capitalize()}{name}"
                    changed = True
        doc = _rename_refs(doc, renames)
        for name, schema in doc.get("components", {}).get("schemas", {}).items():
            schemas[renames.get(name, name)] = schema
        security.update(doc.get("components", {}).get("securitySchemes", {}))
        for path, item in doc.get("paths", {}).items():
            for operation in item.values():
                if isinstance(operation, dict):
                    operation["tags"] = [f"{service}: {t}" for t in operation.get("tags", [])] or [service]
            paths[path] = item
        tags.append({"name": service, "description": doc.get("info", {}).get("description", "")})
    merged["paths"] = dict(sorted(paths.items()))
    merged["components"] = {"schemas": dict(sorted(schemas.items())), "securitySchemes": security}
    merged["tags"] = tags
    return merged


def declare_gateway_answers(document: dict[str, Any]) -> dict[str, Any]:
    """Add what the edge answers itself, in front of every service: 401 without a token (except on
    public paths), 413 for a body over its limit, 429 over a rate limit (the nginx edge), 502 and
    504 for a service that is unreachable or too slow (the gateway's own routes: 413 and 429), 414
    for a request line over its limit where a query can make one."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for name, schema in PROBLEM_SCHEMAS.items():
        schemas.setdefault(name, schema)
    for path, _, operation in operations(document):
        own = path.startswith(routes.GATEWAY_PREFIXES)  # the gateway answers these itself
        statuses = {429} if own else {429, 502, 504}
        if not routes.is_public(path) and not own:
            statuses.add(401)
        if "requestBody" in operation:
            statuses.add(413)
        if any(p.get("in") == "query" for p in operation.get("parameters", [])):
            statuses.add(414)  # a request line over the edge's 16 KiB (repeated parameters)
        for status in sorted(statuses):
            if str(status) not in operation.get("responses", {}):
                add_problem(operation, status, path=path)
    return document


class OpenAPIAggregator:
    """Fetches and merges the services' documents, cached for a while."""

    def __init__(self, settings: Settings, client: httpx.AsyncClient) -> None:
        self.settings = settings
        self.client = client
        self._cached: tuple[float, dict[str, Any]] | None = None

    async def _fetch(self, service: str) -> dict[str, Any] | None:
        url = f"{self.settings.upstream_url(service)}/api/{service}/openapi.json"
        try:
            response = await self.client.get(url, timeout=5)
            response.raise_for_status()
            doc: dict[str, Any] = response.json()
            return doc
        except Exception as exc:
            log.warning("openapi_fetch_failed", service=service, error=repr(exc))
            return None

    async def document(self, base: dict[str, Any], own: dict[str, Any] | None = None) -> dict[str, Any]:
        """The combined document, the gateway's `own` routes (sign-in) first; services that are down
        are listed in `x-unavailable`."""
        now = time.monotonic()
        if self._cached and now - self._cached[0] < self.settings.openapi_cache_s:
            return self._cached[1]
        fetched = await asyncio.gather(*(self._fetch(s) for s in UPSTREAMS))
        documents = {s: d for s, d in zip(UPSTREAMS, fetched, strict=True) if d is not None}
        if own is not None:
            documents = {"gateway": own, **documents}
        merged = declare_gateway_answers(merge_documents(base, documents))
        missing = [s for s, d in zip(UPSTREAMS, fetched, strict=True) if d is None]
        if missing:
            merged["x-unavailable"] = missing
        else:
            self._cached = (now, merged)
        return merged
