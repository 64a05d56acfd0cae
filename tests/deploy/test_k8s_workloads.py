"""What every workload must have: the right command, probes, limits, a locked-down security
context, autoscaling and disruption budgets, its own database and keys wired in, and network
policies that let its pods reach only their own database, Kafka and DNS (plus the few calls
listed in API_CALLS and EXTERNAL_EGRESS)."""

from __future__ import annotations

import importlib
import re
from typing import Any

import pytest

from tests.deploy.conftest import OVERLAYS, SERVICES, by_kind, selector_matches, service_workloads


def pod_spec(workload: dict[str, Any]) -> dict[str, Any]:
    return workload["spec"]["template"]["spec"]


def service_http_port(service: str) -> int:
    """The api's default port, from the service's own settings class."""
    config = importlib.import_module(f"services.{service}.config")
    settings_class = next(getattr(config, name) for name in dir(config)
                          if name.endswith("Settings") and name != "ServiceSettings")
    return settings_class.model_fields["http_port"].default


# Services that hold no encrypted field (their ENTRY declares no encrypted columns): no keys.
WITHOUT_ENCRYPTED_FIELDS = {service for service in SERVICES
                            if not importlib.import_module(f"services.{service}.entry").ENTRY.encrypted_columns}
# The port an api serves /metrics on (and nothing else); its HTTP port answers /metrics 404.
METRICS_PORT = 9100
# Which services call which other services' APIs (notify fetches contact points and names at
# send and read time; reports reads the names a ledger prints; pairing asks which child an aid
# sheet's 身份证号 is), and which of their pods do.
API_CALLS = {"notify": {"registry", "pairing"}, "reports": {"registry", "pairing", "visits"}, "pairing": {"registry"}}
CALLING_PODS = {"notify": {"worker", "api"}, "reports": {"api"}, "pairing": {"api"}}
# (policy, service, role) -> the ports it may open to address blocks outside the cluster.
EXTERNAL_EGRESS = {
    **{("shouhu-api-idp-egress", service, "api"): {("TCP", 443)} for service in SERVICES},
    ("notify-worker-external-egress", "notify", "worker"): {("TCP", 443), ("TCP", 465), ("TCP", 587)},
}


def workloads(resources: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return list(service_workloads(resources, ("Deployment", "Job")).values())


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_container_runs_its_role_locked_down_and_bounded(rendered, overlay: str) -> None:
    for workload in workloads(rendered(overlay)):
        name = workload["metadata"]["name"]
        service, role = name.rsplit("-", 1)
        spec = pod_spec(workload)
        pod_security = spec["securityContext"]
        assert pod_security["runAsNonRoot"] is True and pod_security["runAsUser"] != 0, name
        assert pod_security["seccompProfile"]["type"] == "RuntimeDefault", name
        assert spec.get("automountServiceAccountToken") is False, name
        [container] = spec["containers"]
        assert container["args"] == [f"services.{service}", role], name
        security = container["securityContext"]
        assert security["readOnlyRootFilesystem"] is True, name
        assert security["allowPrivilegeEscalation"] is False, name
        assert security["capabilities"]["drop"] == ["ALL"], name
        for bound in ("requests", "limits"):
            assert {"cpu", "memory"} <= set(container["resources"][bound]), f"{name}: resources.{bound}"
        mounts = {m["mountPath"] for m in container.get("volumeMounts", [])}
        assert "/tmp" in mounts, f"{name}: no writable /tmp on a read-only root filesystem"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_apis_probe_healthz_and_readyz_on_their_port(rendered, overlay: str) -> None:
    resources = rendered(overlay)
    services = by_kind(resources, "Service")
    for service in SERVICES:
        api = by_kind(resources, "Deployment")[f"{service}-api"]
        [container] = pod_spec(api)["containers"]
        ports = {port["name"]: port["containerPort"] for port in container["ports"]}
        assert ports == {"http": service_http_port(service), "metrics": METRICS_PORT}, service
        config = {}
        for config_map in by_kind(resources, "ConfigMap").values():
            config.update(config_map.get("data", {}))
        assert config[f"SHOUHU_{service.upper()}_METRICS_PORT"] == str(METRICS_PORT), service
        assert api["spec"]["template"]["metadata"]["annotations"]["prometheus.io/port"] == str(METRICS_PORT)
        assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}, service
        assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}, service
        assert container["startupProbe"]["httpGet"]["path"] == "/healthz", service
        svc = services[f"{service}-api"]
        assert selector_matches(svc["spec"]["selector"], api["spec"]["template"]["metadata"]["labels"])
        assert [port["targetPort"] for port in svc["spec"]["ports"]] == ["http"], "the Service routes no metrics"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_api_autoscales_and_every_deployment_has_a_disruption_budget(rendered, overlay: str) -> None:
    resources = rendered(overlay)
    hpas = by_kind(resources, "HorizontalPodAutoscaler")
    scaled = by_kind(resources, "ScaledObject")
    pdbs = list(by_kind(resources, "PodDisruptionBudget").values())
    for name, deployment in by_kind(resources, "Deployment").items():
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        covering = [p for p in pdbs if selector_matches(p["spec"]["selector"]["matchLabels"], labels)]
        assert len(covering) == 1, f"{overlay}: {name} is covered by {len(covering)} PodDisruptionBudgets"
        autoscaled = name in {h["spec"]["scaleTargetRef"]["name"] for h in hpas.values()} | \
            {s["spec"]["scaleTargetRef"]["name"] for s in scaled.values()}
        if name.endswith("-api"):
            hpa = hpas[name]
            assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}
            assert 1 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]
        # An autoscaled Deployment leaves `replicas` to its autoscaler; others state it.
        assert ("replicas" in deployment["spec"]) != autoscaled, f"{overlay}: {name} replicas vs autoscaler"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_service_reads_its_own_database_secret(rendered, overlay: str) -> None:
    resources = rendered(overlay)
    clusters = by_kind(resources, "Cluster")
    for workload in workloads(resources):
        service = workload["metadata"]["name"].rsplit("-", 1)[0]
        [container] = pod_spec(workload)["containers"]
        env = {e["name"]: e for e in container.get("env", [])}
        url = env[f"SHOUHU_{service.upper()}_DATABASE_URL"]["valueFrom"]["secretKeyRef"]
        assert url == {"name": f"{service}-db-app", "key": "uri"}, workload["metadata"]["name"]
        initdb = clusters[f"{service}-db"]["spec"]["bootstrap"]["initdb"]
        assert initdb["database"] == initdb["owner"] == f"shouhu_{service}"
        # `shouhu import` turns triggers off per table; the owner is no superuser on CNPG.
        assert f"GRANT SET ON PARAMETER session_replication_role TO shouhu_{service}" in initdb["postInitSQL"]
        other_urls = [n for n in env if n.endswith("_DATABASE_URL") and n != f"SHOUHU_{service.upper()}_DATABASE_URL"]
        assert not other_urls, f"{workload['metadata']['name']} also gets {other_urls}"
        if service in WITHOUT_ENCRYPTED_FIELDS:
            assert "SHOUHU_CRYPTO_CURRENT_KEY_ID" not in env and "crypto" not in {
                v["name"] for v in pod_spec(workload)["volumes"]}
            continue
        # Its own field-encryption keys, from files of its own Secret.
        own_secret = re.compile(rf"^{service}-crypto(-[a-z0-9]{{10}})?$")  # generated ones carry a hash
        assert own_secret.match(env["SHOUHU_CRYPTO_CURRENT_KEY_ID"]["valueFrom"]["secretKeyRef"]["name"])
        crypto = {v["name"]: v for v in pod_spec(workload)["volumes"]}["crypto"]["secret"]
        assert own_secret.match(crypto["secretName"]) and not crypto.get("optional")
        assert env["SHOUHU_CRYPTO_KEYS_FILE"]["value"].startswith("/var/run/secrets/shouhu/crypto/")


def egress_rules_for(policies: list[dict[str, Any]], labels: dict[str, str]) -> list[tuple[str, dict[str, Any]]]:
    rules = []
    for policy in policies:
        selector = policy["spec"]["podSelector"]
        assert "matchExpressions" not in selector, policy["metadata"]["name"]
        if selector_matches(selector.get("matchLabels", {}), labels):
            assert "Egress" in policy["spec"]["policyTypes"], policy["metadata"]["name"]
            rules += [(policy["metadata"]["name"], rule) for rule in policy["spec"].get("egress", [])]
    return rules


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_network_policies_let_a_service_reach_only_its_database_kafka_and_dns(rendered, overlay: str) -> None:
    resources = rendered(overlay)
    policies = list(by_kind(resources, "NetworkPolicy").values())
    for workload in workloads(resources):
        name = workload["metadata"]["name"]
        service, role = name.rsplit("-", 1)
        labels = workload["spec"]["template"]["metadata"]["labels"]
        rules = egress_rules_for(policies, labels)
        assert rules, f"{overlay}: no egress policy selects {name}"
        reached = set()
        for policy_name, rule in rules:
            assert rule.get("to"), f"{overlay}: {policy_name} lets {name} reach anything"
            ports = {(p.get("protocol", "TCP"), p["port"]) for p in rule.get("ports", [])}
            assert ports, f"{overlay}: {policy_name} opens every port for {name}"
            for peer in rule["to"]:
                pods = peer.get("podSelector", {}).get("matchLabels", {})
                if "ipBlock" in peer:
                    # Outside the cluster: the apis to the identity provider (HTTPS), and the
                    # notify worker to its delivery providers (HTTPS, SMTP submission).
                    allowed = EXTERNAL_EGRESS.get((policy_name, service, role))
                    assert allowed and ports <= allowed, f"{overlay}: {policy_name} gives {name} {peer} {ports}"
                    reached.add("outside")
                elif pods.get("app.kubernetes.io/component") == "api":
                    callee = pods["app.kubernetes.io/name"]
                    assert callee in API_CALLS.get(service, set()), f"{overlay}: {name} may call {callee}'s api"
                    assert ports == {("TCP", service_http_port(callee))}, f"{overlay}: {name} -> {callee} {ports}"
                    reached.add(f"{callee}-api")
                elif "cnpg.io/cluster" in pods:
                    assert pods == {"cnpg.io/cluster": f"{service}-db"} and ports == {("TCP", 5432)}, \
                        f"{overlay}: {name} may reach database {pods}"
                    reached.add("database")
                elif pods.get("strimzi.io/cluster") == "shouhu-kafka":
                    assert ports == {("TCP", 9093)}, f"{overlay}: {name} Kafka ports {ports}"
                    reached.add("kafka")
                elif pods == {"k8s-app": "kube-dns"}:
                    assert peer["namespaceSelector"]["matchLabels"] == {"kubernetes.io/metadata.name": "kube-system"}
                    assert ports == {("UDP", 53), ("TCP", 53)}
                    reached.add("dns")
                else:
                    raise AssertionError(f"{overlay}: {policy_name} lets {name} reach {peer}")
        assert {"database", "kafka", "dns"} <= reached, f"{overlay}: {name} reaches only {reached}"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_connection_pools_fit_each_database(rendered, overlay: str) -> None:
    """Every pod of a service at its autoscaler's maximum (plus one surging during a rollout),
    each with a full pool, still fits in its database's max_connections."""
    resources = rendered(overlay)
    config = {}
    for config_map in by_kind(resources, "ConfigMap").values():
        config.update(config_map.get("data", {}))
    hpas = {h["spec"]["scaleTargetRef"]["name"]: h for h in by_kind(resources, "HorizontalPodAutoscaler").values()}
    scaled = {s["spec"]["scaleTargetRef"]["name"]: s for s in by_kind(resources, "ScaledObject").values()}
    deployments = by_kind(resources, "Deployment")
    for service in SERVICES:
        pool = int(config[f"SHOUHU_{service.upper()}_POOL_MAX_SIZE"])
        pods = 1  # the migrate Job
        for role in ("api", "worker"):
            name = f"{service}-{role}"
            if name in hpas:
                most = hpas[name]["spec"]["maxReplicas"]
            elif name in scaled:
                most = scaled[name]["spec"]["maxReplicaCount"]
            else:
                most = deployments[name]["spec"]["replicas"]
            surge = deployments[name]["spec"]["strategy"]["rollingUpdate"]["maxSurge"]
            pods += most + surge
        cluster = by_kind(resources, "Cluster")[f"{service}-db"]
        max_connections = int(cluster["spec"]["postgresql"]["parameters"]["max_connections"])
        reserved = 20  # superuser, replication, monitoring, an operator's psql
        assert pods * pool <= max_connections - reserved, \
            f"{overlay}: {service}: {pods} pods x pool {pool} > {max_connections} - {reserved} connections"
