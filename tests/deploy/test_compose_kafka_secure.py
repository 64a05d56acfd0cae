"""docker-compose.kafka-secure.yml, Kafka as production runs it under Compose, checked without
a Docker engine: merged over docker-compose.yml as Compose merges an override, it is a valid
Compose project (the specification's schema and compose-go's loader); every Shouhu process
logs in over TLS as its own service; the ACLs its script grants are those of the Strimzi
KafkaUsers (deploy/k8s); the broker has no plaintext client listener; and the certificate
script makes a CA and a broker certificate the services' TLS context accepts."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from aiokafka.helpers import create_ssl_context
from cryptography import x509

from shared.kafka_security import kafka_security
from shared.settings import ServiceSettings
from tests.deploy.conftest import DEPLOY, K8S, REPO, SERVICES, read_env_file
from tests.deploy.test_compose import COMPOSE, ENV_EXAMPLE, interpolate

OVERRIDE = REPO / "docker-compose.kafka-secure.yml"
SCRIPTS = DEPLOY / "compose" / "kafka-secure"
ROLES = ("migrate", "api", "worker")


def merge(base: Any, override: Any) -> Any:
    """Compose's merge of an override file: mappings key by key, volume lists by target."""
    if isinstance(base, dict) and isinstance(override, dict):
        merged = dict(base)
        for key, value in override.items():
            merged[key] = merge(base[key], value) if key in base else value
        return merged
    if isinstance(base, list) and isinstance(override, list):
        return base + [item for item in override if item not in base]
    return override


def merged_model() -> dict[str, Any]:
    return merge(yaml.safe_load(COMPOSE.read_text(encoding="utf-8")),
                 yaml.safe_load(OVERRIDE.read_text(encoding="utf-8")))


def example_env() -> dict[str, str]:
    return read_env_file(ENV_EXAMPLE)


def test_the_variant_is_a_valid_compose_project(tools, tmp_path: Path) -> None:
    schema = json.loads(tools.compose_schema.read_text(encoding="utf-8"))
    model = interpolate(merged_model(), example_env())
    errors = list(jsonschema.validators.validator_for(schema)(schema).iter_errors(model))
    assert not errors, "\n".join(f"{'/'.join(map(str, e.path))}: {e.message}" for e in errors)
    merged = REPO / f".compose-kafka-secure-{tmp_path.name}.yml"  # beside the other, for its relative paths
    merged.write_text(yaml.safe_dump(merged_model(), sort_keys=False), encoding="utf-8")
    try:
        done = subprocess.run([str(tools.compose_check), "-file", str(merged), "-env-file", str(ENV_EXAMPLE)],
                              capture_output=True, text=True, timeout=60, cwd=REPO, check=False)
        assert done.returncode == 0, done.stderr
        without = tmp_path / "without-kafka-passwords.env"
        without.write_text("".join(line + "\n" for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()
                                   if not line.startswith("SHOUHU_KAFKA_ADMIN_PASSWORD=")), encoding="utf-8")
        refused = subprocess.run([str(tools.compose_check), "-file", str(merged), "-env-file", str(without)],
                                 capture_output=True, text=True, timeout=60, cwd=REPO, check=False)
        assert refused.returncode != 0 and "SHOUHU_KAFKA_ADMIN_PASSWORD" in refused.stderr
    finally:
        merged.unlink()


@pytest.mark.parametrize("service", SERVICES)
def test_every_process_logs_in_over_tls_as_its_own_service(service: str) -> None:
    model = interpolate(merged_model(), {**example_env(), f"SHOUHU_KAFKA_{service.upper()}_PASSWORD": "s3cret"})
    for role in ROLES:
        process = model["services"][f"{service}-{role}"]
        environment = process["environment"]
        assert environment["SHOUHU_KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092"
        assert environment["SHOUHU_KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
        assert environment["SHOUHU_KAFKA_SASL_MECHANISM"] == "SCRAM-SHA-512"
        assert environment["SHOUHU_KAFKA_SASL_USERNAME"] == f"shouhu-{service}"
        assert environment["SHOUHU_KAFKA_SASL_PASSWORD"] == "s3cret"
        assert any(volume.endswith(":/run/kafka-tls:ro") for volume in process["volumes"])
        # The settings these variables make are what every aiokafka client is created with.
        settings = ServiceSettings(service_name=service, **{
            "kafka_security_protocol": environment["SHOUHU_KAFKA_SECURITY_PROTOCOL"],
            "kafka_sasl_mechanism": environment["SHOUHU_KAFKA_SASL_MECHANISM"],
            "kafka_sasl_username": environment["SHOUHU_KAFKA_SASL_USERNAME"],
            "kafka_sasl_password": environment["SHOUHU_KAFKA_SASL_PASSWORD"]})
        options = kafka_security(settings.model_copy(update={"kafka_ssl_cafile": None}))
        assert (options["security_protocol"], options["sasl_plain_username"]) == ("SASL_SSL", f"shouhu-{service}")
    workers_wait_for = model["services"][f"{service}-worker"]["depends_on"]
    assert workers_wait_for["kafka-acls"]["condition"] == "service_completed_successfully"


def _granted_by_script() -> set[tuple[str, str, str, str, str]]:
    text = (SCRIPTS / "kafka-acls.sh").read_text(encoding="utf-8")
    block = re.search(r"GRANTS=\((.*?)\n\)", text, re.S)
    assert block
    grants = set()
    for line in re.findall(r'"([^"]+)"', block.group(1)):
        login, resource, name, pattern, operations = line.split()
        for operation in operations.split(","):
            grants.add((login, resource, name, pattern, operation))
    return grants


def _granted_by_strimzi() -> set[tuple[str, str, str, str, str]]:
    grants = set()
    for user in yaml.safe_load_all((K8S / "base" / "kafka" / "users.yaml").read_text(encoding="utf-8")):
        if not user or user.get("kind") != "KafkaUser":
            continue
        for acl in user["spec"]["authorization"]["acls"]:
            resource = acl["resource"]
            pattern = "prefixed" if resource.get("patternType") == "prefix" else "literal"
            for operation in acl["operations"]:
                grants.add((user["metadata"]["name"], resource["type"], resource["name"], pattern, operation))
    return grants


def test_the_acls_are_the_strimzi_users_acls() -> None:
    assert _granted_by_script() == _granted_by_strimzi()
    assert {grant[0] for grant in _granted_by_script()} == {f"shouhu-{service}" for service in SERVICES}


def test_the_broker_takes_clients_only_over_tls_with_a_login_and_enforces_acls() -> None:
    start = (SCRIPTS / "start-kafka.sh").read_text(encoding="utf-8")
    properties = dict(line.split("=", 1) for line in re.search(r"<<PROPERTIES\n(.*?)\nPROPERTIES", start, re.S)
                      .group(1).splitlines() if "=" in line)
    assert properties["listeners"] == "SASL_SSL://:9092,CONTROLLER://127.0.0.1:9093"
    assert "PLAINTEXT" not in properties["advertised.listeners"]
    assert properties["sasl.enabled.mechanisms"] == "SCRAM-SHA-512"
    assert properties["authorizer.class.name"].endswith("StandardAuthorizer")
    assert properties["allow.everyone.if.no.acl.found"] == "false"
    logins = set(re.findall(r'"([a-z-]+):\$KAFKA_[A-Z]+_PASSWORD"', start))
    assert logins == {"admin", *(f"shouhu-{service}" for service in SERVICES)}
    kafka = merged_model()["services"]["kafka"]
    assert kafka["entrypoint"][-1] == "/shouhu/kafka-secure/start-kafka.sh"
    assert "--bootstrap-server kafka:9092" in kafka["healthcheck"]["test"][-1]
    for script in SCRIPTS.glob("*.sh"):
        done = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True, check=False)
        assert done.returncode == 0, f"{script.name}: {done.stderr}"


def test_the_certificate_script_makes_what_the_broker_and_the_clients_need(tmp_path: Path) -> None:
    done = subprocess.run(["bash", str(SCRIPTS / "make-certs.sh"), str(tmp_path)], capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    broker_pem = (tmp_path / "broker.pem").read_text()
    assert broker_pem.startswith("-----BEGIN PRIVATE KEY-----")  # PKCS#8, as Kafka's PEM keystore wants
    certificate = x509.load_pem_x509_certificate(broker_pem[broker_pem.index("-----BEGIN CERTIFICATE-----"):].encode())
    names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "kafka" in names.get_values_for_type(x509.DNSName)
    create_ssl_context(cafile=str(tmp_path / "ca.crt"))  # what shared/kafka_security.py builds
    ca = x509.load_pem_x509_certificate((tmp_path / "ca.crt").read_bytes())
    assert certificate.issuer == ca.subject
