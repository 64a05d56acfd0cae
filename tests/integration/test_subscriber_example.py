"""examples/subscriber: what a government system copies to read Shouhu's events runs, as it
is, against a real Kafka: every event type, encoded by the services' own envelope (what
their outbox relays publish), is read with the CloudEvents SDK alone and checked against
the AsyncAPI document; a type it does not know is passed on as unknown; an event that
breaks the document stops it with the type named."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

from shared.contracts import ALL_EVENTS, encode
from shared.contracts.asyncapi import example_payload
from tests.support.plumbing import produce
from tests.support.processes import REPO

SUBSCRIBER = REPO / "examples" / "subscriber" / "subscriber.py"
DOCUMENT = REPO / "shared" / "contracts" / "schema" / "asyncapi.json"


def _subscribe(bootstrap: str, prefix: str, max_events: int, cwd: Path) -> subprocess.CompletedProcess[str]:
    # Its own process, started outside the repository: Shouhu's code is not importable there,
    # only the libraries the example names.
    return subprocess.run(
        [sys.executable, str(SUBSCRIBER), "--bootstrap", bootstrap, "--topic-prefix", prefix,
         "--asyncapi", str(DOCUMENT), "--max-events", str(max_events), "--idle-seconds", "15"],
        cwd=cwd, env=dict(os.environ), capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)


def test_the_example_reads_every_event_type_checked_against_the_asyncapi_document(infra, tmp_path) -> None:
    document = json.loads(DOCUMENT.read_text(encoding="utf-8"))
    schemas = document["components"]["schemas"]
    events = [cls.model_validate(example_payload(cls, schemas)) for cls in ALL_EVENTS]
    newer = encode(events[0])
    unknown_headers = [(k, (v if k != "ce_type" else "cn.shouhu.SomethingNewer.v1").encode())
                       for k, v in newer.headers.items()]
    prefix = infra.new_topic_prefix("subscriber")
    sent = asyncio.run(produce(infra.kafka_bootstrap, prefix, events,
                               raw=[(newer.topic, newer.key.encode(), unknown_headers, newer.value)]))
    assert sent == len(events) + 1

    run = _subscribe(infra.kafka_bootstrap, prefix, sent, tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    lines = [json.loads(line) for line in run.stdout.splitlines()]
    known = [line for line in lines if not line.get("unknown")]
    assert sorted(line["type"] for line in known) == sorted(cls.cloudevent_type() for cls in ALL_EVENTS)
    assert [line["type"] for line in lines if line.get("unknown")] == ["cn.shouhu.SomethingNewer.v1"]
    by_type = {line["type"]: line for line in known}
    for event in events:
        line = by_type[event.cloudevent_type()]
        assert line["data"] == event.model_dump(mode="json") and line["topic"] == event.topic
        assert line["subject"] == event.partition_key()


def test_an_event_that_breaks_the_document_stops_the_example_naming_it(infra, tmp_path) -> None:
    cls = ALL_EVENTS[0]
    schemas = json.loads(DOCUMENT.read_text(encoding="utf-8"))["components"]["schemas"]
    good = encode(cls.model_validate(example_payload(cls, schemas)))
    broken = json.loads(good.value)
    broken.pop(schemas[cls.__name__]["required"][0])  # a field the document requires
    prefix = infra.new_topic_prefix("subscriber")
    headers = [(k, v.encode()) for k, v in good.headers.items()]
    # A valid event on every topic too, so that each topic exists when the example subscribes.
    one_per_topic = list({kind.topic: kind for kind in ALL_EVENTS}.values())
    valid = [kind.model_validate(example_payload(kind, schemas)) for kind in one_per_topic]
    sent = asyncio.run(produce(infra.kafka_bootstrap, prefix, valid,
                               raw=[(good.topic, good.key.encode(), headers, json.dumps(broken).encode())]))
    run = _subscribe(infra.kafka_bootstrap, prefix, sent, tmp_path)
    assert run.returncode != 0 and f"{cls.cloudevent_type()} " in run.stderr and "breaks the contract" in run.stderr
