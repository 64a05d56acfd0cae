"""components/monitoring agrees with the guide and the code: every alert of docs/operations.md
("Watching it") has a rule, every metric a rule or dashboard panel reads exists (Shouhu's own
from shared/metrics.py, the others from the exporters the guide names), and the PodMonitors
select the pods and ports that serve metrics. The CRD schemas are checked in test_k8s_schemas."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from shared.metrics import ServiceMetrics
from tests.deploy.conftest import K8S, REPO, SERVICES, by_kind, selector_matches

GUIDE = REPO / "docs" / "operations.md"
DASHBOARD = K8S / "components" / "monitoring" / "dashboards" / "shouhu.json"
# Metrics from other exporters the rules and panels may read (kube-state-metrics, the
# kubelet, Strimzi's Kafka Exporter and cluster operator, CloudNativePG, its Barman Cloud plugin).
EXTERNAL_METRICS = {
    "kafka_consumergroup_lag", "kube_pod_status_ready", "kube_pod_container_status_restarts_total",
    "kubelet_volume_stats_used_bytes", "kubelet_volume_stats_capacity_bytes", "kubelet_volume_stats_available_bytes",
    "cnpg_pg_stat_archiver_failed_count", "cnpg_pg_stat_archiver_seconds_since_last_archival",
    "barman_cloud_cloudnative_pg_io_last_available_backup_timestamp", "strimzi_certificate_expiration_timestamp_ms",
}
PROMQL_WORDS = {"sum", "max", "min", "avg", "count", "by", "without", "rate", "increase", "delta", "time", "or",
                "and", "unless", "histogram_quantile", "on", "ignoring", "predict_linear"}


def shouhu_metrics() -> set[str]:
    """Every series name ServiceMetrics exposes (counters with _total, histograms' parts)."""
    names = set()
    for family in ServiceMetrics("probe").registry.collect():
        names.add(family.name)
        names |= {f"{family.name}{suffix}" for suffix in ("_total", "_bucket", "_sum", "_count")}
    return names


def metric_names(expr: str) -> set[str]:
    """The metric names an expression reads: identifiers outside label matchers, grouping
    clauses, ranges and strings, that are not PromQL functions or keywords."""
    bare = re.sub(r'"[^"]*"', "", expr)
    bare = re.sub(r"\{[^}]*\}|\[[^\]]*\]|\b(?:by|without|on|ignoring)\s*\([^)]*\)", " ", bare)
    return {word for word in re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", bare) if word not in PROMQL_WORDS}


def rules(resources: list[dict[str, Any]]) -> list[dict[str, Any]]:
    [rule_set] = by_kind(resources, "PrometheusRule").values()
    return [rule for group in rule_set["spec"]["groups"] for rule in group["rules"]]


def guide_alert_metrics() -> list[str]:
    text = GUIDE.read_text(encoding="utf-8")
    _, found, after = text.partition("<!-- alerts:")
    assert found, "the guide lost its alerts table"
    table = []
    for line in after.splitlines()[1:]:  # the table right under the marker, to its first non-table line
        if not line.startswith("|"):
            break
        table.append(line)
    rows = [line for line in table[2:] if line.startswith("| `")]
    assert len(rows) >= 8
    return [re.match(r"\| `([a-z_:]+)`", row).group(1) for row in rows]  # type: ignore[union-attr]


@pytest.mark.parametrize("overlay", ("county", "province"))
def test_every_alert_of_the_guide_has_a_rule_on_metrics_that_exist(rendered, overlay: str) -> None:
    alerting = rules(rendered(overlay))
    known = shouhu_metrics() | EXTERNAL_METRICS
    read = set()
    for rule in alerting:
        assert rule["alert"].startswith("Shouhu"), rule["alert"]
        assert rule["labels"]["severity"] in {"page", "ticket"}, rule["alert"]
        assert rule["annotations"]["summary"] and rule["annotations"]["description"], rule["alert"]
        names = metric_names(rule["expr"])
        assert names and names <= known, f"{rule['alert']} reads unknown metrics {names - known}"
        read |= names
    missing = [metric for metric in guide_alert_metrics() if metric not in read]
    assert not missing, f"{overlay}: the guide alerts on {missing}, no rule reads them"
    assert len({rule["alert"] for rule in alerting}) == len(alerting), "alert names repeat"


def test_the_metric_name_check_is_not_vacuous() -> None:
    assert metric_names('sum by (service) (rate(shouhu_http_requests_total{status=~"5.."}[5m]))') == \
        {"shouhu_http_requests_total"}
    assert "shouhu_outbox_age_seconds" not in shouhu_metrics()


def test_the_dashboard_is_valid_json_reading_metrics_that_exist() -> None:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    assert dashboard["uid"] and dashboard["title"]
    panels = dashboard["panels"]
    assert len({panel["id"] for panel in panels}) == len(panels) >= 6
    known = shouhu_metrics() | EXTERNAL_METRICS
    for panel in panels:
        for target in panel["targets"]:
            names = metric_names(target["expr"])
            assert names and names <= known, f"{panel['title']}: unknown metrics {names - known}"


@pytest.mark.parametrize("overlay", ("county", "province"))
def test_pod_monitors_select_the_pods_and_ports_that_serve_metrics(rendered, overlay: str) -> None:
    resources = rendered(overlay)
    monitors = by_kind(resources, "PodMonitor")
    apis = monitors["shouhu-apis"]["spec"]
    for service in SERVICES:
        api = by_kind(resources, "Deployment")[f"{service}-api"]["spec"]["template"]
        assert selector_matches(apis["selector"]["matchLabels"], api["metadata"]["labels"]), service
        ports = {p["name"] for p in api["spec"]["containers"][0]["ports"]}
        assert {e["port"] for e in apis["podMetricsEndpoints"]} <= ports, service
    workers = [d for name, d in by_kind(resources, "Deployment").items() if name.endswith("-worker")]
    assert not any(selector_matches(apis["selector"]["matchLabels"], w["spec"]["template"]["metadata"]["labels"])
                   for w in workers)
    assert monitors["shouhu-databases"]["spec"]["selector"]["matchLabels"] == {"cnpg.io/podRole": "instance"}
    exporter = by_kind(resources, "Kafka")["shouhu-kafka"]["spec"]["kafkaExporter"]
    assert re.fullmatch(exporter["groupRegex"], "shouhu-visits.visits.registry")
    assert re.fullmatch(exporter["topicRegex"], "shouhu.registry.events.v1")
    [dashboard] = [c for name, c in by_kind(resources, "ConfigMap").items() if name == "shouhu-grafana-dashboard"]
    assert dashboard["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert json.loads(dashboard["data"]["shouhu.json"])["uid"] == "shouhu-overview"


def claims(resources: list[dict[str, Any]]) -> list[str]:
    """The name of every PersistentVolumeClaim an overlay makes, as the operators name them:
    CloudNativePG <cluster>-<n> (data), <cluster>-<n>-wal, <cluster>-<n>-tbs-<tablespace>;
    Strimzi data-<volume id>-<kafka>-<pool>-<n> (JBOD) or data-<kafka>-<pool>-<n>; a
    StatefulSet's <template>-<set>-<n>; and PersistentVolumeClaims as written."""
    names = list(by_kind(resources, "PersistentVolumeClaim"))
    for name, cluster in by_kind(resources, "Cluster").items():
        spec = cluster["spec"]
        for n in range(1, spec.get("instances", 1) + 1):
            names.append(f"{name}-{n}")
            if "walStorage" in spec:
                names.append(f"{name}-{n}-wal")
            names += [f"{name}-{n}-tbs-{t['name']}" for t in spec.get("tablespaces", [])]
    for pool, spec in ((n, r["spec"]) for n, r in by_kind(resources, "KafkaNodePool").items()):
        kafka = by_kind(resources, "KafkaNodePool")[pool]["metadata"]["labels"]["strimzi.io/cluster"]
        storage = spec["storage"]
        for n in range(spec.get("replicas", 1)):
            if storage["type"] == "persistent-claim":
                names.append(f"data-{kafka}-{pool}-{n}")
            for volume in storage.get("volumes", []) if storage["type"] == "jbod" else []:
                if volume["type"] == "persistent-claim":
                    names.append(f"data-{volume['id']}-{kafka}-{pool}-{n}")
    for name, sets in by_kind(resources, "StatefulSet").items():
        for template in sets["spec"].get("volumeClaimTemplates", []):
            names += [f"{template['metadata']['name']}-{name}-{n}" for n in range(sets["spec"].get("replicas", 1))]
    return names


@pytest.mark.parametrize("overlay", ("county", "province"))
def test_every_volume_the_overlay_claims_is_watched(rendered, overlay: str) -> None:
    resources = rendered(overlay)
    volume_rules = [rule for rule in rules(resources) if "kubelet_volume_stats" in rule["expr"]]
    assert {rule["alert"] for rule in volume_rules} >= {"ShouhuVolumeFilling", "ShouhuVolumeAlmostFull",
                                                        "ShouhuVolumeFillingFast"}
    made = claims(resources)
    assert any(name.endswith("-wal") for name in made) or overlay == "county", made
    assert any(name.startswith("data-") for name in made) and any(name.startswith("registry-db-") for name in made)
    for rule in volume_rules:
        patterns = re.findall(r'persistentvolumeclaim=~"([^"]+)"', rule["expr"])
        assert patterns, rule["alert"]
        unwatched = [name for name in made if not any(re.fullmatch(p, name) for p in patterns)]
        assert not unwatched, f"{overlay}: {rule['alert']} misses {unwatched}"
