"""Every overlay renders with the pinned kustomize and holds what its size calls for."""

from __future__ import annotations

import re

import pytest

from tests.deploy.conftest import K8S, OVERLAYS, SERVICES, by_kind, kustomize_build

# Every kind an overlay must contain, and how many.
CORE_PER_OVERLAY = {"Namespace": 1, "ServiceAccount": 5, "Deployment": 11, "Service": 6, "Job": 5,
                    "HorizontalPodAutoscaler": 5, "PodDisruptionBudget": 11, "Cluster": 5,
                    "Kafka": 1, "KafkaNodePool": 1}
DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
DNS_LABEL = re.compile(r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")


def test_base_renders_on_its_own(tools) -> None:
    resources = kustomize_build(tools, K8S / "base")
    assert {r["kind"] for r in resources} >= {"Deployment", "Job", "Cluster", "Kafka", "KafkaTopic"}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_renders_with_every_part(rendered, overlay: str) -> None:
    resources = rendered(overlay)
    counts: dict[str, int] = {}
    for resource in resources:
        counts[resource["kind"]] = counts.get(resource["kind"], 0) + 1
    for kind, expected in CORE_PER_OVERLAY.items():
        assert counts.get(kind) == expected, f"{overlay}: {counts.get(kind)} {kind}, expected {expected}"
    namespace = by_kind(resources, "Namespace")
    for resource in resources:
        if resource["kind"] != "Namespace":
            assert resource["metadata"].get("namespace") in namespace, \
                f"{overlay}: {resource['kind']}/{resource['metadata']['name']} is outside the overlay's namespace"
    for service in SERVICES:
        for name, kind in ((f"{service}-api", "Deployment"), (f"{service}-worker", "Deployment"),
                           (f"{service}-api", "Service"), (f"{service}-migrate", "Job"),
                           (f"{service}-api", "HorizontalPodAutoscaler"), (f"{service}-db", "Cluster")):
            assert name in by_kind(resources, kind), f"{overlay}: no {kind} {name}"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_names_are_valid_kubernetes_names(rendered, overlay: str) -> None:
    for resource in rendered(overlay):
        name = resource["metadata"]["name"]
        pattern = DNS_LABEL if resource["kind"] in ("Service", "Namespace") else DNS_SUBDOMAIN
        assert pattern.match(name), f"{overlay}: {resource['kind']} name {name!r} is not a valid name"


def test_overlays_differ_as_their_sizes_require(rendered) -> None:
    def pool_replicas(overlay: str) -> int:
        return by_kind(rendered(overlay), "KafkaNodePool")["combined"]["spec"]["replicas"]

    def db_instances(overlay: str) -> set[int]:
        return {c["spec"]["instances"] for c in by_kind(rendered(overlay), "Cluster").values()}

    assert (pool_replicas("dev"), pool_replicas("county"), pool_replicas("province")) == (1, 1, 3)
    assert (db_instances("dev"), db_instances("county"), db_instances("province")) == ({1}, {2}, {3})
    # KEDA only in the province; backups everywhere but dev.
    assert not by_kind(rendered("dev"), "ScaledObject") and not by_kind(rendered("county"), "ScaledObject")
    assert by_kind(rendered("province"), "ScaledObject")
    assert not by_kind(rendered("dev"), "ScheduledBackup")
    for overlay in ("county", "province"):
        backups = by_kind(rendered(overlay), "ScheduledBackup")
        assert {b["spec"]["cluster"]["name"] for b in backups.values()} == {f"{s}-db" for s in SERVICES}
        for cluster in by_kind(rendered(overlay), "Cluster").values():
            plugins = cluster["spec"].get("plugins", [])
            assert any(p.get("isWALArchiver") for p in plugins), f"{overlay}: {cluster['metadata']['name']} archives no WAL"


# How each overlay replicates its databases: (synchronous settings, instances at least).
# The province never acknowledges a commit only one instance has, and keeps writing with one
# standby down; the county (two instances) prefers a standby and goes on without one.
DURABILITY = {
    "dev": (None, 1),
    "county": ({"method": "any", "number": 1, "dataDurability": "preferred"}, 2),
    "province": ({"method": "any", "number": 1, "dataDurability": "required"}, 3),
}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_database_replication_is_as_durable_as_the_overlay_promises(rendered, overlay: str) -> None:
    synchronous, least_instances = DURABILITY[overlay]
    for name, cluster in by_kind(rendered(overlay), "Cluster").items():
        spec = cluster["spec"]
        assert spec["postgresql"].get("synchronous") == synchronous, f"{overlay}: {name} replication"
        assert spec["instances"] >= least_instances, f"{overlay}: {name} has {spec['instances']} instances"
        if synchronous and synchronous["dataDurability"] == "required":
            # One standby may be lost without stopping writes.
            assert spec["instances"] - 1 > synchronous["number"], f"{overlay}: {name} blocks on one lost standby"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_images_are_pinned(rendered, overlay: str) -> None:
    for resource in rendered(overlay):
        spec = resource.get("spec", {})
        pod = spec.get("template", {}).get("spec") if isinstance(spec, dict) else None
        images = [c["image"] for c in (pod or {}).get("containers", [])]
        if resource["kind"] == "Cluster":
            images.append(spec["imageName"])
        for image in images:
            name, _, tag = image.rpartition(":")
            assert name and tag and "/" not in tag and tag != "latest", f"{overlay}: unpinned image {image!r}"


# Argo CD applies in waves and waits for each to be healthy: what holds data first, then the
# migrations, then the processes that need the migrated schema.
DATA_KINDS = {"Cluster", "Kafka", "KafkaNodePool", "KafkaTopic", "KafkaUser", "ObjectStore"}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_gitops_sync_waves_put_data_before_migrations_before_processes(rendered, overlay: str) -> None:
    def wave(resource: dict) -> int:
        return int(resource["metadata"].get("annotations", {}).get("argocd.argoproj.io/sync-wave", "0"))

    resources = rendered(overlay)
    for resource in resources:
        annotations = resource["metadata"].get("annotations", {})
        assert "argocd.argoproj.io/hook" not in annotations, f"{overlay}: {resource['metadata']['name']} is a hook"
    data = {wave(r) for r in resources if r["kind"] in DATA_KINDS}
    jobs = {wave(r) for r in resources if r["kind"] == "Job"}
    processes = {wave(r) for r in resources if r["kind"] == "Deployment"}
    assert max(data) < min(jobs) and max(jobs) < min(processes), f"{overlay}: waves {data} {jobs} {processes}"
    for job in by_kind(resources, "Job").values():
        # A Job's template is immutable: Argo CD must replace it on a new release.
        assert job["metadata"]["annotations"]["argocd.argoproj.io/sync-options"] == "Force=true,Replace=true"


def test_backups_go_to_a_path_per_deployment_encrypted_and_start_at_once(rendered) -> None:
    paths = {}
    for overlay in ("county", "province"):
        resources = rendered(overlay)
        [location] = [c for n, c in by_kind(resources, "ConfigMap").items() if n.startswith("shouhu-backup-location")]
        deployment = location["data"]["deployment"]
        assert re.fullmatch(r"[a-z0-9][a-z0-9-]*", deployment), f"{overlay}: deployment id {deployment!r}"
        for store in by_kind(resources, "ObjectStore").values():
            config = store["spec"]["configuration"]
            service = store["metadata"]["labels"]["app.kubernetes.io/name"]
            assert config["destinationPath"] == f"s3://{location['data']['bucket']}/{deployment}/{service}"
            assert config["wal"]["encryption"] == config["data"]["encryption"] == "AES256"
            paths.setdefault(config["destinationPath"], []).append(overlay)
        for cluster in by_kind(resources, "Cluster").values():
            [plugin] = cluster["spec"]["plugins"]
            # One archive per Cluster generation: a restored Cluster archives under a new name.
            assert re.fullmatch(rf"{cluster['metadata']['name']}-g\d+", plugin["parameters"]["serverName"])
        assert all(b["spec"]["immediate"] is True for b in by_kind(resources, "ScheduledBackup").values())
    assert all(len(overlays) == 1 for overlays in paths.values()), f"two deployments share a backup path: {paths}"
