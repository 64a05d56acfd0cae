"""Who may connect to what, and where pods land: a default-deny namespace, the apis open only
to the ingress controller, Prometheus (metrics port) and their listed callers, each database
only to its own service, its operator and Prometheus; only /v1/ routed outside; the
"restricted" Pod Security Standard enforced (Kafka's pods included); pods, database
instances and brokers across zones."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.deploy.conftest import OVERLAYS, SERVICES, by_kind, selector_matches, service_workloads
from tests.deploy.test_k8s_workloads import API_CALLS, CALLING_PODS, pod_spec

ZONE = "topology.kubernetes.io/zone"
INGRESS_CONTROLLER = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}},
                      "podSelector": {"matchLabels": {"app.kubernetes.io/name": "ingress-nginx"}}}
PROMETHEUS = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}},
              "podSelector": {"matchLabels": {"app.kubernetes.io/name": "prometheus"}}}
CNPG_OPERATOR = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "cnpg-system"}},
                 "podSelector": {"matchLabels": {"app.kubernetes.io/name": "cloudnative-pg"}}}


def ports_of(rule: dict[str, Any]) -> set[tuple[str, Any]]:
    return {(p.get("protocol", "TCP"), p["port"]) for p in rule.get("ports", [])}


def ingress_rules_for(resources: list[dict[str, Any]], labels: dict[str, str]) -> list[tuple[str, dict[str, Any]]]:
    rules = []
    for policy in by_kind(resources, "NetworkPolicy").values():
        if selector_matches(policy["spec"]["podSelector"].get("matchLabels", {}), labels):
            rules += [(policy["metadata"]["name"], rule) for rule in policy["spec"].get("ingress", [])]
    return rules


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_namespace_denies_by_default_and_enforces_restricted(rendered, overlay: str) -> None:
    resources = rendered(overlay)
    deny = [p for p in by_kind(resources, "NetworkPolicy").values()
            if p["spec"]["podSelector"] == {} and set(p["spec"]["policyTypes"]) == {"Ingress", "Egress"}]
    assert len(deny) == 1 and not deny[0]["spec"].get("ingress") and not deny[0]["spec"].get("egress"), overlay
    [namespace] = by_kind(resources, "Namespace").values()
    labels = namespace["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted", overlay


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_an_api_accepts_only_the_ingress_controller_prometheus_and_its_callers(rendered, overlay: str) -> None:
    resources = rendered(overlay)
    callers_of = {callee: {caller for caller, callees in API_CALLS.items() if callee in callees} for callee in SERVICES}
    for name, workload in service_workloads(resources).items():
        service, role = name.rsplit("-", 1)
        rules = ingress_rules_for(resources, workload["spec"]["template"]["metadata"]["labels"])
        if role != "api":
            # Named ports the worker does not have open nothing.
            assert all(ports_of(rule) <= {("TCP", "http"), ("TCP", "metrics")} for _, rule in rules), f"{overlay}: {name}"
            assert not pod_spec(workload)["containers"][0].get("ports"), f"{overlay}: {name} has ports"
            continue
        allowed = []
        for policy_name, rule in rules:
            assert rule.get("from"), f"{overlay}: {policy_name} opens {name} to everyone"
            for peer in rule["from"]:
                # Prometheus only to the metrics port; everyone else only to the HTTP port.
                port = "metrics" if peer == PROMETHEUS else "http"
                assert ports_of(rule) == {("TCP", port)}, f"{overlay}: {policy_name} opens {ports_of(rule)} to {peer}"
                if peer in (INGRESS_CONTROLLER, PROMETHEUS):
                    allowed.append("ingress" if peer == INGRESS_CONTROLLER else "prometheus")
                    continue
                pods = peer.get("podSelector", {}).get("matchLabels", {})
                assert "namespaceSelector" not in peer and "ipBlock" not in peer, f"{overlay}: {name} <- {peer}"
                assert pods["app.kubernetes.io/name"] in callers_of[service], f"{overlay}: {name} <- {pods}"
                assert pods.get("app.kubernetes.io/component") in CALLING_PODS[pods["app.kubernetes.io/name"]], \
                    f"{overlay}: {name} <- {peer}"
                allowed.append(pods["app.kubernetes.io/name"])
        assert {"ingress", "prometheus"} | callers_of[service] == set(allowed), f"{overlay}: {name} <- {allowed}"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_a_database_accepts_only_its_service_its_instances_the_operator_and_prometheus(rendered, overlay: str) -> None:
    resources = rendered(overlay)
    for service in SERVICES:
        cluster = f"{service}-db"
        rules = ingress_rules_for(resources, {"cnpg.io/cluster": cluster, "cnpg.io/podRole": "instance"})
        assert rules, f"{overlay}: nothing admits connections to {cluster}"
        for policy_name, rule in rules:
            ports = ports_of(rule)
            for peer in rule["from"]:
                pods = peer.get("podSelector", {}).get("matchLabels", {})
                if peer == CNPG_OPERATOR:
                    assert ports <= {("TCP", 8000), ("TCP", 5432)}
                elif peer == PROMETHEUS:
                    assert ports == {("TCP", 9187)}
                elif pods == {"cnpg.io/cluster": cluster}:
                    assert ports == {("TCP", 5432), ("TCP", 8000)}
                else:
                    assert pods == {"app.kubernetes.io/name": service, "app.kubernetes.io/part-of": "shouhu"} \
                        and "namespaceSelector" not in peer, f"{overlay}: {policy_name} admits {peer} to {cluster}"
                    assert ports == {("TCP", 5432)}


@pytest.mark.parametrize("overlay", ("county", "province"))
def test_the_ingress_routes_only_the_apis_v1_routes(rendered, overlay: str) -> None:
    [ingress] = by_kind(rendered(overlay), "Ingress").values()
    assert ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/rewrite-target"] == "/$1"
    routed = {}
    for rule in ingress["spec"]["rules"]:
        for path in rule["http"]["paths"]:
            if path["path"] == "/(.*)":  # the rest: the console's files, from pods that serve nothing else
                assert path["backend"]["service"]["name"] == "console", overlay
                continue
            match = re.fullmatch(r"/([a-z]+)/\(v1/\.\*\)", path["path"])
            assert match, f"{overlay}: the ingress routes {path['path']}, not only /<service>/v1/ and the console"
            routed[match.group(1)] = path["backend"]["service"]["name"]
    assert routed == {service: f"{service}-api" for service in SERVICES}
    # ingress-nginx tries the longer paths first: a service's own paths outside /v1/ reach
    # only the console (its index.html), never the service.
    api_paths = [p["path"] for r in ingress["spec"]["rules"] for p in r["http"]["paths"] if p["path"] != "/(.*)"]
    for outside in ("/registry/metrics", "/visits/docs", "/notify/openapi.json", "/pairing/readyz"):
        assert not any(re.fullmatch(path, outside) for path in api_paths)


def spreads_across_zones(constraints: list[dict[str, Any]], labels: dict[str, str]) -> bool:
    return any(c["topologyKey"] == ZONE and c["maxSkew"] == 1 and
               selector_matches(c["labelSelector"]["matchLabels"], labels) for c in constraints)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_pods_and_database_instances_spread_across_zones(rendered, overlay: str) -> None:
    resources = rendered(overlay)
    for name, deployment in by_kind(resources, "Deployment").items():
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert spreads_across_zones(pod_spec(deployment).get("topologySpreadConstraints", []), labels), name
    for name, cluster in by_kind(resources, "Cluster").items():
        assert spreads_across_zones(cluster["spec"].get("topologySpreadConstraints", []), {"cnpg.io/cluster": name})


def test_province_brokers_spread_across_zones_and_place_replicas_by_rack(rendered) -> None:
    kafka = by_kind(rendered("province"), "Kafka")["shouhu-kafka"]["spec"]["kafka"]
    assert kafka["rack"] == {"topologyKey": ZONE}
    pod = kafka["template"]["pod"]
    labels = {"strimzi.io/cluster": "shouhu-kafka", "strimzi.io/pool-name": "combined"}
    assert spreads_across_zones(pod["topologySpreadConstraints"], labels)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_kafka_pods_meet_the_restricted_pod_security_standard(rendered, overlay: str) -> None:
    spec = by_kind(rendered(overlay), "Kafka")["shouhu-kafka"]["spec"]
    for template, containers in ((spec["kafka"]["template"], ("kafkaContainer", "initContainer")),
                                 (spec["entityOperator"]["template"], ("topicOperatorContainer",))):
        pod = template["pod"]["securityContext"]
        assert pod["runAsNonRoot"] is True and pod["seccompProfile"] == {"type": "RuntimeDefault"}, overlay
        for container in containers:
            security = template[container]["securityContext"]
            assert security["allowPrivilegeEscalation"] is False and security["capabilities"]["drop"] == ["ALL"]
            assert security["runAsNonRoot"] is True


@pytest.mark.parametrize("overlay", ("county", "province"))
def test_every_database_pod_and_recovery_job_may_reach_the_backup_store(rendered, overlay: str) -> None:
    resources = rendered(overlay)
    egress = by_kind(resources, "NetworkPolicy")["shouhu-backup-egress"]["spec"]
    for name, cluster in by_kind(resources, "Cluster").items():
        inherited = cluster["spec"]["inheritedMetadata"]["labels"]
        assert selector_matches(egress["podSelector"]["matchLabels"], inherited), name
    [rule] = egress["egress"]
    assert ports_of(rule) == {("TCP", 443)} and [set(peer) for peer in rule["to"]] == [{"ipBlock"}]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_console_pods_serve_files_to_the_ingress_controller_and_reach_nothing(rendered, overlay: str) -> None:
    resources = rendered(overlay)
    console = by_kind(resources, "Deployment")["console"]
    spec = pod_spec(console)
    [container] = spec["containers"]
    assert container["image"].rsplit("/", 1)[-1].startswith("shouhu-gateway:"), container["image"]
    assert spec["automountServiceAccountToken"] is False and spec["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
    assert "env" not in container and "envFrom" not in container  # no secret, no setting: files only
    labels = console["spec"]["template"]["metadata"]["labels"]
    selecting = [p for p in by_kind(resources, "NetworkPolicy").values()
                 if p["spec"]["podSelector"].get("matchLabels") and
                 selector_matches(p["spec"]["podSelector"]["matchLabels"], labels)]
    assert [p["metadata"]["name"] for p in selecting] == ["console"], overlay
    [policy] = selecting
    assert not policy["spec"]["egress"]
    [rule] = policy["spec"]["ingress"]
    assert [peer["namespaceSelector"]["matchLabels"] for peer in rule["from"]] == [
        {"kubernetes.io/metadata.name": "ingress-nginx"}]
    assert rule["ports"] == [{"port": "http", "protocol": "TCP"}]
