"""What a service's OpenAPI document says it answers, completed in one place.

FastAPI documents each route's success answer; `complete_document` adds, for every operation, the
RFC 9457 problem+json answers it can give (one shared `Problem` schema) and an example for every
request body and response. One rule for each status:

- 400: it takes a body (one that cannot be read as its media type: not UTF-8 JSON, a broken
  multipart), or its code raises `BadRequest`.
- 401, 403, 409, 413, 415: the operation's code (its endpoint and dependencies, followed into
  the functions, classes and modules of this project they name) raises that `ProblemError`
  (`Unauthorized` is raised by `get_principal`, `Forbidden` by `require_roles`).
- 404: it has path parameters (an id naming nothing in the caller's district, or a value that
  matches no route), or its code raises `NotFound`.
- 422: it takes parameters or a body (validated input), or its code raises `Unprocessable`.
- 500: always; the problem carries the correlation id the error is logged under.

The gateway adds what it answers itself (services/gateway/openapi.py) with `add_problem`.
The nginx edge of the distributed mode rate-limits every route, so the gateway declares 429 too.
"""

from __future__ import annotations

import builtins
import functools
import inspect
import types
from collections.abc import Callable, Iterable, Iterator
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts

from shared.errors import PROBLEM_JSON, ProblemError, problem
from shared.examples import Examples
from shared.observability import CORRELATION_HEADER

METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}

PROBLEM_SCHEMAS: dict[str, Any] = {
    "Problem": {
        "title": "Problem",
        "description": "An RFC 9457 problem document: every error of this API is one "
        "(`application/problem+json`). Members beyond these are extensions of the problem type.",
        "type": "object",
        "required": ["type", "title", "status", "detail"],
        "properties": {
            "type": {"type": "string", "format": "uri", "description": "The problem type."},
            "title": {"type": "string", "description": "The status's reason phrase."},
            "status": {"type": "integer", "minimum": 100, "maximum": 599},
            "detail": {"type": "string", "description": "What went wrong, for a person to read."},
            "instance": {"type": "string", "description": "The path of the request."},
            "errors": {
                "type": "array",
                "description": "The fields at fault (validation and bad-request problems).",
                "items": {"$ref": "#/components/schemas/ProblemFieldError"},
            },
            "correlation_id": {
                "type": "string",
                "description": "The id the error is logged under (500 only; also the "
                f"`{CORRELATION_HEADER}` header of every answer).",
            },
        },
        "additionalProperties": True,
    },
    "ProblemFieldError": {
        "title": "ProblemFieldError",
        "type": "object",
        "required": ["field", "message"],
        "properties": {
            "field": {"type": "string", "description": "Dotted path of the field (`body` for the whole)."},
            "message": {"type": "string"},
            "type": {"type": "string", "description": "The validation rule that failed."},
        },
        "additionalProperties": True,
    },
}

DESCRIPTIONS: dict[int, str] = {
    400: "The request cannot be read as what it claims to be (`errors` names the field).",
    401: "No valid bearer token (`WWW-Authenticate` names the scheme to use).",
    403: "The caller's roles do not allow this.",
    404: "Nothing with this id in the caller's district, or no such path.",
    409: "The current state of the resource does not allow this.",
    413: "The request body is over the size limit.",
    415: "The request body is not of a media type this operation takes.",
    422: "The input breaks a rule: `errors` names each field at fault.",
    429: "Too many requests from this client (`Retry-After` says when to try again).",
    500: "An unexpected error; it is logged under the `correlation_id` of the answer.",
    502: "The service behind the gateway is unreachable.",
    504: "The service behind the gateway did not answer in time.",
}


@functools.cache
def _slugs() -> dict[int, str]:
    """The problem type slug of each status, from the `ProblemError` hierarchy."""
    out: dict[int, str] = {}
    pending = list(ProblemError.__subclasses__())
    while pending:
        cls = pending.pop()
        out.setdefault(cls.status, cls.slug)
        pending.extend(cls.__subclasses__())
    return out


def problem_example(status: int, *, path: str = "/api/...", detail: str | None = None) -> dict[str, Any]:
    """The problem document an operation answers with `status`, as an example."""
    extra: dict[str, Any] = {}
    if status in (400, 422):
        extra["errors"] = [{"field": "name", "message": "String should have at least 1 character"}]
    if status == 500:
        extra["correlation_id"] = "0b6f1e0e-3c1b-4c55-9a63-5b2f1a3e9d10"
    text = detail or DESCRIPTIONS.get(status) or HTTPStatus(status).phrase
    return problem(status, text, slug=_slugs().get(status), instance=path, **extra)


def add_problem(operation: dict[str, Any], status: int, *, path: str, description: str | None = None) -> None:
    """Declare that `operation` can answer `status` as problem+json (keeps a description it has)."""
    responses: dict[str, Any] = operation.setdefault("responses", {})
    response: dict[str, Any] = responses.setdefault(str(status), {})
    response.setdefault("description", description or DESCRIPTIONS.get(status, HTTPStatus(status).phrase))
    response["content"] = {
        PROBLEM_JSON: {"schema": PROBLEM_REF, "example": problem_example(status, path=path)}
    }
    response.setdefault("headers", {})[CORRELATION_HEADER] = {
        "description": "The request's correlation id (the one sent, or a new one).",
        "schema": {"type": "string"},
    }
    if status == 429:
        response["headers"]["Retry-After"] = {
            "description": "Seconds to wait before trying again.",
            "schema": {"type": "integer", "minimum": 1},
        }


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(path, method, operation) of every operation of `document`."""
    for path, item in document.get("paths", {}).items():
        for method in METHODS:
            if isinstance(item.get(method), dict):
                yield path, method, item[method]


def complete_document(document: dict[str, Any], routes: Iterable[Any]) -> dict[str, Any]:
    """Add the problem answers (module docstring) and examples to a FastAPI-generated document."""
    raised = {
        (route.path_format, method.lower()): raised_statuses(route)
        for route in iter_route_contexts(list(routes))
        if isinstance(route.original_route, APIRoute) and route.include_in_schema
        for method in route.methods or ()
    }
    schemas: dict[str, Any] = document.setdefault("components", {}).setdefault("schemas", {})
    schemas.update(PROBLEM_SCHEMAS)
    for path, method, operation in operations(document):
        statuses = set(raised.get((path, method), set())) | {500}
        parameters = operation.get("parameters", [])
        if any(p.get("in") == "path" for p in parameters):
            statuses.add(404)
        if parameters or "requestBody" in operation:
            statuses.add(422)
        if "requestBody" in operation:
            statuses.add(400)  # a body that cannot be read (not UTF-8 JSON, broken multipart)
        for status, response in operation.get("responses", {}).items():
            if status.isdigit() and int(status) >= 400 and not response.get("content"):
                statuses.add(int(status))  # declared by the route without a body: it is a problem too
        if operation.get("responses", {}).get("422", {}).get("description") == "Validation Error":
            del operation["responses"]["422"]  # FastAPI's own; declared again below as a Problem
        for status in sorted(statuses):
            add_problem(operation, status, path=path)
    for name in ("HTTPValidationError", "ValidationError"):  # FastAPI's 422, replaced by Problem
        schemas.pop(name, None)
    add_examples(document)
    return document


def add_examples(document: dict[str, Any]) -> None:
    """Give every request body and response content of `document` an example (kept if it has one)."""
    builder = Examples(document.get("components", {}).get("schemas", {}))
    for _, _, operation in operations(document):
        bodies = [operation.get("requestBody", {}), *operation.get("responses", {}).values()]
        for body in bodies:
            for media in body.get("content", {}).values():
                if "example" not in media and "examples" not in media:
                    media["example"] = builder.build(media.get("schema", {}))


def install_openapi(app: FastAPI) -> None:
    """Make `app.openapi()` return the completed document (built once per set of routes)."""
    generate = app.openapi
    completed: list[int] = []

    def openapi() -> dict[str, Any]:
        document = generate()
        if completed != [id(document)]:
            complete_document(document, app.routes)
            completed[:] = [id(document)]
        return document

    app.openapi = openapi  # type: ignore[method-assign]


def raised_statuses(route: APIRoute | RouteContext) -> set[int]:
    """The statuses of the `ProblemError`s the route's endpoint and dependencies can raise."""
    calls: list[Any] = []
    pending = [route.dependant]
    while pending:
        dependant = pending.pop()
        if dependant.call is not None:
            calls.append(dependant.call)
        pending.extend(dependant.dependencies)
    return {cls.status for cls in reachable_problems(calls)}


def _ours(obj: Any) -> bool:
    module = getattr(obj, "__module__", None) or ""
    return module.split(".", 1)[0] in ("services", "shared")


def _code_objects(code: types.CodeType) -> Iterator[types.CodeType]:
    yield code
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _code_objects(const)


def reachable_problems(roots: Iterable[Callable[..., Any]]) -> set[type[ProblemError]]:
    """The `ProblemError` classes named by `roots` or by what they name, transitively.

    Follows global names (and attributes of modules named) in the code of this project's functions
    and the methods of its classes. It over-approximates (a name caught is counted as raised),
    which is the safe side for documentation: an undeclared answer is the error to avoid.
    """
    found: set[type[ProblemError]] = set()
    seen: set[int] = set()
    stack: list[Any] = list(roots)
    while stack:
        obj = stack.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        if isinstance(obj, type):
            if issubclass(obj, ProblemError):
                found.add(obj)
            elif _ours(obj):
                for klass in obj.__mro__:
                    if _ours(klass):
                        stack.extend(vars(klass).values())
            continue
        if isinstance(obj, staticmethod | classmethod):
            stack.append(obj.__func__)
        elif isinstance(obj, property):
            stack.extend(f for f in (obj.fget, obj.fset, obj.fdel) if f is not None)
        elif isinstance(obj, functools.partial):
            stack.append(obj.func)
        elif inspect.ismethod(obj):
            stack.append(obj.__func__)
        elif inspect.isfunction(obj) and _ours(obj):
            stack.extend(_named_by(obj))
        elif isinstance(obj, dict):
            stack.extend(obj.values())  # dispatch tables: {format: parser, ...}
        elif isinstance(obj, list | tuple | set | frozenset):
            stack.extend(obj)
        elif callable(obj) and _ours(type(obj)):
            stack.append(type(obj))  # an instance used as a dependency: its class's methods
    return found


def _named_by(func: types.FunctionType) -> Iterator[Any]:
    wrapped = getattr(func, "__wrapped__", None)
    if wrapped is not None:
        yield wrapped
    for cell in func.__closure__ or ():
        try:
            yield cell.cell_contents
        except ValueError:  # an empty cell
            continue
    namespace = func.__globals__
    for code in _code_objects(func.__code__):
        names = code.co_names
        for name in names:
            target = namespace.get(name, getattr(builtins, name, None))
            if isinstance(target, types.ModuleType):
                yield from _module_attributes(target, names)
            elif target is not None:
                yield target


def _module_attributes(module: types.ModuleType, names: tuple[str, ...]) -> Iterator[Any]:
    """The attributes of `module` (and of submodules reached through it) that `names` spell."""
    pending = [module]
    visited: set[str] = set()
    while pending:
        current = pending.pop()
        if current.__name__ in visited:
            continue
        visited.add(current.__name__)
        for name in names:
            value = getattr(current, name, None)
            if isinstance(value, types.ModuleType):
                pending.append(value)
            elif value is not None:
                yield value
