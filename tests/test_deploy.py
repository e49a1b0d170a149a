"""The Kubernetes manifests (deploy/k8s), checked offline: each resource against the Kubernetes
schemas (kubernetes-validate, strict: no unknown field), and against the project: a Deployment,
Service and migration Job per service with probes and resources, a migration Job per schema (the
gateway's too) run with its process's settings and role, settings that exist and that each process
accepts in production, one platform issuer, the edge started from the same routes as everywhere
else, analytics autoscaled, one version, and every process serving /metrics scraped by the
Prometheus job of prometheus.yaml (its relabelling applied to each pod as Prometheus would)."""

from __future__ import annotations

import importlib
import os
import re
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from services.edge import routes
from shared import VERSION
from shared.migrations import SCHEMAS, SERVICES_WITH_DATABASE
from shared.settings_doc import PROCESSES, env_names

K8S = Path(__file__).resolve().parents[1] / "deploy" / "k8s"
KUBERNETES_VERSION = "1.31.0"
"""The oldest Kubernetes release still supported upstream when these manifests were written."""


def documents() -> list[tuple[str, dict[str, Any]]]:
    """(file name, resource) of every manifest."""
    found = []
    for path in sorted(K8S.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc:
                found.append((path.name, doc))
    return found


def of_kind(kind: str) -> dict[str, dict[str, Any]]:
    """The resources of a kind, by name."""
    return {d["metadata"]["name"]: d for _, d in documents() if d["kind"] == kind}


@pytest.mark.parametrize(
    "name,resource",
    [(f"{n}:{d['kind']}/{d['metadata']['name']}", d) for n, d in documents() if d["kind"] != "Kustomization"],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_every_resource_is_valid_against_the_kubernetes_schemas(name: str, resource: dict[str, Any]) -> None:
    kubernetes_validate.validate(resource, KUBERNETES_VERSION, strict=True)


def test_kustomization_lists_every_manifest_but_the_secret_example() -> None:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    files = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml", "secret.example.yaml"}
    assert set(kustomization["resources"]) == files
    assert kustomization["images"] == [{"name": "edtech-platform", "newTag": VERSION}]


def _container(deployment: dict[str, Any]) -> dict[str, Any]:
    containers = deployment["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    container: dict[str, Any] = containers[0]
    return container


def test_each_service_has_a_deployment_with_probes_and_resources_a_service_and_a_migration_job() -> None:
    deployments, services, jobs = of_kind("Deployment"), of_kind("Service"), of_kind("Job")
    for name in (*SERVICES_WITH_DATABASE, "gateway", "edge"):
        container = _container(deployments[name])
        assert {"livenessProbe", "readinessProbe"} <= set(container), name
        assert container["resources"]["requests"]["memory"] and container["resources"]["limits"]["memory"]
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert name in services
    for name in SERVICES_WITH_DATABASE:
        assert _container(deployments[name])["readinessProbe"]["httpGet"]["path"] == "/health/ready"
    # The gateway's /health/ready probes the three services: its readiness must not follow theirs.
    assert _container(deployments["gateway"])["readinessProbe"]["httpGet"]["path"] == "/health/live"
    assert set(jobs) == {f"{schema}-migrate" for schema in SCHEMAS}
    for schema in SCHEMAS:
        job = jobs[f"{schema}-migrate"]
        migrate = _container(job)
        assert migrate["command"] == ["python", "-m", "shared.migrate", "upgrade", schema]
        assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
        assert migrate["securityContext"]["readOnlyRootFilesystem"] is True
        # The same settings and the same database role as the process that uses the schema.
        serving = _container(deployments[schema])
        assert migrate["envFrom"] == serving["envFrom"], schema
        assert migrate["env"] == serving["env"], schema
        assert _secret_key(migrate, f"{schema.upper()}_DATABASE_URL") == f"{schema}-database-url"
    for _, resource in documents():
        for container in resource.get("spec", {}).get("template", {}).get("spec", {}).get("containers", []):
            assert container["image"] == f"edtech-platform:{VERSION}"


def _secret_key(container: dict[str, Any], name: str) -> str | None:
    """The key of edtech-secrets an environment variable of the container is read from."""
    for env in container.get("env", []):
        if env["name"] == name:
            ref = env.get("valueFrom", {}).get("secretKeyRef")
            return None if ref is None else str(ref["key"])
    return None


def _environment(container: dict[str, Any]) -> dict[str, str]:
    """What the container's process sees: its ConfigMaps, then its env (secrets from the example)."""
    config_maps = of_kind("ConfigMap")
    secret = of_kind("Secret")["edtech-secrets"]["stringData"]
    environment: dict[str, str] = {}
    for source in container.get("envFrom", []):
        environment.update(config_maps[source["configMapRef"]["name"]]["data"])
    for env in container.get("env", []):
        ref = env.get("valueFrom", {}).get("secretKeyRef")
        environment[env["name"]] = str(secret[ref["key"]]) if ref else str(env["value"])
    return environment


def test_every_secret_the_manifests_read_is_in_the_example() -> None:
    secret = of_kind("Secret")["edtech-secrets"]
    read = set()
    for _, resource in documents():
        for container in resource.get("spec", {}).get("template", {}).get("spec", {}).get("containers", []):
            for env in container.get("env", []):
                ref = env.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    assert ref["name"] == "edtech-secrets"
                    read.add(ref["key"])
    assert read == set(secret["stringData"])
    assert {f"{schema}-database-url" for schema in SCHEMAS} <= read
    assert "gateway-secret-key" in read


@pytest.mark.parametrize("process", SCHEMAS)
def test_each_process_accepts_its_settings_in_production(
    process: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The settings the Deployment gives (with the example Secret) pass the production checks:
    PostgreSQL, no dev issuer; the gateway's https public URL and 32+ character secret key."""
    prefix = f"{process.upper()}_"
    for name in [n for n in os.environ if n.startswith(prefix)]:
        monkeypatch.delenv(name)
    environment = _environment(_container(of_kind("Deployment")[process]))
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    settings = importlib.import_module(f"services.{process}.config").Settings()
    assert settings.environment == "production"
    assert settings.database_url.startswith(f"postgresql+asyncpg://{process}:")


def test_every_process_trusts_the_gateway_as_the_platform_issuer() -> None:
    """One issuer, at the gateway's public URL; the services read its keys inside the cluster."""
    gateway = _environment(_container(of_kind("Deployment")["gateway"]))
    public_url = gateway["GATEWAY_PUBLIC_URL"]
    assert public_url.startswith("https://") and not public_url.endswith("/")
    assert gateway["GATEWAY_AUTH_PLATFORM_ISSUER"] == f"{public_url}/auth"
    gateway_service = of_kind("Service")["gateway"]["spec"]["ports"][0]["port"]
    for service in SERVICES_WITH_DATABASE:
        environment = _environment(_container(of_kind("Deployment")[service]))
        prefix = service.upper()
        assert environment[f"{prefix}_AUTH_PLATFORM_ISSUER"] == f"{public_url}/auth", service
        jwks_url = environment[f"{prefix}_AUTH_PLATFORM_JWKS_URL"]
        assert jwks_url == f"http://gateway:{gateway_service}/auth/jwks.json", service


def test_every_setting_the_manifests_set_exists() -> None:
    known = {name for process in PROCESSES for name in env_names(process)}
    config_maps = of_kind("ConfigMap")
    named: set[str] = set()
    for _, resource in documents():
        for container in resource.get("spec", {}).get("template", {}).get("spec", {}).get("containers", []):
            named |= {env["name"] for env in container.get("env", [])}
            for source in container.get("envFrom", []):
                named |= set(config_maps[source["configMapRef"]["name"]]["data"])
    assert named and named <= known, sorted(named - known)
    # The ConfigMaps no process reads as its environment hold files (the scrape job).
    assert {n for n, c in config_maps.items() if not set(c["data"]) & named} == {"prometheus-scrape"}


def test_the_edge_is_the_ingress_started_from_the_same_routes() -> None:
    edge = _container(of_kind("Deployment")["edge"])
    command = edge["command"]
    assert command[:4] == ["python", "-m", "services.edge", "run"]
    upstreams = {command[i + 1].split("=")[0] for i, arg in enumerate(command) if arg == "--upstream"}
    assert upstreams == {*routes.SERVICES, "gateway"}
    assert edge["readinessProbe"]["httpGet"]["path"] == routes.EDGE_HEALTH
    exposed = [n for n, s in of_kind("Service").items() if s["spec"].get("type") == "LoadBalancer"]
    assert exposed == ["edge"]


def test_analytics_scales_horizontally() -> None:
    hpa = of_kind("HorizontalPodAutoscaler")["analytics"]
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "analytics",
    }
    assert hpa["spec"]["minReplicas"] >= 2


def test_the_compose_example_runs_the_image_of_this_version() -> None:
    example = (K8S.parent / ".env.example").read_text()
    assert f"EDTECH_IMAGE=edtech-platform:{VERSION}\n" in example


def _relabel(labels: dict[str, str], rules: list[dict[str, Any]]) -> dict[str, str] | None:
    """Prometheus's relabelling of a target (the `keep` and `replace` actions these rules use), or
    None when it is dropped."""
    labels = dict(labels)
    for rule in rules:
        value = rule.get("separator", ";").join(labels.get(name, "") for name in rule["source_labels"])
        match = re.fullmatch(rule.get("regex", "(.*)"), value)
        action = rule.get("action", "replace")
        if action == "keep":
            if match is None:
                return None
        elif action == "replace":
            if match is not None:
                replaced = match.expand(rule.get("replacement", "$1").replace("$", "\\"))
                if replaced:
                    labels[rule["target_label"]] = replaced
                else:
                    labels.pop(rule["target_label"], None)
        else:
            raise AssertionError(f"action {action} not modelled")
    return labels


def _discovered(pod: dict[str, Any], ip: str) -> dict[str, str]:
    """The labels Prometheus's pod discovery gives a pod of this template (one target per pod)."""
    meta = pod["metadata"]

    def name(key: str) -> str:
        return re.sub(r"[^a-zA-Z0-9_]", "_", key)

    labels = {
        f"__meta_kubernetes_pod_annotation_{name(k)}": v for k, v in meta.get("annotations", {}).items()
    }
    labels |= {f"__meta_kubernetes_pod_label_{name(k)}": v for k, v in meta["labels"].items()}
    labels |= {"__meta_kubernetes_pod_ip": ip, "__meta_kubernetes_pod_name": f"pod-{ip}"}
    return {"__address__": ip, "__metrics_path__": "/metrics", **labels}


def test_every_process_serving_metrics_is_scraped() -> None:
    """The pods of the services and the gateway (FastAPI apps with /metrics) are kept by the scrape
    job, at their container's port and /metrics, named by service; the edge (nginx) is not."""
    config = yaml.safe_load(of_kind("ConfigMap")["prometheus-scrape"]["data"]["edtech-scrape.yml"])
    (job,) = config["scrape_configs"]
    (discovery,) = job["kubernetes_sd_configs"]
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    assert discovery["role"] == "pod" and discovery["namespaces"]["names"] == [kustomization["namespace"]]
    assert job["honor_labels"] is True  # the services' `job` and `service` labels (tests/test_grafana.py)
    scraped = {}
    for n, (name, deployment) in enumerate(sorted(of_kind("Deployment").items())):
        pod = deployment["spec"]["template"]
        target = _relabel(_discovered(pod, f"10.1.0.{n}"), job["relabel_configs"])
        if target is not None:
            scraped[name] = target
            (port,) = _container(deployment)["ports"]
            assert target["__address__"] == f"10.1.0.{n}:{port['containerPort']}", name
            assert target["__metrics_path__"] == "/metrics", name
            assert target["service"] == name and target["pod"] == f"pod-10.1.0.{n}"
    assert set(scraped) == {*SERVICES_WITH_DATABASE, "gateway"}
