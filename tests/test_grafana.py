"""The Grafana dashboard (deploy/grafana) queries only what the services expose: every metric its
PromQL names is served by catalog's, pilots' or analytics' /metrics, with the labels it selects and
groups by; it is provisioned over the Prometheus data source it refers to. docker-compose.yml's
`observability` profile runs that Prometheus (deploy/prometheus), scraping every process that serves
/metrics with the labels the dashboard reads kept, and Grafana provisioned with both."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
GRAFANA = ROOT / "deploy" / "grafana"
PROMETHEUS = ROOT / "deploy" / "prometheus" / "prometheus.yml"
DASHBOARD = GRAFANA / "dashboards" / "edtech-platform.json"
SERVICES = ("catalog", "pilots", "analytics")

_EXPOSED = """
import json, sys
from prometheus_client import REGISTRY
from services.{service}.app import create_app
create_app()
out = {{}}
for name, collector in REGISTRY._names_to_collectors.items():
    out[name] = sorted(getattr(collector, "_labelnames", ()))
json.dump(out, sys.stdout)
"""


@cache
def exposed(service: str, tmp: str) -> dict[str, list[str]]:
    """Every sample name a service process serves on /metrics, with its labels."""
    env = {
        "PATH": "/usr/bin:/bin",
        f"{service.upper()}_DATABASE_URL": f"sqlite+aiosqlite:///{tmp}/{service}.db",
    }
    done = subprocess.run(
        [sys.executable, "-c", _EXPOSED.format(service=service)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return dict(json.loads(done.stdout))


def expressions(dashboard: dict[str, Any]) -> list[str]:
    """Every PromQL expression of the dashboard: panel targets and template variable queries."""
    found = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", ())]
    for variable in dashboard["templating"]["list"]:
        query = variable["query"]
        found.append(query["query"] if isinstance(query, dict) else query)
    return found


_KEYWORDS = {
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "bool",
    "and",
    "or",
}
_KEYWORDS |= {"unless", "offset", "le"}


def metric_names(expr: str) -> set[str]:
    """The metric names in a PromQL expression (functions, keywords, labels and strings left out)."""
    bare = re.sub(r'"[^"]*"', "", expr)  # strings
    bare = re.sub(r"\{[^}]*\}", "", bare)  # label matchers
    bare = re.sub(r"\[[^\]]*\]", "", bare)  # ranges
    bare = re.sub(r"\b(by|without)\s*\([^)]*\)", "", bare)  # groupings
    bare = re.sub(r"label_values\(\s*([a-zA-Z_:][\w:]*)\s*,[^)]*\)", r"\1", bare)  # Grafana's helper
    names = set()
    for match in re.finditer(r"[a-zA-Z_:][\w:]*", bare):
        rest = bare[match.end() :].lstrip()
        if rest.startswith("(") or match.group() in _KEYWORDS:
            continue  # a function call or a keyword
        names.add(match.group())
    return names


def selected_labels(expr: str) -> list[tuple[str, set[str]]]:
    """(metric, the labels its matchers name) for each selector with matchers."""
    return [
        (m.group(1), {pair.split("=")[0].strip(" !~") for pair in m.group(2).split(",") if pair.strip()})
        for m in re.finditer(r"([a-zA-Z_:][\w:]*)\{([^}]*)\}", expr)
    ]


def grouped_labels(expr: str) -> set[str]:
    """The labels the expression groups by."""
    return {
        label.strip()
        for group in re.findall(r"\bby\s*\(([^)]*)\)", expr)
        for label in group.split(",")
        if label.strip()
    }


def served(tmp: str) -> dict[str, set[str]]:
    """Sample name -> labels, over the three services (counters end in _total, histograms add
    _bucket with `le`, _count and _sum), as Prometheus sees them."""
    out: dict[str, set[str]] = {}
    for service in SERVICES:
        for name, labels in exposed(service, tmp).items():
            out.setdefault(name, set()).update(labels)
            if name.endswith("_bucket"):
                out[name].add("le")
    return out


@pytest.fixture(scope="module")
def samples(tmp_path_factory: pytest.TempPathFactory) -> dict[str, set[str]]:
    """What the services serve."""
    return served(str(tmp_path_factory.mktemp("grafana")))


def test_every_metric_the_dashboard_queries_is_served(samples: dict[str, set[str]]) -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    queried = {name for expr in expressions(dashboard) for name in metric_names(expr)}
    assert len(queried) >= 15, queried
    assert sorted(queried - samples.keys()) == []


def test_the_labels_it_selects_and_groups_by_exist(samples: dict[str, set[str]]) -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    for expr in expressions(dashboard):
        for metric, labels in selected_labels(expr):
            assert labels <= samples[metric], (expr, metric, labels - samples[metric])
        names = metric_names(expr)
        available = set().union(*(samples[name] for name in names))
        assert grouped_labels(expr) <= available, (expr, grouped_labels(expr) - available)


def test_the_metrics_that_matter_are_on_it() -> None:
    queried = {name for expr in expressions(json.loads(DASHBOARD.read_text())) for name in metric_names(expr)}
    assert {
        "analytics_events_ingested_total",
        "analytics_counting_oldest_pending_age_seconds",
        "consumer_lag_messages",
        "outbox_pending_events",
        "outbox_oldest_pending_age_seconds",
        "dead_letter_topic_messages",
        "consumer_dead_letters_total",
        "job_runs_total",
        "job_last_success_timestamp_seconds",
    } <= queried


def test_provisioned_over_the_prometheus_data_source() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    sources = yaml.safe_load((GRAFANA / "provisioning" / "datasources" / "prometheus.yaml").read_text())
    (source,) = sources["datasources"]
    assert source["type"] == "prometheus"
    refs = [p["datasource"] for p in dashboard["panels"] if p["type"] != "row"]
    refs += [t["datasource"] for p in dashboard["panels"] for t in p.get("targets", ())]
    refs += [v["datasource"] for v in dashboard["templating"]["list"]]
    assert refs and all(r == {"type": "prometheus", "uid": source["uid"]} for r in refs)
    providers = yaml.safe_load((GRAFANA / "provisioning" / "dashboards" / "edtech.yaml").read_text())
    (provider,) = providers["providers"]
    assert provider["type"] == "file" and provider["options"]["path"]
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids)) and dashboard["uid"]


def compose() -> dict[str, Any]:
    """docker-compose.yml."""
    return dict(yaml.safe_load((ROOT / "docker-compose.yml").read_text()))


def mounts(service: dict[str, Any]) -> dict[str, str]:
    """A compose service's bind mounts: path in the container -> path in the repository."""
    out = {}
    for volume in service.get("volumes", ()):
        source, target, *_ = volume.split(":")
        if source.startswith("./"):
            out[target] = source[2:]
    return out


def test_prometheus_scrapes_every_process_serving_metrics_in_compose() -> None:
    services = compose()["services"]
    prometheus = services["prometheus"]
    assert prometheus["profiles"] == ["observability"]
    assert mounts(prometheus)["/etc/prometheus/prometheus.yml"] == str(PROMETHEUS.relative_to(ROOT))
    assert "--config.file=/etc/prometheus/prometheus.yml" in prometheus["command"]
    # The processes serving /metrics: the services and the gateway (uvicorn on 8000, the FastAPI apps
    # with install_health), each replica by its compose name.
    serving = {
        name: service["expose"]
        for name, service in services.items()
        if "uvicorn" in service.get("command", ()) and not service.get("profiles")
    }
    assert set(serving) == {*SERVICES, "gateway"}
    (job,) = yaml.safe_load(PROMETHEUS.read_text())["scrape_configs"]
    assert job["metrics_path"] == "/metrics"
    scraped = {(name, str(sd["port"])) for sd in job["dns_sd_configs"] for name in sd["names"]}
    assert all(sd["type"] == "A" for sd in job["dns_sd_configs"])  # every replica's address
    assert scraped == {(name, port) for name, ports in serving.items() for port in ports}


def test_prometheus_keeps_the_labels_the_services_give(samples: dict[str, set[str]]) -> None:
    """The services' metrics carry `job` and `service` labels, which Prometheus's target labels would
    rename exported_job / exported_service (breaking the dashboard's `by (service, job)`) unless the
    scrape honours them."""
    (job,) = yaml.safe_load(PROMETHEUS.read_text())["scrape_configs"]
    carried = set().union(*samples.values())
    targets = {"job", "instance"} | {r["target_label"] for r in job.get("relabel_configs", ())}
    assert carried & targets == {"job", "service"}
    assert job["honor_labels"] is True


def test_grafana_in_compose_is_provisioned_with_the_data_source_and_the_dashboard() -> None:
    services = compose()["services"]
    grafana = services["grafana"]
    assert grafana["profiles"] == ["observability"]
    mounted = mounts(grafana)
    assert mounted["/etc/grafana/provisioning"] == "deploy/grafana/provisioning"
    providers = yaml.safe_load((GRAFANA / "provisioning" / "dashboards" / "edtech.yaml").read_text())
    (provider,) = providers["providers"]
    assert mounted[provider["options"]["path"]] == str(DASHBOARD.parent.relative_to(ROOT))
    (source,) = yaml.safe_load((GRAFANA / "provisioning" / "datasources" / "prometheus.yaml").read_text())[
        "datasources"
    ]
    # The data source's URL is the compose Prometheus, at the port it listens on.
    assert source["url"] == f"http://prometheus:{services['prometheus']['expose'][0]}"
    home = grafana["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert home == f"{provider['options']['path']}/{DASHBOARD.name}"
    # Published on the host's loopback only; signed in with a password the operator sets.
    assert [p.split(":")[0] for p in grafana["ports"]] == ["127.0.0.1"]
    assert grafana["environment"]["GF_AUTH_ANONYMOUS_ENABLED"] == "false"
    assert "GRAFANA_ADMIN_PASSWORD" in grafana["environment"]["GF_SECURITY_ADMIN_PASSWORD"]


def test_the_default_stack_has_no_observability_service() -> None:
    services = compose()["services"]
    optional = {name for name, service in services.items() if service.get("profiles")}
    assert optional == {"prometheus", "grafana"}
    for name, service in services.items():
        if name not in optional:
            assert not set(service.get("depends_on", ())) & optional, name
