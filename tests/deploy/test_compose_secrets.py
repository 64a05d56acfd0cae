"""docker-compose.yml passes the field-encryption keys as Compose secrets (files under
/run/secrets), not as environment variables; deploy/compose/new-secrets writes those files."""

from __future__ import annotations

import base64
import os
import stat
import subprocess
from pathlib import Path

import pytest
import yaml

from shared.crypto import CryptoSettings, FieldCipher
from shared.crypto_suites import AES_256_GCM, SM4_GCM
from tests.deploy.conftest import DEPLOY, REPO
from tests.deploy.test_compose import COMPOSE, ENV_EXAMPLE, compose_model, interpolate, read_env_file

ENCRYPTING = ("registry", "pairing", "visits", "notify")
NEW_SECRETS = DEPLOY / "compose" / "new-secrets"


def secret_names(service: str) -> list[str]:
    return [f"{service}_crypto_keys", f"{service}_crypto_index_key"]


@pytest.mark.parametrize("service", ENCRYPTING)
def test_keys_reach_each_container_as_secret_files_never_as_environment(service: str) -> None:
    model = compose_model()
    env = read_env_file(ENV_EXAMPLE)
    for role in ("migrate", "api", "worker"):
        entry = model["services"][f"{service}-{role}"]
        environment = interpolate(entry["environment"], env)
        assert "SHOUHU_CRYPTO_KEYS" not in environment and "SHOUHU_CRYPTO_INDEX_KEY" not in environment
        # Compose mounts a short-syntax secret at /run/secrets/<name>: the files the settings read.
        assert entry["secrets"] == secret_names(service), f"{service}-{role}"
        assert environment["SHOUHU_CRYPTO_KEYS_FILE"] == f"/run/secrets/{service}_crypto_keys"
        assert environment["SHOUHU_CRYPTO_INDEX_KEY_FILE"] == f"/run/secrets/{service}_crypto_index_key"
        assert environment["SHOUHU_CRYPTO_CURRENT_KEY_ID"] == "k1"
        assert environment["SHOUHU_CRYPTO_INDEX_SUITE"] == "hmac-sha256"
    for name in secret_names(service):
        source = model["secrets"][name]["file"]
        assert source == f"${{SHOUHU_SECRETS_DIR:-./secrets}}/{name.replace('_', '-')}"


def test_no_key_material_is_left_in_compose_or_env_example() -> None:
    # Each service sees only its own keys, and reports (no personal data) none.
    model = compose_model()
    for name, entry in model["services"].items():
        owner = name.rsplit("-", 1)[0]
        assert set(entry.get("secrets", [])) <= set(secret_names(owner)), name
    assert "secrets" not in model["services"]["reports-api"]
    assert set(model["secrets"]) == {n for s in ENCRYPTING for n in secret_names(s)}
    assert "__RANDOM_KEY__" not in ENV_EXAMPLE.read_text(encoding="utf-8")
    assert not [k for k in read_env_file(ENV_EXAMPLE) if k.endswith(("_CRYPTO_KEYS", "_CRYPTO_INDEX_KEY"))]


def test_compose_resolves_the_secret_files_under_the_secrets_dir(tools, tmp_path) -> None:
    env_file = tmp_path / "site.env"
    env_file.write_text(ENV_EXAMPLE.read_text(encoding="utf-8").replace(
        "SHOUHU_SECRETS_DIR=./secrets", "SHOUHU_SECRETS_DIR=/srv/shouhu/secrets"), encoding="utf-8")
    done = subprocess.run([str(tools.compose_check), "-file", str(COMPOSE), "-env-file", str(env_file), "-print"],
                          capture_output=True, text=True, timeout=60, cwd=REPO, check=False)
    assert done.returncode == 0, done.stderr
    project = yaml.safe_load(done.stdout)
    assert project["secrets"]["registry_crypto_keys"]["file"] == "/srv/shouhu/secrets/registry-crypto-keys"
    mounted = project["services"]["registry-api"]["secrets"]
    assert [s["source"] for s in mounted] == secret_names("registry")


def cipher_from(directory: Path, service: str, current: str = "k1") -> FieldCipher:
    return FieldCipher.from_settings(CryptoSettings(
        keys_file=str(directory / f"{service}-crypto-keys"), index_key_file=str(directory / f"{service}-crypto-index-key"),
        current_key_id=current))


def test_new_secrets_writes_keys_the_services_accept_and_never_replaces_one(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("SHOUHU_ENV", raising=False)  # as in production: development keys are refused
    directory = tmp_path / "secrets"
    subprocess.run([str(NEW_SECRETS), str(directory)], check=True, capture_output=True, timeout=30)

    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert sorted(p.name for p in directory.iterdir()) == sorted(
        f"{s}-crypto-{kind}" for s in ENCRYPTING for kind in ("keys", "index-key"))
    ciphers = {s: cipher_from(directory, s) for s in ENCRYPTING}
    for service, cipher in ciphers.items():
        assert stat.S_IMODE((directory / f"{service}-crypto-keys").stat().st_mode) == 0o444
        assert cipher.suite_of("k1") == AES_256_GCM and not cipher.uses_development_keys()
        assert cipher.decrypt(cipher.encrypt("x", context="c"), context="c") == "x"
    # Fresh keys per service: one service's keys open nothing of another's.
    assert len({c.keys["k1"] for c in ciphers.values()} | {c.index_key for c in ciphers.values()}) == 8

    before = {p.name: p.read_bytes() for p in directory.iterdir()}
    again = subprocess.run([str(NEW_SECRETS), str(directory)], capture_output=True, text=True, timeout=30)
    assert again.returncode != 0 and "not replacing a key" in again.stderr
    assert {p.name: p.read_bytes() for p in directory.iterdir()} == before
    assert not any(base64.b64encode(v).decode() in again.stderr for v in ciphers["registry"].keys.values())


def test_new_secrets_can_start_a_deployment_on_sm4(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("SHOUHU_ENV", raising=False)
    subprocess.run([str(NEW_SECRETS), "--sm4", str(tmp_path / "s")], check=True, capture_output=True, timeout=30,
                   env=dict(os.environ))
    cipher = cipher_from(tmp_path / "s", "registry")
    assert cipher.suite_of("k1") == SM4_GCM and len(cipher.keys["k1"]) == 16
    assert cipher.encrypt("x", context="c").startswith("v1.k1.")
