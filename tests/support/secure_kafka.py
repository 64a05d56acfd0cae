"""A private single-node Kafka as the Kubernetes manifests run it: TLS (a CA and a broker
certificate made here), SCRAM-SHA-512 logins and ACLs enforced (StandardAuthorizer). Started
from the same Kafka jars as the shared test broker (`scripts/infra kafka-jars`), on free ports,
and stopped (its process only) when the context ends.
"""

from __future__ import annotations

import base64
import datetime
import ipaddress
import os
import shlex
import socket
import subprocess
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

REPO = Path(__file__).resolve().parents[2]
ADMIN = ("admin", "admin-secret-for-tests")
STARTUP_TIMEOUT_S = 180


@dataclass(frozen=True)
class SecureKafka:
    bootstrap: str
    ca_file: Path
    workdir: Path
    libs: Path

    def admin_options(self) -> dict[str, Any]:
        from aiokafka.helpers import create_ssl_context

        return dict(bootstrap_servers=self.bootstrap, security_protocol="SASL_SSL",
                    ssl_context=create_ssl_context(cafile=str(self.ca_file)), sasl_mechanism="SCRAM-SHA-512",
                    sasl_plain_username=ADMIN[0], sasl_plain_password=ADMIN[1])

    def allow(self, principal: str, acls: list[dict[str, Any]]) -> None:
        """Adds Strimzi-shaped ACLs (KafkaUser spec.authorization.acls) with Kafka's AclCommand."""
        for acl in acls:
            resource = acl["resource"]
            command = ["--add", "--allow-principal", f"User:{principal}", f"--{resource['type']}", resource["name"],
                       "--resource-pattern-type", "prefixed" if resource.get("patternType") == "prefix" else "literal"]
            for operation in acl["operations"]:
                command += ["--operation", operation]
            # AclCommand moved from the broker (Scala) to kafka-tools in Kafka 4.0.
            acl_command = "org.apache.kafka.tools.AclCommand" if kafka_major(self.libs) >= 4 else "kafka.admin.AclCommand"
            self._java(acl_command, "--bootstrap-server", self.bootstrap,
                       "--command-config", str(self.workdir / "admin.properties"), *command)

    def _java(self, main: str, *args: str) -> None:
        done = subprocess.run(["java", *_log_options(self.workdir), "-cp", f"{self.libs}/*", main, *args],
                              capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode == 0, f"{main} {shlex.join(args)} failed:\n{done.stdout}\n{done.stderr}"


def kafka_libs() -> Path:
    """The jars of the Kafka version scripts/infra runs (SHOUHU_KAFKA_VERSION, inherited)."""
    done = subprocess.run([str(REPO / "scripts" / "infra"), "kafka-jars"], capture_output=True, text=True,
                          timeout=600, check=False)
    assert done.returncode == 0, f"scripts/infra kafka-jars failed:\n{done.stderr}"
    return Path(done.stdout.strip().splitlines()[-1])


def kafka_major(libs: Path) -> int:
    (broker_jar,) = libs.glob("kafka_2.13-*.jar")
    return int(broker_jar.name.removeprefix("kafka_2.13-").split(".")[0])


def _log_options(workdir: Path) -> list[str]:
    # 3.x reads the first (reload4j), 4.x the second (Log4j 2); each ignores the other's.
    return [f"-Dlog4j.configuration=file:{workdir / 'log4j.properties'}",
            f"-Dlog4j2.configurationFile={workdir / 'log4j2.properties'}"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _write_certificates(workdir: Path) -> Path:
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test-cluster-ca")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(1).not_valid_before(now - datetime.timedelta(hours=1))
          .not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True).sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "broker")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(2)
            .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    (workdir / "ca.crt").write_bytes(ca.public_bytes(pem))
    (workdir / "broker.pem").write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        + cert.public_bytes(pem) + ca.public_bytes(pem))
    return workdir / "ca.crt"


def _write_config(workdir: Path, port: int, controller_port: int) -> None:
    jaas = f'org.apache.kafka.common.security.scram.ScramLoginModule required username="{ADMIN[0]}" password="{ADMIN[1]}";'
    (workdir / "server.properties").write_text(f"""\
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:{controller_port}
listeners=SASL_SSL://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}
advertised.listeners=SASL_SSL://127.0.0.1:{port}
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,SASL_SSL:SASL_SSL
inter.broker.listener.name=SASL_SSL
sasl.enabled.mechanisms=SCRAM-SHA-512
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config={jaas}
ssl.keystore.type=PEM
ssl.keystore.location={workdir / 'broker.pem'}
ssl.truststore.type=PEM
ssl.truststore.location={workdir / 'ca.crt'}
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
super.users=User:{ADMIN[0]};User:ANONYMOUS
allow.everyone.if.no.acl.found=false
auto.create.topics.enable=false
log.dirs={workdir / 'data'}
offsets.topic.replication.factor=1
offsets.topic.num.partitions=3
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
""", encoding="utf-8")
    (workdir / "admin.properties").write_text(f"""\
security.protocol=SASL_SSL
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config={jaas}
ssl.truststore.type=PEM
ssl.truststore.location={workdir / 'ca.crt'}
""", encoding="utf-8")
    (workdir / "log4j.properties").write_text(f"""\
log4j.rootLogger=WARN, file
log4j.appender.file=org.apache.log4j.FileAppender
log4j.appender.file.File={workdir / 'kafka.log'}
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
""", encoding="utf-8")
    (workdir / "log4j2.properties").write_text(f"""\
appender.file.type=File
appender.file.name=file
appender.file.fileName={workdir / 'kafka.log'}
appender.file.layout.type=PatternLayout
appender.file.layout.pattern=[%d] %p %m (%c)%n
rootLogger.level=WARN
rootLogger.appenderRef.file.ref=file
""", encoding="utf-8")


def _wait_until_listening(process: subprocess.Popen, port: int, workdir: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the secure broker exited ({process.returncode}); see {workdir / 'kafka.log'}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"the secure broker did not listen within {STARTUP_TIMEOUT_S} s; see {workdir}")


@contextmanager
def secure_kafka(workdir: Path, users: dict[str, str]) -> Iterator[SecureKafka]:
    """A broker whose SCRAM users are `users` (name -> password) plus the admin."""
    libs = kafka_libs()
    port, controller_port = _free_port(), _free_port()
    ca_file = _write_certificates(workdir)
    _write_config(workdir, port, controller_port)
    kafka = SecureKafka(f"127.0.0.1:{port}", ca_file, workdir, libs)
    scram = [arg for name, password in {**users, ADMIN[0]: ADMIN[1]}.items()
             for arg in ("--add-scram", f"SCRAM-SHA-512=[name={name},password={password}]")]
    # "--cluster-id=…" in one word: a random id may begin with "-" (1 in 64) and would be read as an option.
    cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode()[:22]
    kafka._java("kafka.tools.StorageTool", "format", f"--cluster-id={cluster_id}",
                "-c", str(workdir / "server.properties"), *scram)
    process = subprocess.Popen(["java", "-Xmx512m", *_log_options(workdir),
                                "-cp", f"{libs}/*", "kafka.Kafka", str(workdir / "server.properties")],
                               stdout=subprocess.DEVNULL, stderr=open(workdir / "console.log", "wb"),
                               env=dict(os.environ, KAFKA_HEAP_OPTS="-Xmx512m"))
    try:
        _wait_until_listening(process, port, workdir)
        yield kafka
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
