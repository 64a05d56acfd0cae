"""A subscriber to every Shouhu topic, for a government system to copy.

It needs three off-the-shelf libraries and no Shouhu code: the CloudEvents SDK (2.x) to read
the events, a Kafka client (aiokafka) and a JSON Schema validator (jsonschema). What the
topics are and what each event holds comes from Shouhu's AsyncAPI document
(shared/contracts/schema/asyncapi.json in Shouhu's repository; copy it next to this file).

Each event is checked against its message in the document — headers and payload — and
printed as one JSON line: {"topic", "type", "id", "time", "subject", "data"}. An event of a
type the document does not know is printed with "unknown": true and not validated (a newer
Shouhu may add types; subscribers should skip what they do not handle).

    pip install 'cloudevents>=2.1,<3' aiokafka jsonschema
    python subscriber.py --bootstrap kafka:9092 [--topic-prefix county-a.] [--group my-system]

Run with --max-events N (and --idle-seconds S) it stops after N events (or S quiet seconds),
which is how its test runs it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer
from cloudevents.core.bindings import kafka as cloudevents_kafka
from jsonschema import Draft202012Validator

HERE = Path(__file__).resolve().parent


class Contract:
    """Topics and per-type validators, read from the AsyncAPI document."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.topics = sorted(channel["address"] for channel in document["channels"].values())
        components = document["components"]
        self.messages: dict[str, tuple[Draft202012Validator, Draft202012Validator]] = {}
        for message in components["messages"].values():
            ce_type = message["headers"]["properties"]["ce_type"]["const"]
            # The payload refers to #/components/schemas/...: validate with the components
            # at hand, so those references resolve.
            payload = Draft202012Validator({**message["payload"], "components": components})
            headers = Draft202012Validator(message["headers"])
            self.messages[ce_type] = (headers, payload)

    def problems(self, ce_type: str, headers: dict[str, str], data: Any) -> list[str]:
        header_check, payload_check = self.messages[ce_type]
        found = [f"header {'.'.join(map(str, e.path)) or e.validator}: {e.message}"
                 for e in header_check.iter_errors(headers)]
        found += [f"payload {'.'.join(map(str, e.path)) or e.validator}: {e.message}"
                  for e in payload_check.iter_errors(data)]
        return found


def read(record: Any, contract: Contract, prefix: str) -> dict[str, Any]:
    """One Kafka record as a printed line (raises ValueError for an invalid event)."""
    headers = {name: value for name, value in (record.headers or [])}
    message = cloudevents_kafka.KafkaMessage(headers=headers, key=record.key, value=record.value)
    event = cloudevents_kafka.from_binary_event(message)
    ce_type = event.get_type()
    time = event.get_time()
    line = {"topic": record.topic.removeprefix(prefix), "type": ce_type, "id": event.get_id(),
            "time": time.isoformat() if time else None, "subject": event.get_subject(), "data": event.get_data()}
    if ce_type not in contract.messages:
        return {**line, "unknown": True}
    text_headers = {name: value.decode() for name, value in headers.items()}
    problems = contract.problems(ce_type, text_headers, event.get_data())
    if problems:
        raise ValueError(f"{ce_type} {event.get_id()} breaks the contract: {problems}")
    return line


async def run(args: argparse.Namespace) -> int:
    contract = Contract(json.loads(Path(args.asyncapi).read_text(encoding="utf-8")))
    topics = [f"{args.topic_prefix}{topic}" for topic in contract.topics]
    consumer = AIOKafkaConsumer(*topics, bootstrap_servers=args.bootstrap, group_id=args.group,
                                auto_offset_reset="earliest", enable_auto_commit=False)
    await consumer.start()
    seen = 0
    try:
        while args.max_events is None or seen < args.max_events:
            batch = await consumer.getmany(timeout_ms=int(args.idle_seconds * 1000))
            if not batch and args.max_events is not None:
                break  # quiet for idle_seconds: stop (a test, or a one-off read)
            for records in batch.values():
                for record in records:
                    print(json.dumps(read(record, contract, args.topic_prefix), ensure_ascii=False), flush=True)
                    seen += 1
            if args.group:
                await consumer.commit()  # after the lines are out: at least once
    finally:
        await consumer.stop()
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bootstrap", required=True, help="Kafka bootstrap servers")
    parser.add_argument("--topic-prefix", default="", help="the deployment's topic prefix, if it has one")
    parser.add_argument("--group", default=None, help="a consumer group, to resume where the last run stopped")
    parser.add_argument("--asyncapi", default=str(HERE / "asyncapi.json"), help="Shouhu's AsyncAPI document")
    parser.add_argument("--max-events", type=int, default=None)
    parser.add_argument("--idle-seconds", type=float, default=30.0)
    return asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
