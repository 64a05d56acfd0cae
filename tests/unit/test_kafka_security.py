"""The Kafka connection settings reach every client the services create: the outbox relay's
producer, the consumers, the admin client that checks topics, reconcile's reader and the
readiness probe. Plaintext stays the default for a local broker."""

from __future__ import annotations

import datetime
import re
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from shared.consumer import Consumer
from shared.http import KafkaProbe
from shared.kafka_security import KafkaSecurityError, kafka_security
from shared.outbox import create_producer
from shared.reconcile import create_reader
from shared.settings import ServiceSettings
from shared.topics import create_admin

REPO = Path(__file__).resolve().parents[2]


def write_ca(path: Path) -> Path:
    """A self-signed CA certificate, as Strimzi's cluster CA Secret holds one (ca.crt)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "cluster-ca")])
    issued = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(issued).not_valid_after(issued + datetime.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path


@pytest.fixture
def scram_env(monkeypatch, tmp_path) -> None:
    """The environment the Kubernetes overlays give a service's pods."""
    password = tmp_path / "password"
    password.write_text("s3cret-from-the-kafkauser\n", encoding="utf-8")
    monkeypatch.setenv("SHOUHU_KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("SHOUHU_KAFKA_SASL_MECHANISM", "SCRAM-SHA-512")
    monkeypatch.setenv("SHOUHU_KAFKA_SASL_USERNAME", "shouhu-visits")
    monkeypatch.setenv("SHOUHU_KAFKA_SASL_PASSWORD_FILE", str(password))
    monkeypatch.setenv("SHOUHU_KAFKA_SSL_CAFILE", str(write_ca(tmp_path / "ca.crt")))


def test_plaintext_is_the_default_and_carries_no_credentials(monkeypatch) -> None:
    for name in ("SHOUHU_KAFKA_SECURITY_PROTOCOL", "SHOUHU_KAFKA_SASL_USERNAME", "SHOUHU_KAFKA_SASL_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    assert kafka_security(ServiceSettings(service_name="visits")) == {"security_protocol": "PLAINTEXT"}


def test_sasl_without_credentials_names_what_is_missing(monkeypatch) -> None:
    monkeypatch.setenv("SHOUHU_KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.delenv("SHOUHU_KAFKA_SASL_PASSWORD", raising=False)
    monkeypatch.setenv("SHOUHU_KAFKA_SASL_USERNAME", "shouhu-visits")
    with pytest.raises(KafkaSecurityError, match=r"SASL_SSL needs SHOUHU_KAFKA_SASL_PASSWORD\(_FILE\)$"):
        kafka_security(ServiceSettings(service_name="visits"))


async def test_every_client_gets_tls_and_scram_credentials(scram_env) -> None:
    settings = ServiceSettings(service_name="visits")
    consumer = Consumer(settings, None, name="registry", topics=("shouhu.registry.events.v1",), handlers={})
    producer, reader = create_producer(settings), create_reader(settings)
    group_consumer, admin = consumer._create_kafka_consumer(), create_admin(settings)
    probe = KafkaProbe(settings).create_client()
    clients = {"producer": producer.client, "consumer": group_consumer._client, "admin": admin._client,
               "reader": reader._client, "probe": probe}
    try:
        for role, client in clients.items():
            assert client._security_protocol == "SASL_SSL", role
            assert client._sasl_mechanism == "SCRAM-SHA-512", role
            assert (client._sasl_plain_username, client._sasl_plain_password) == \
                ("shouhu-visits", "s3cret-from-the-kafkauser"), role
            issuers = client._ssl_context.get_ca_certs()
            assert [dict(item[0] for item in ca["subject"]) for ca in issuers] == [{"commonName": "cluster-ca"}], role
    finally:
        await producer.stop()
        await group_consumer.stop()
        await reader.stop()
        await admin.close()
        await probe.close()


def test_no_kafka_client_is_created_without_the_security_settings() -> None:
    """Any new aiokafka client in the services' code passes **kafka_security(...) too."""
    constructor = re.compile(r"\bAIOKafka(?:Producer|Consumer|AdminClient|Client)\(")
    for path in [*REPO.glob("shared/**/*.py"), *REPO.glob("services/**/*.py")]:
        text = path.read_text(encoding="utf-8")
        for match in constructor.finditer(text):
            call = text[match.end():text.find(")\n", match.end())]
            assert "**kafka_security(" in call, f"{path.relative_to(REPO)}: {match.group(0)} without kafka_security"
