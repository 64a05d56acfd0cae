"""components/external-secrets: the field-encryption key Secrets from Vault through the
External Secrets Operator, rendered on top of the county and province overlays and checked
against the operator's CRD schemas, and against what the workloads mount."""

from __future__ import annotations

import copy
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from tests.deploy.conftest import K8S
from tests.deploy.test_k8s_schemas import kubernetes_validate, load_crd_schemas, rid

ENCRYPTING = ("registry", "pairing", "visits", "notify")
SECRET_KEYS = {"keys", "current-key-id", "index-key"}


def with_component(tools: Any, tmp_path: Path, overlay: str) -> list[dict[str, Any]]:
    """The overlay with the component added to its `components:`, as the component's
    kustomization.yaml tells a site to do (on a copy of deploy/k8s)."""
    tree = tmp_path / "k8s"
    shutil.copytree(K8S, tree)
    kustomization = tree / "overlays" / overlay / "kustomization.yaml"
    model = yaml.safe_load(kustomization.read_text(encoding="utf-8"))
    model["components"] = [*model.get("components", []), "../../components/external-secrets"]
    kustomization.write_text(yaml.safe_dump(model, sort_keys=False), encoding="utf-8")
    done = subprocess.run([str(tools.kustomize), "build", str(kustomization.parent)], capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


@pytest.fixture(scope="module")
def crd_schemas(tools):
    return load_crd_schemas(tools)


def crd_problems(crd_schemas: dict, resources: list[dict[str, Any]]) -> list[str]:
    problems = []
    for resource in resources:
        group, version = resource["apiVersion"].split("/")
        schema = crd_schemas.get((group, version, resource["kind"]))
        if schema is None:
            problems.append(f"{rid(resource)}: no CRD schema for {resource['apiVersion']}")
            continue
        problems += [f"{rid(resource)}: {'/'.join(map(str, e.path))}: {e.message}"
                     for e in jsonschema.Draft4Validator(schema).iter_errors(resource)]
    return problems


def pod_specs(resources: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    specs = {}
    for r in resources:
        if r["kind"] in ("Deployment", "Job"):
            specs[r["metadata"]["name"]] = r["spec"]["template"]["spec"]
    return specs


@pytest.mark.parametrize("overlay", ["county", "province"])
def test_the_component_renders_valid_external_secrets_that_feed_every_workloads_keys(
        tools, crd_schemas, tmp_path, overlay: str) -> None:
    resources = with_component(tools, tmp_path, overlay)
    from_eso = [r for r in resources if r["apiVersion"].startswith("external-secrets.io/")]
    assert sorted(rid(r) for r in from_eso) == sorted(
        ["SecretStore/shouhu-keys"] + [f"ExternalSecret/{s}-crypto" for s in ENCRYPTING])
    assert all(r["metadata"]["namespace"] == "shouhu" for r in from_eso)
    assert not crd_problems(crd_schemas, from_eso), crd_problems(crd_schemas, from_eso)
    reader = [r for r in resources if rid(r) == "ServiceAccount/shouhu-keys-reader"]
    assert reader and reader[0]["automountServiceAccountToken"] is False
    assert not kubernetes_validate(tools, [(rid(reader[0]), reader[0])])

    made = {}
    for es in (r for r in from_eso if r["kind"] == "ExternalSecret"):
        spec = es["spec"]
        assert spec["secretStoreRef"] == {"kind": "SecretStore", "name": "shouhu-keys"}
        # A Secret that held keys is never deleted with its ExternalSecret or its Vault entry.
        assert spec["target"]["creationPolicy"] == "Orphan" and spec["target"]["deletionPolicy"] == "Retain"
        assert {d["secretKey"] for d in spec["data"]} == SECRET_KEYS
        # Each service's Secret from its own Vault entry only.
        assert {d["remoteRef"]["key"] for d in spec["data"]} == {f"shouhu/{spec['target']['name']}"}
        made[spec["target"]["name"]] = {d["secretKey"] for d in spec["data"]}

    # Every key file and key id a workload reads comes from an ExternalSecret's Secret.
    needed: dict[str, set[str]] = {}
    for name, spec in pod_specs(resources).items():
        for volume in spec.get("volumes", []):
            if volume["name"] == "crypto":
                secret = volume["secret"]
                needed.setdefault(secret["secretName"], set()).update(i["key"] for i in secret["items"])
        for container in spec["containers"]:
            for env in container.get("env", []):
                ref = env.get("valueFrom", {}).get("secretKeyRef")
                if ref and ref["name"].endswith("-crypto"):
                    needed.setdefault(ref["name"], set()).add(ref["key"])
    assert set(needed) == {f"{s}-crypto" for s in ENCRYPTING}
    assert all(needed[name] <= made[name] for name in needed), (needed, made)


def test_the_crd_check_has_teeth(tools, crd_schemas, tmp_path) -> None:
    resources = with_component(tools, tmp_path, "county")
    es = copy.deepcopy(next(r for r in resources if rid(r) == "ExternalSecret/registry-crypto"))
    es["spec"]["target"]["creationPolicy"] = "Forever"
    store = copy.deepcopy(next(r for r in resources if rid(r) == "SecretStore/shouhu-keys"))
    store["spec"]["provider"]["vault"]["auth"]["kubernetes"]["roel"] = "typo"
    problems = crd_problems(crd_schemas, [es, store])
    assert any("creationPolicy" in p for p in problems) and any("roel" in p for p in problems)
