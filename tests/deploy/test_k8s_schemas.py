"""The rendered manifests against their schemas.

Core resources: kubernetes-validate in strict mode (unknown fields are errors) for the
pinned Kubernetes version. Strimzi, CloudNativePG, Barman Cloud plugin and KEDA resources:
the openAPIV3Schema of their CRDs (pinned versions), made strict the same way — an object
with declared properties accepts no others unless the CRD preserves unknown fields, which is
what the API server's strict field validation (kubectl apply --validate=strict) reports.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from tests.deploy.conftest import CUSTOM_GROUPS, K8S, OVERLAYS, group_of

HELPER = Path(__file__).with_name("k8s_validate_helper.py")


def kubernetes_validate(tools, resources: list[tuple[str, dict[str, Any]]]) -> list[dict[str, str]]:
    request = {"version": tools.versions["KUBERNETES_VERSION"], "strict": True,
               "resources": [{"id": rid, "resource": resource} for rid, resource in resources]}
    env = dict(os.environ, PYTHONPATH=str(tools.kubernetes_validate_path), PYTHONNOUSERSITE="1")
    done = subprocess.run([sys.executable, str(HELPER)], input=json.dumps(request), env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, f"kubernetes-validate helper failed:\n{done.stderr}"
    result = json.loads(done.stdout)
    assert result["kubernetes_validate"] == tools.versions["KUBERNETES_VALIDATE_VERSION"]
    return result["errors"]


def strict(schema: Any) -> Any:
    """The CRD schema with additionalProperties: false wherever properties are declared and
    unknown fields are not explicitly preserved; `nullable` becomes a JSON Schema null type."""
    if isinstance(schema, list):
        return [strict(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {key: strict(value) for key, value in schema.items()}
    if ("properties" in out and "additionalProperties" not in out
            and not out.get("x-kubernetes-preserve-unknown-fields")):
        out["additionalProperties"] = False
    if out.get("nullable") and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    return out


def load_crd_schemas(tools) -> dict[tuple[str, str, str], dict[str, Any]]:
    """(group, version, kind) -> strict JSON schema, from every CRD the tools fetched."""
    schemas = {}
    for directory in tools.crd_dirs:
        files = sorted(directory.glob("*.yaml"))
        assert files, f"no CRDs in {directory}"
        for path in files:
            for crd in yaml.safe_load_all(path.read_text(encoding="utf-8")):
                if not crd or crd.get("kind") != "CustomResourceDefinition":
                    continue
                for version in crd["spec"]["versions"]:
                    schema = copy.deepcopy(version["schema"]["openAPIV3Schema"])
                    key = (crd["spec"]["group"], version["name"], crd["spec"]["names"]["kind"])
                    schemas[key] = strict(schema)
    return schemas


@pytest.fixture(scope="module")
def crd_schemas(tools):
    return load_crd_schemas(tools)


def rid(resource: dict[str, Any]) -> str:
    return f"{resource['kind']}/{resource['metadata']['name']}"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_core_resources_pass_kubernetes_validate_strict(tools, rendered, overlay: str) -> None:
    core = [(rid(r), r) for r in rendered(overlay) if group_of(r) not in CUSTOM_GROUPS]
    assert len(core) > 40
    errors = kubernetes_validate(tools, core)
    assert not errors, f"{overlay}: " + "\n".join(f"{e['id']}: {e['error']}" for e in errors)


def test_example_secrets_pass_kubernetes_validate_strict(tools) -> None:
    examples = []
    for path in sorted((K8S / "overlays").glob("*/secrets.example.yaml")):
        for resource in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if resource:
                examples.append((f"{path.parent.name}:{rid(resource)}", resource))
    assert len(examples) >= 8
    errors = kubernetes_validate(tools, examples)
    assert not errors, "\n".join(f"{e['id']}: {e['error']}" for e in errors)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_custom_resources_match_their_crd_schemas(crd_schemas, rendered, overlay: str) -> None:
    custom = [r for r in rendered(overlay) if group_of(r) in CUSTOM_GROUPS]
    assert {r["kind"] for r in custom} >= {"Kafka", "KafkaNodePool", "KafkaTopic", "Cluster"}
    problems = []
    for resource in custom:
        group, version = resource["apiVersion"].split("/")
        schema = crd_schemas.get((group, version, resource["kind"]))
        if schema is None:
            problems.append(f"{rid(resource)}: no CRD schema for {resource['apiVersion']} {resource['kind']}")
            continue
        validator = jsonschema.Draft4Validator(schema)
        for error in sorted(validator.iter_errors(resource), key=lambda e: list(e.path)):
            path = "/".join(str(part) for part in error.path)
            problems.append(f"{rid(resource)}: {path}: {error.message}")
    assert not problems, f"{overlay}:\n" + "\n".join(problems)


def test_the_crd_check_rejects_an_unknown_field(crd_schemas, rendered) -> None:
    """The strict CRD check is not vacuous: a misspelt field in a KafkaTopic fails it."""
    topic = copy.deepcopy(next(r for r in rendered("county") if r["kind"] == "KafkaTopic"))
    topic["spec"]["partitons"] = 6
    schema = crd_schemas[("kafka.strimzi.io", "v1beta2", "KafkaTopic")]
    assert list(jsonschema.Draft4Validator(schema).iter_errors(topic))
