"""Growing a deployment (docs/operations.md, "Growing"): Cruise Control in the province's Kafka
with an example KafkaRebalance valid against Strimzi's CRD, and scripts/new-county, whose overlay
renders and validates like the committed ones."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

from tests.deploy.conftest import CUSTOM_GROUPS, K8S, REPO, SERVICES, by_kind, group_of, kustomize_build
from tests.deploy.test_k8s_schemas import kubernetes_validate, load_crd_schemas, rid
from tests.deploy.test_kustomize import CORE_PER_OVERLAY

NEW_COUNTY = REPO / "scripts" / "new-county"


@pytest.fixture(scope="module")
def crd_schemas(tools):
    return load_crd_schemas(tools)


def crd_problems(crd_schemas, resources: list[dict]) -> list[str]:
    problems = []
    for resource in resources:
        group, version = resource["apiVersion"].split("/")
        schema = crd_schemas.get((group, version, resource["kind"]))
        if schema is None:
            problems.append(f"{rid(resource)}: no CRD schema")
            continue
        for error in jsonschema.Draft4Validator(schema).iter_errors(resource):
            problems.append(f"{rid(resource)}: {'/'.join(map(str, error.path))}: {error.message}")
    return problems


def test_province_runs_cruise_control_under_the_restricted_pod_standard(rendered) -> None:
    kafka = by_kind(rendered("province"), "Kafka")["shouhu-kafka"]["spec"]
    cruise = kafka["cruiseControl"]
    assert cruise["brokerCapacity"]["inboundNetwork"] and cruise["resources"]["limits"]["memory"]
    assert cruise["template"]["pod"]["securityContext"]["runAsNonRoot"] is True
    assert cruise["template"]["cruiseControlContainer"]["securityContext"]["capabilities"]["drop"] == ["ALL"]
    # One broker has nothing to balance: county and dev run none.
    for overlay in ("dev", "county"):
        assert "cruiseControl" not in by_kind(rendered(overlay), "Kafka")["shouhu-kafka"]["spec"]


def test_example_rebalance_matches_strimzis_crd_and_targets_the_cluster(crd_schemas, rendered) -> None:
    path = K8S / "overlays" / "province" / "kafka-rebalance.example.yaml"
    [rebalance] = [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc]
    assert not crd_problems(crd_schemas, [rebalance])
    kafka = by_kind(rendered("province"), "Kafka")["shouhu-kafka"]
    assert rebalance["metadata"]["labels"]["strimzi.io/cluster"] == kafka["metadata"]["name"]
    assert rebalance["metadata"]["namespace"] == kafka["metadata"]["namespace"]
    # An example, not part of the overlay: a GitOps sync must not start a rebalance.
    assert "KafkaRebalance" not in {r["kind"] for r in rendered("province")}
    broken = dict(rebalance, spec=dict(rebalance["spec"], mode="sideways"))
    assert crd_problems(crd_schemas, [broken]), "the CRD check accepts an unknown mode"


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("overlays") / "xihu"
    done = subprocess.run([sys.executable, str(NEW_COUNTY), "--code", "330106", "--name", "xihu",
                           "--domain", "shouhu.xihu.gov.cn", "--bucket", "hz-shouhu-backups",
                           "--topic-prefix", "xihu.", "--out", str(out)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    return out


def test_generated_county_renders_with_its_parameters(tools, generated: Path, rendered) -> None:
    resources = kustomize_build(tools, generated)
    counts: dict[str, int] = {}
    for resource in resources:
        counts[resource["kind"]] = counts.get(resource["kind"], 0) + 1
    assert {kind: counts.get(kind) for kind in CORE_PER_OVERLAY} == CORE_PER_OVERLAY
    assert set(by_kind(resources, "Namespace")) == {"shouhu-330106"}
    assert {r["metadata"].get("namespace") for r in resources if r["kind"] != "Namespace"} == {"shouhu-330106"}
    [ingress] = by_kind(resources, "Ingress").values()
    assert [rule["host"] for rule in ingress["spec"]["rules"]] == ["shouhu.xihu.gov.cn"]
    assert ingress["spec"]["tls"][0]["hosts"] == ["shouhu.xihu.gov.cn"]
    [location] = [c for n, c in by_kind(resources, "ConfigMap").items() if n.startswith("shouhu-backup-location")]
    assert location["data"] == {"bucket": "hz-shouhu-backups", "deployment": "county-330106"}
    for store in by_kind(resources, "ObjectStore").values():
        assert store["spec"]["configuration"]["destinationPath"].startswith("s3://hz-shouhu-backups/county-330106/")
    [common] = [c for n, c in by_kind(resources, "ConfigMap").items() if n.startswith("shouhu-common")]
    assert common["data"]["SHOUHU_KAFKA_BOOTSTRAP_SERVERS"] == "shouhu-kafka-kafka-bootstrap.shouhu-330106.svc:9093"
    assert common["data"]["SHOUHU_KAFKA_TOPIC_PREFIX"] == "xihu."
    # Every topic, and every topic or group an ACL names, is under the prefix.
    assert all(t["spec"]["topicName"].startswith("xihu.shouhu.") for t in by_kind(resources, "KafkaTopic").values())
    for user in by_kind(resources, "KafkaUser").values():
        for acl in user["spec"]["authorization"]["acls"]:
            assert acl["resource"]["name"].startswith("xihu.shouhu"), (user["metadata"]["name"], acl)
    # What is not a parameter is the county overlay's: sizes, durability, images by digest.
    county = rendered("county")
    assert [c["spec"]["instances"] for c in by_kind(resources, "Cluster").values()] == \
        [c["spec"]["instances"] for c in by_kind(county, "Cluster").values()]
    images = {c["image"] for d in by_kind(resources, "Deployment").values() for c in d["spec"]["template"]["spec"]["containers"]}
    assert images == {c["image"] for d in by_kind(county, "Deployment").values()
                      for c in d["spec"]["template"]["spec"]["containers"]}
    for service in SERVICES:
        assert f"{service}-api" in by_kind(resources, "Deployment")


def test_generated_county_passes_the_schema_checks(tools, crd_schemas, generated: Path) -> None:
    resources = kustomize_build(tools, generated)
    core = [(rid(r), r) for r in resources if group_of(r) not in CUSTOM_GROUPS]
    errors = kubernetes_validate(tools, core)
    assert not errors, "\n".join(f"{e['id']}: {e['error']}" for e in errors)
    assert not crd_problems(crd_schemas, [r for r in resources if group_of(r) in CUSTOM_GROUPS])
    examples = [(rid(r), r) for r in yaml.safe_load_all((generated / "secrets.example.yaml").read_text(encoding="utf-8"))
                if r]
    assert all(r["metadata"]["namespace"] == "shouhu-330106" for _, r in examples)
    assert not kubernetes_validate(tools, examples)


def test_new_county_refuses_bad_parameters_and_an_existing_directory(generated: Path, tmp_path: Path) -> None:
    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, str(NEW_COUNTY), *args], capture_output=True, text=True, check=False)

    bad = run("--code", "33010", "--name", "Xi Hu", "--domain", "xihu", "--bucket", "b", "--out", str(tmp_path / "x"))
    assert bad.returncode != 0 and "--code" in bad.stderr and "--name" in bad.stderr and "--domain" in bad.stderr
    assert not (tmp_path / "x").exists()
    again = run("--code", "330106", "--name", "xihu", "--domain", "shouhu.xihu.gov.cn", "--bucket", "hz-shouhu-backups",
                "--out", str(generated))
    assert again.returncode != 0 and "exists" in again.stderr
