"""Closed by default: outside development mode a service refuses to start with settings that
would leave it open, naming each of them on one line."""

from __future__ import annotations

import base64
import os
import subprocess
import sys

import pytest

from shared.crypto import CryptoSettings, FieldCipher
from shared.safety import EXIT_UNSAFE, check_startup, production_problems
from shared.settings import DEV_SIGNING_KEY, ServiceSettings
from tests.support.processes import REPO

SERVICES = ("registry", "pairing", "visits", "notify")


def _key(byte: int) -> str:
    return base64.b64encode(bytes([byte]) * 32).decode()


# A complete production configuration; each test takes one setting away or spoils it.
PRODUCTION = {
    "SHOUHU_AUTH_MODE": "oidc",
    "SHOUHU_AUTH_OIDC_JWKS_URL": "https://idp.example.gov.cn/realms/shouhu/protocol/openid-connect/certs",
    "SHOUHU_AUTH_ISSUER": "https://idp.example.gov.cn/realms/shouhu",
    "SHOUHU_AUTH_AUDIENCE": "shouhu",
    "SHOUHU_CRYPTO_KEYS": f"k1:{_key(7)}",
    "SHOUHU_CRYPTO_CURRENT_KEY_ID": "k1",
    "SHOUHU_CRYPTO_INDEX_KEY": _key(9),
}
# The development key, set explicitly: as unsafe as leaving the keys out.
DEV_DERIVED_KEYS = "dev1:" + base64.b64encode(FieldCipher.development().keys["dev1"]).decode()


def _spawn(service: str, role: str, settings: dict[str, str]) -> subprocess.Popen:
    env = {key: value for key, value in os.environ.items() if not key.startswith("SHOUHU_")}
    # A database nobody listens on: a process that got past the check would fail differently.
    env[f"SHOUHU_{service.upper()}_DATABASE_URL"] = "postgresql://nobody:x@127.0.0.1:9/none"
    env.update(settings)
    return subprocess.Popen([sys.executable, "-m", f"services.{service}", role], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)


def _refusal(process: subprocess.Popen) -> str:
    """The one line a refusing process wrote, once it has exited with the refusal's code."""
    _stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == EXIT_UNSAFE, stderr[-2000:]
    lines = [line for line in stderr.splitlines() if "refusing to start" in line]
    assert len(lines) == 1, stderr[-2000:]
    return lines[0]


def test_with_nothing_configured_every_process_refuses_and_names_every_setting() -> None:
    processes = {(service, role): _spawn(service, role, {}) for service in SERVICES for role in ("api", "worker")}
    for (service, role), process in processes.items():
        line = _refusal(process)
        assert line.startswith(f"shouhu {service} {role}: refusing to start")
        for setting in ("SHOUHU_AUTH_MODE must be oidc", "SHOUHU_AUTH_DEV_SIGNING_KEY is the public development key",
                        "SHOUHU_AUTH_OIDC_JWKS_URL is missing",
                        "SHOUHU_CRYPTO_KEYS and SHOUHU_CRYPTO_INDEX_KEY are required"):
            assert setting in line
        assert DEV_SIGNING_KEY not in line


UNSAFE_CHANGES = [
    ({"SHOUHU_AUTH_MODE": "dev"}, "SHOUHU_AUTH_MODE must be oidc"),
    ({"SHOUHU_AUTH_OIDC_JWKS_URL": ""}, "SHOUHU_AUTH_OIDC_JWKS_URL is missing"),
    ({"SHOUHU_AUTH_ISSUER": ""}, "SHOUHU_AUTH_ISSUER is missing"),
    ({"SHOUHU_AUTH_AUDIENCE": ""}, "SHOUHU_AUTH_AUDIENCE is missing"),
    ({"SHOUHU_CRYPTO_KEYS": ""}, "SHOUHU_CRYPTO_KEYS and SHOUHU_CRYPTO_INDEX_KEY are required"),
    ({"SHOUHU_CRYPTO_INDEX_KEY": ""}, "SHOUHU_CRYPTO_KEYS and SHOUHU_CRYPTO_INDEX_KEY are required"),
    ({"SHOUHU_CRYPTO_KEYS": DEV_DERIVED_KEYS, "SHOUHU_CRYPTO_CURRENT_KEY_ID": "dev1"}, "a public development key"),
    ({"SHOUHU_CRYPTO_KEYS": "k1:not-base64!"}, "a key is not valid base64"),
    ({"SHOUHU_CRYPTO_KEYS_FILE": "/nonexistent/keys"}, "a key file cannot be read"),
    ({"SHOUHU_AUTH_DEV_IDP_ISSUER": "https://idp.example.gov.cn/realms/shouhu"}, "SHOUHU_AUTH_DEV_IDP_ISSUER is for development only"),
]


def _with(change: dict[str, str]) -> dict[str, str]:
    settings = {**PRODUCTION, **change}
    return {key: value for key, value in settings.items() if value != ""}


def test_the_complete_production_settings_have_no_problem() -> None:
    env = _with({"SHOUHU_ENV": "production"})  # only SHOUHU_ENV=development opens development mode
    assert production_problems(_service_settings(env), _crypto_settings(env)) == []


@pytest.mark.parametrize(("change", "named"), UNSAFE_CHANGES)
def test_each_missing_or_unsafe_setting_is_a_problem_named_by_its_setting(change, named) -> None:
    env = _with(change)
    problems = production_problems(_service_settings(env), _crypto_settings(env))
    assert any(named in problem for problem in problems), problems


def test_the_api_process_refuses_each_unsafe_setting_with_one_line_naming_it() -> None:
    processes = [(named, _spawn("registry", "api", _with(change))) for change, named in UNSAFE_CHANGES]
    for named, process in processes:
        line = _refusal(process)
        assert named in line
        assert PRODUCTION["SHOUHU_CRYPTO_INDEX_KEY"] not in line and _key(7) not in line


def _service_settings(env: dict[str, str]) -> ServiceSettings:
    from shared.settings import AuthSettings

    auth = {key.removeprefix("SHOUHU_AUTH_").lower(): value for key, value in env.items()
            if key.startswith("SHOUHU_AUTH_")}
    return ServiceSettings(auth=AuthSettings(**auth))


def _crypto_settings(env: dict[str, str]) -> CryptoSettings:
    crypto = {key.removeprefix("SHOUHU_CRYPTO_").lower(): value for key, value in env.items()
              if key.startswith("SHOUHU_CRYPTO_")}
    return CryptoSettings(**crypto)


def test_development_mode_starts_with_one_loud_line(monkeypatch) -> None:
    said = []

    class Log:
        def warning(self, event: str, **fields: object) -> None:
            said.append(event)

    monkeypatch.setenv("SHOUHU_ENV", "development")
    assert check_startup("registry", "api", ServiceSettings(), Log()) is None
    assert len(said) == 1 and said[0].startswith("DEVELOPMENT MODE")


def test_development_tokens_are_minted_only_in_development_mode(monkeypatch) -> None:
    from shared.auth import AuthError, issue_dev_token
    from shared.settings import AuthSettings

    monkeypatch.delenv("SHOUHU_ENV")
    with pytest.raises(AuthError, match="development mode"):
        issue_dev_token(AuthSettings(), subject="u", roles=["admin"], jurisdiction="000000000000")
    cli = subprocess.run([sys.executable, "-m", "shared.cli", "token", "--role", "admin", "--jurisdiction",
                          "000000000000"], cwd=REPO, capture_output=True, text=True, timeout=60,
                         env={k: v for k, v in os.environ.items() if k != "SHOUHU_ENV"})
    assert cli.returncode == 2 and cli.stdout == "" and "development mode" in cli.stderr


def test_a_service_that_encrypts_nothing_needs_no_keys_but_still_needs_oidc() -> None:
    # reports holds no encrypted field: its deployments carry no keys, and that is not a problem.
    no_keys = _with({"SHOUHU_CRYPTO_KEYS": "", "SHOUHU_CRYPTO_INDEX_KEY": ""})
    assert production_problems(_service_settings(no_keys), _crypto_settings(no_keys), encrypts=False) == []
    assert production_problems(_service_settings(no_keys), _crypto_settings(no_keys))  # a service that encrypts
    dev_auth = _with({"SHOUHU_CRYPTO_KEYS": "", "SHOUHU_CRYPTO_INDEX_KEY": "", "SHOUHU_AUTH_MODE": "dev"})
    assert production_problems(_service_settings(dev_auth), _crypto_settings(dev_auth), encrypts=False)
