"""The nginx configuration of the public edge, rendered from the one definition of the routes
(`services.edge.routes`) and the gateway's settings (`GATEWAY_*`: body caps, timeouts, rate limits).

`python -m services.edge run` renders it and runs nginx on it: `make up` and the end-to-end tests
for processes on loopback, `docker-compose.yml` for the containers (Docker's DNS names each
service's replicas). Nobody edits it by hand.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from services.edge import routes
from services.gateway.config import Settings
from shared.errors import PROBLEM_JSON, ProblemError, problem
from shared.observability import CORRELATION_HEADER, CORRELATION_ID_PATTERN

PROBLEMS: Mapping[int, str] = {
    400: "the request could not be read (a path that climbs above the root, a bad encoding, "
    "headers too large)",
    401: "a bearer token is required (Authorization: Bearer <token>)",
    404: "no such route; the API is under /api/<service>/ (" + ", ".join(routes.SERVICES) + ")",
    405: "the method is not allowed here",
    408: "the request body did not arrive in time",
    413: "the request body exceeds the limit of {limit} bytes ({upload} for file uploads)",
    414: "the request URI is too long",
    429: "too many requests from this client; retry after the time in Retry-After",
    500: "the edge failed to handle the request",
    502: "the service is unreachable (restarting or down); retry shortly",
    503: "the service is unavailable; retry shortly",
    504: "the service did not answer in time",
}
"""What the edge answers by itself, each as problem+json like the services' own answers."""
PROBLEM_LOCATION = "/_edge/problems/"


@dataclass(frozen=True)
class Layout:
    """Where the rendered configuration runs: what it listens on, what it forwards to, where it writes."""

    listen: str
    """`host:port` or a port."""
    upstreams: Mapping[str, Sequence[str]]
    """Each service's replicas (`host:port`), and `gateway`."""
    runtime_dir: str | None = None
    """Holds the pid and temporary files (None: nginx's own defaults, as in a container)."""
    access_log: str = "/dev/stdout"
    error_log: str = "stderr"
    worker_processes: str = "auto"
    user: str | None = None
    """The workers' user when nginx starts as root (they write request bodies to `runtime_dir`)."""


def _literal(text: str) -> str:
    """An nginx quoted string (single quotes; JSON never needs them escaped but may hold `$`)."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _problem_body(status: int, settings: Settings) -> str:
    detail = PROBLEMS[status].format(limit=settings.max_body_bytes, upload=settings.max_upload_bytes)
    doc = _problem_doc(status, detail)
    # `$correlation_id` is the only variable in the body; it is checked against a safe pattern.
    body = json.dumps(doc, separators=(",", ":"))[:-1] + ',"correlation_id":"$correlation_id"}'
    escaped = body.replace("$correlation_id", "\x00").replace("$", "${dollar}")
    return escaped.replace("\x00", "$correlation_id")


def _problem_doc(status: int, detail: str) -> dict[str, object]:
    """The problem document the services' own error class for `status` writes, if they have one."""
    pending = list(ProblemError.__subclasses__())
    while pending:
        cls = pending.pop()
        if cls.status == status:
            return cls(detail).to_problem()
        pending += cls.__subclasses__()
    return problem(status, detail)


def retry_after_s(settings: Settings) -> int:
    """Seconds until a refused client certainly has a new slot: one interval of the slowest rate."""
    slowest = min(settings.api_rate_per_s, settings.webhook_rate_per_s, settings.address_rate_per_s)
    return max(1, math.ceil(1 / slowest))


def render(settings: Settings, layout: Layout) -> str:
    """The whole nginx.conf."""
    out: list[str] = [
        "# Rendered by `python -m services.edge` from services/edge/routes.py and the GATEWAY_* settings.",
        "# Do not edit: change the routes or the settings and render again.",
        f"worker_processes {layout.worker_processes};",
        f"error_log {layout.error_log} warn;",
    ]
    if layout.runtime_dir:
        out.append(f"pid {layout.runtime_dir}/nginx.pid;")
    if layout.user:
        out.append(f"user {layout.user};")
    out += ["events { worker_connections 4096; }", "", "http {"]
    http: list[str] = [
        "server_tokens off;",
        "default_type application/json;",
        'geo $dollar { default "$"; }',
        # The caller's correlation id when it is safe to log and echo, else this request's own id.
        f"map $http_{CORRELATION_HEADER.lower().replace('-', '_')} $correlation_id {{",
        f'    "~^{CORRELATION_ID_PATTERN}$" $http_{CORRELATION_HEADER.lower().replace("-", "_")};',
        "    default $request_id;",
        "}",
        # Per client: the integration a webhook is for; the bearer token (or the address without one).
        "map $uri $webhook_client {",
        f'    "~^{routes.PUBLIC_PREFIXES[0]}(?<integration>[^/]+)" $integration;',
        '    default "";',
        "}",
        "map $http_authorization $api_client {",
        '    "" $binary_remote_addr;',
        "    default $http_authorization;",
        "}",
        # Canvas puts its credential in the URL: never log it.
        "map $uri $logged_path {",
        f'    "~^(?<head>{routes.PUBLIC_PREFIXES[0]}[^/]+/canvas/)[^/]+(?<tail>.*)$" "$head***$tail";',
        "    default $uri;",
        "}",
        f"limit_req_zone $webhook_client zone=webhooks:20m rate={settings.webhook_rate_per_s}r/s;",
        f"limit_req_zone $api_client zone=api:20m rate={settings.api_rate_per_s}r/s;",
        f"limit_req_zone $binary_remote_addr zone=address:10m rate={settings.address_rate_per_s}r/s;",
        "limit_req_status 429;",
        "limit_req_log_level warn;",
        "log_format edge_json escape=json '{'",
        '    \'"time":"$time_iso8601","client":"$remote_addr","method":"$request_method",\'',
        '    \'"path":"$logged_path","status":$status,"bytes_in":$request_length,\'',
        '    \'"bytes_out":$bytes_sent,"duration_s":$request_time,"upstream":"$upstream_addr",\'',
        '    \'"upstream_status":"$upstream_status","upstream_s":"$upstream_response_time",\'',
        '    \'"correlation_id":"$correlation_id","user_agent":"$http_user_agent"}\';',
        f"access_log {layout.access_log} edge_json;",
        "sendfile on;",
        "tcp_nodelay on;",
        "keepalive_timeout 75s;",
        "keepalive_requests 10000;",
        "client_body_buffer_size 256k;",
        f"client_body_timeout {_ms(settings.request_timeout_s)};",
        "large_client_header_buffers 4 16k;",
    ]
    if layout.runtime_dir:
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
            http.append(f"{kind}_temp_path {layout.runtime_dir}/{kind.split('_')[0]}_temp;")
    for name in (*routes.SERVICES, "gateway"):
        http.append(f"upstream {name} {{")
        for server in layout.upstreams[name]:
            # A replica that refuses a connection is skipped for a second; the others take its share.
            http.append(f"    server {server} max_fails=1 fail_timeout=1s;")
        # Idle connections are closed here before uvicorn closes them (its keep-alive is 5 s): a POST
        # sent on a connection the service is closing would fail with nothing to retry it (502).
        http += ["    keepalive 128;", "    keepalive_requests 100000;", "    keepalive_timeout 4s;", "}"]
    http += _server(settings, layout)
    out += ["    " + line if line else "" for line in http]
    out += ["}", ""]
    return "\n".join(out)


def _ms(seconds: float) -> str:
    """A duration as nginx reads it (whole milliseconds; it takes no fractions of a second)."""
    return f"{max(1, round(seconds * 1000))}ms"


def _limit(zone: str, burst: int) -> str:
    """A `limit_req` line: bursts pass at once (`nodelay`), beyond them 429 (nginx has no burst=0)."""
    return f"limit_req zone={zone}{f' burst={burst}' if burst else ''} nodelay;"


def _server(settings: Settings, layout: Layout) -> list[str]:
    header = CORRELATION_HEADER
    tls = settings.tls_cert_file is not None
    lines = [
        "server {",
        f"    listen {layout.listen}{' ssl http2' if tls else ''} backlog=4096;",
        "    merge_slashes on;",
        f"    client_max_body_size {settings.max_body_bytes};",
        "    proxy_http_version 1.1;",
        '    proxy_set_header Connection "";',
        "    proxy_set_header Host $host;",
        # The services see the address nginx saw, not what a client claims in its own header.
        "    proxy_set_header X-Forwarded-For $remote_addr;",
        "    proxy_set_header X-Forwarded-Proto $scheme;",
        f"    proxy_set_header {header} $correlation_id;",
        f"    proxy_hide_header {header};",
        f"    add_header {header} $correlation_id always;",
        f"    proxy_connect_timeout {_ms(settings.connect_timeout_s)};",
        f"    proxy_send_timeout {_ms(settings.request_timeout_s)};",
        f"    proxy_read_timeout {_ms(settings.request_timeout_s)};",
        # Another replica is tried only when a connection failed (nothing was sent yet).
        "    proxy_next_upstream error;",
        "    proxy_next_upstream_tries 3;",
        "    proxy_buffers 16 16k;",
        "    proxy_buffer_size 16k;",
    ]
    if tls:
        lines += [
            f"    ssl_certificate {settings.tls_cert_file};",
            f"    ssl_certificate_key {settings.tls_key_file};",
            "    ssl_protocols TLSv1.2 TLSv1.3;",
            "    ssl_session_cache shared:tls:10m;",
        ]
    if settings.trusted_proxies:
        # The client is the address a trusted load balancer names, for limits and logs alike.
        lines += [f"    set_real_ip_from {proxy};" for proxy in settings.trusted_proxies]
        lines += ["    real_ip_header X-Forwarded-For;", "    real_ip_recursive on;"]
    address = _limit("address", settings.address_burst)
    for status in PROBLEMS:
        lines.append(f"    error_page {status} {PROBLEM_LOCATION}{status};")
    # Public machine endpoints: the service checks the integration's credential.
    for prefix in routes.PUBLIC_PREFIXES:
        service = routes.service_of(prefix)
        lines += [
            f"    location {prefix} {{",
            f"        {_limit('webhooks', settings.webhook_burst)}",
            f"        {address}",
            f"        proxy_pass http://{service}{prefix};",
            "    }",
        ]
    for path in routes.UPLOAD_PATHS:
        service = routes.service_of(path)
        lines += [
            f"    location = {path} {{",
            '        if ($http_authorization !~* "^Bearer [^ ]") { return 401; }',
            f"        {_limit('api', settings.api_burst)}",
            f"        {address}",
            f"        client_max_body_size {settings.max_upload_bytes};",
            "        proxy_request_buffering on;",
            f"        proxy_pass http://{service}{path};",
            "    }",
        ]
    for service in routes.SERVICES:
        # The edge only looks for a bearer token; the service verifies it (README: "the edge").
        lines += [
            f"    location /api/{service}/ {{",
            '        if ($http_authorization !~* "^Bearer [^ ]") { return 401; }',
            f"        {_limit('api', settings.api_burst)}",
            f"        {address}",
            f"        proxy_pass http://{service}/api/{service}/;",
            "    }",
        ]
    for match, path in [("= ", p) for p in routes.GATEWAY_EXACT] + [("", p) for p in routes.GATEWAY_PREFIXES]:
        lines += [
            f"    location {match}{path} {{",
            f"        {address}",
            f"        proxy_pass http://gateway{path};",
            "    }",
        ]
    lines += [
        f"    location = {routes.EDGE_HEALTH} {{",
        "        access_log off;",
        f"        add_header {header} $correlation_id always;",
        """        return 200 '{"status":"ok"}';""",
        "    }",
        "    location = / { return 302 /docs; }",
        "    location / { return 404; }",
    ]
    for status in PROBLEMS:
        lines += [
            # A URI, not a named location: a request whose line could not be read has no URI to keep.
            f"    location = {PROBLEM_LOCATION}{status} {{",
            "        internal;",
            f"        default_type {PROBLEM_JSON};",
            f"        add_header {header} $correlation_id always;",
        ]
        if status == 401:
            lines.append("        add_header WWW-Authenticate Bearer always;")
        if status == 429:
            lines.append(f"        add_header Retry-After {retry_after_s(settings)} always;")
        lines += [f"        return {status} {_literal(_problem_body(status, settings))};", "    }"]
    lines.append("}")
    return lines
