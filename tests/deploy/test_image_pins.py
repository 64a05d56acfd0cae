"""Every image Shouhu builds on or runs is named by digest (docs/operations.md, "Reproducible
images"): the Dockerfile's base images, the third-party images of docker-compose*.yml, and every
container and database image the overlays render. Our own images are exempt only where they are
built locally (compose, the dev overlay); county and province name them by digest, written by
scripts/release-images."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.deploy.conftest import K8S, OVERLAYS, REPO, by_kind, kustomize_build

DIGEST = re.compile(r"^[a-z0-9][a-z0-9._/-]*(?::[A-Za-z0-9_][A-Za-z0-9_.-]*)?@sha256:[0-9a-f]{64}$")
OWN = ("shouhu", "shouhu-gateway")
UNRELEASED = "sha256:" + "0" * 64
RELEASE = REPO / "scripts" / "release-images"


def own(image: str) -> bool:
    return image.split("@")[0].rsplit(":", 1)[0].rsplit("/", 1)[-1] in OWN


def test_every_dockerfile_base_image_is_pinned_by_digest() -> None:
    dockerfile = (REPO / "Dockerfile").read_text(encoding="utf-8")
    args = dict(re.findall(r"^ARG (\w+)=(\S+)$", dockerfile, re.MULTILINE))
    stages: set[str] = set()
    froms = re.findall(r"^FROM (\S+)(?: AS (\w+))?$", dockerfile, re.MULTILINE)
    assert froms
    for image, stage in froms:
        variable = re.fullmatch(r"\$\{(\w+)\}", image)
        resolved = args.get(variable[1], "") if variable else image
        assert image in stages or DIGEST.match(resolved), f"FROM {image} ({resolved!r}) is not pinned by digest"
        if stage:
            stages.add(stage)
    for source in re.findall(r"--from=(\S+)", dockerfile):
        assert source in stages or DIGEST.match(source), f"COPY --from={source} is not pinned by digest"


@pytest.mark.parametrize("compose", ["docker-compose.yml", "docker-compose.kafka-secure.yml"])
def test_every_third_party_compose_image_is_pinned_by_digest(compose: str) -> None:
    document = yaml.safe_load((REPO / compose).read_text(encoding="utf-8"))
    images = {name: service["image"] for name, service in document["services"].items() if "image" in service}
    assert images
    for name, image in images.items():
        # The registry prefix is a variable (a site's mirror); what follows it is checked.
        bare = re.sub(r"^\$\{SHOUHU_IMAGE_REGISTRY:-[^}]+\}/", "", image)
        if own(bare.replace("${SHOUHU_VERSION:-dev}", "dev")):
            continue   # built by this compose file from this checkout
        assert DIGEST.match(bare), f"{compose}: service {name} runs {image!r}, not pinned by digest"


def rendered_images(resources: list[dict]) -> list[tuple[str, str]]:
    found = []
    for resource in resources:
        spec = resource.get("spec") or {}
        template = spec.get("jobTemplate", {}).get("spec", spec).get("template", {}) if isinstance(spec, dict) else {}
        pod = template.get("spec") or {}
        for container in pod.get("containers", []) + pod.get("initContainers", []):
            found.append((f"{resource['kind']}/{resource['metadata']['name']}", container["image"]))
        if resource["kind"] == "Cluster":
            found.append((f"Cluster/{resource['metadata']['name']}", spec["imageName"]))
    return found


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_rendered_image_is_pinned_by_digest(rendered, overlay: str) -> None:
    images = rendered_images(rendered(overlay))
    assert images
    for where, image in images:
        if overlay == "dev" and own(image):
            assert image.startswith("localhost/"), f"dev: {where} runs {image}; dev runs only locally built images"
            continue
        assert DIGEST.match(image), f"{overlay}: {where} runs {image!r}, not pinned by digest"


def test_example_overlays_hold_the_placeholder_until_a_release_is_written(rendered) -> None:
    """The committed county and province overlays point at the example registry with the
    all-zero digest; an overlay naming any other registry must carry a real digest."""
    for overlay in ("county", "province"):
        for where, image in rendered_images(rendered(overlay)):
            if own(image):
                if image.endswith(UNRELEASED):
                    assert image.startswith("registry.example.gov.cn/"), \
                        f"{overlay}: {where} names a real registry with the placeholder digest: {image}"
    done = subprocess.run([sys.executable, str(RELEASE), "verify"], capture_output=True, text=True, check=False)
    assert done.returncode == 1 and "placeholder digest" in done.stderr, done.stderr


def test_release_script_writes_digests_an_overlay_renders_and_verify_accepts(tools, tmp_path: Path) -> None:
    overlays = tmp_path / "k8s"
    shutil.copytree(K8S, overlays)
    county = overlays / "overlays" / "county"
    before = (county / "kustomization.yaml").read_text(encoding="utf-8")
    digests = {"shouhu": "sha256:" + "1a" * 32, "shouhu-gateway": "sha256:" + "2b" * 32}
    done = subprocess.run([sys.executable, str(RELEASE), "set", "--registry", "harbor.county.gov.cn/shouhu",
                           "--version", "1.4.0", "--shouhu", digests["shouhu"], "--gateway", digests["shouhu-gateway"],
                           str(county)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    after = (county / "kustomization.yaml").read_text(encoding="utf-8")
    # Only the two entries changed; every comment and every other line is as it was.
    changed = [line for line in after.splitlines() if line not in before.splitlines()]
    assert len(changed) == 6 and all(re.match(r"\s+(newName|newTag|digest): ", line) for line in changed), changed
    assert [line for line in before.splitlines() if line.lstrip().startswith("#")] == \
        [line for line in after.splitlines() if line.lstrip().startswith("#")]
    resources = kustomize_build(tools, county)
    for deployment in by_kind(resources, "Deployment").values():
        [container] = deployment["spec"]["template"]["spec"]["containers"]
        name = "shouhu-gateway" if "gateway" in container["image"] else "shouhu"
        assert container["image"] == f"harbor.county.gov.cn/shouhu/{name}:1.4.0@{digests[name]}"
    verified = subprocess.run([sys.executable, str(RELEASE), "verify", str(county)], capture_output=True, text=True,
                              check=False)
    assert verified.returncode == 0, verified.stderr
    refused = subprocess.run([sys.executable, str(RELEASE), "set", "--version", "1.4.1", "--shouhu", "latest",
                              "--gateway", digests["shouhu-gateway"], str(county)], capture_output=True, text=True,
                             check=False)
    assert refused.returncode != 0 and "is not a digest" in refused.stderr


def test_pin_images_lists_every_pinned_reference() -> None:
    """scripts/pin-images (which re-resolves the digests where a registry is reachable) finds
    every pin the tests above require, so none is left out of a refresh."""
    done = subprocess.run([sys.executable, str(REPO / "scripts" / "pin-images"), "--list"], capture_output=True,
                          text=True, check=True)
    listed = {line.split(": ", 1)[1] for line in done.stdout.splitlines()}
    names = {ref.split("@")[0].rsplit(":", 1)[0].rsplit("/", 1)[-1] for ref in listed}
    assert {"python", "node", "nginx", "postgres", "kafka", "postgresql"} <= names, names
