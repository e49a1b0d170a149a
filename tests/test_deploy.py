"""The Kubernetes manifests (deploy/k8s), checked offline: each resource against the Kubernetes
schemas (kubernetes-validate, strict: no unknown field), and against the project: a Deployment,
Service and migration Job per service with probes and resources, settings that exist, the edge
started from the same routes as everywhere else, analytics autoscaled, one version."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from services.edge import routes
from shared import VERSION
from shared.migrations import SERVICES_WITH_DATABASE
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
        migrate = jobs[f"{name}-migrate"]["spec"]["template"]["spec"]["containers"][0]
        assert migrate["command"] == ["python", "-m", "shared.migrate", "upgrade", name]
    for _, resource in documents():
        for container in resource.get("spec", {}).get("template", {}).get("spec", {}).get("containers", []):
            assert container["image"] == f"edtech-platform:{VERSION}"


def test_every_setting_the_manifests_set_exists() -> None:
    known = {name for process in PROCESSES for name in env_names(process)}
    config_maps = of_kind("ConfigMap")
    named = {key for config in config_maps.values() for key in config["data"]}
    for _, resource in documents():
        for container in resource.get("spec", {}).get("template", {}).get("spec", {}).get("containers", []):
            named |= {env["name"] for env in container.get("env", [])}
    assert named and named <= known, sorted(named - known)


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
