"""Fixtures for validating the deployment files without a cluster or a Docker engine.

The pinned tools and schemas (deploy/tools/versions.env) are fetched once by
deploy/tools/validation-tools into .data/deploy-tools/ (first run a few minutes, later runs
well under a second); rendered overlays are built once per session.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
K8S = DEPLOY / "k8s"
OVERLAYS = ("dev", "county", "province")
SERVICES = ("registry", "pairing", "visits", "notify", "reports")
# Resources whose schemas come from CRDs (validated against them, not kubernetes-validate).
CUSTOM_GROUPS = {"kafka.strimzi.io", "postgresql.cnpg.io", "barmancloud.cnpg.io", "keda.sh", "monitoring.coreos.com",
                 "external-secrets.io"}
TOOLS_TIMEOUT_S = 1800


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines; comments and blank lines skipped (the format of versions.env, .env)."""
    values = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


@dataclass(frozen=True)
class Tools:
    kustomize: Path
    compose_check: Path
    compose_schema: Path
    crd_dirs: tuple[Path, ...]
    kubernetes_validate_path: Path
    versions: dict[str, str]


@pytest.fixture(scope="session")
def versions() -> dict[str, str]:
    return read_env_file(DEPLOY / "tools" / "versions.env")


@pytest.fixture(scope="session")
def tools(versions: dict[str, str]) -> Tools:
    env = dict(os.environ, PYTHON=sys.executable)
    try:
        done = subprocess.run([str(DEPLOY / "tools" / "validation-tools")], env=env, capture_output=True,
                              text=True, timeout=TOOLS_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        pytest.fail(f"deploy/tools/validation-tools did not finish within {TOOLS_TIMEOUT_S} s")
    if done.returncode != 0:
        pytest.fail(f"deploy/tools/validation-tools failed:\n{done.stderr}")
    paths = dict(line.split("=", 1) for line in done.stdout.splitlines() if "=" in line)
    return Tools(kustomize=Path(paths["KUSTOMIZE"]), compose_check=Path(paths["COMPOSE_CHECK"]),
                 compose_schema=Path(paths["COMPOSE_SCHEMA"]),
                 crd_dirs=tuple(Path(p) for p in paths["CRD_DIRS"].split(":")),
                 kubernetes_validate_path=Path(paths["KUBERNETES_VALIDATE_PATH"]), versions=versions)


def kustomize_build(tools: Tools, path: Path) -> list[dict[str, Any]]:
    done = subprocess.run([str(tools.kustomize), "build", str(path)], capture_output=True, text=True,
                          timeout=120, check=False)
    if done.returncode != 0:
        raise AssertionError(f"kustomize build {path.relative_to(REPO)} failed:\n{done.stderr}")
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


class Rendered:
    """The overlays rendered once per session: overlay name -> list of resources."""

    def __init__(self, tools: Tools) -> None:
        self._tools = tools
        self._cache: dict[str, list[dict[str, Any]]] = {}

    def __call__(self, overlay: str) -> list[dict[str, Any]]:
        if overlay not in self._cache:
            self._cache[overlay] = kustomize_build(self._tools, K8S / "overlays" / overlay)
        return self._cache[overlay]


@pytest.fixture(scope="session")
def rendered(tools: Tools) -> Iterator[Rendered]:
    yield Rendered(tools)


def group_of(resource: dict[str, Any]) -> str:
    api_version = resource["apiVersion"]
    return api_version.split("/")[0] if "/" in api_version else ""


def by_kind(resources: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {r["metadata"]["name"]: r for r in resources if r["kind"] == kind}


def service_workloads(resources: list[dict[str, Any]], kinds: tuple[str, ...] = ("Deployment",)
                      ) -> dict[str, dict[str, Any]]:
    """The services' apis, workers (and with "Job", migrations): the workloads that run the
    services' image. The console's pods (nginx serving files) have tests of their own."""
    return {r["metadata"]["name"]: r for r in resources if r["kind"] in kinds
            and r["spec"]["template"]["metadata"]["labels"].get("app.kubernetes.io/name") in SERVICES}


def selector_matches(match_labels: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(key) == value for key, value in match_labels.items())
