"""The connection settings every aiokafka client gets: producer, consumers, admin, probe.

One function, so no client can be created without them: `kafka_security(settings)` gives the
keyword arguments (security protocol, TLS context with the brokers' CA, SASL mechanism and
credentials). PLAINTEXT (the default, a local broker) gives only the protocol.
"""

from __future__ import annotations

from typing import Any

from aiokafka.helpers import create_ssl_context

from shared.settings import ServiceSettings, load_secret_file


class KafkaSecurityError(ValueError):
    """The Kafka settings ask for SASL but name no credentials."""


def kafka_security(settings: ServiceSettings) -> dict[str, Any]:
    protocol = settings.kafka_security_protocol
    options: dict[str, Any] = {"security_protocol": protocol}
    if protocol in ("SSL", "SASL_SSL"):
        options["ssl_context"] = create_ssl_context(cafile=settings.kafka_ssl_cafile)
    if protocol in ("SASL_PLAINTEXT", "SASL_SSL"):
        password = load_secret_file(settings.kafka_sasl_password_file)
        if password is None and settings.kafka_sasl_password is not None:
            password = settings.kafka_sasl_password.get_secret_value()
        missing = [name for name, value in (("SHOUHU_KAFKA_SASL_USERNAME", settings.kafka_sasl_username),
                                            ("SHOUHU_KAFKA_SASL_PASSWORD(_FILE)", password)) if not value]
        if missing:
            raise KafkaSecurityError(f"Kafka security protocol {protocol} needs {', '.join(missing)}")
        options.update(sasl_mechanism=settings.kafka_sasl_mechanism,
                       sasl_plain_username=settings.kafka_sasl_username, sasl_plain_password=password)
    return options
