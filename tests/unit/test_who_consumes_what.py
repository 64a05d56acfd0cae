"""ARCHITECTURE.md's "which consumer applies which events" table is the workers' truth: it
is compared with what each service's `build_consumers` builds (consumer names, topics) and
the handler maps they are given. A handler added, dropped or moved without the table fails."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

SERVICES = ("registry", "pairing", "visits", "notify", "reports")
MARKER = "<!-- who-consumes-what:"
ROW = re.compile(r"^\| (\w+) \| `([\w.]+)` \| `([\w.]+)` \| ([\w, ]*) \|$")


def _documented() -> set[tuple[str, str, str, frozenset[str]]]:
    text = (Path(__file__).resolve().parents[2] / "ARCHITECTURE.md").read_text(encoding="utf-8")
    lines = text[text.index(MARKER):].splitlines()[3:]
    rows = set()
    for line in lines:
        if not line.startswith("|"):
            break
        match = ROW.match(line)
        assert match, f"a row of the who-consumes-what table does not parse: {line}"
        service, consumer, topic, events = match.groups()
        rows.add((service, consumer, topic, frozenset(e.strip() for e in events.split(",") if e.strip())))
    return rows


def _built() -> set[tuple[str, str, str, frozenset[str]]]:
    rows = set()
    for name in SERVICES:
        entry = importlib.import_module(f"services.{name}.entry").ENTRY
        # Building consumers touches neither PostgreSQL nor Kafka: they connect when run.
        for consumer in entry.build_consumers(entry.load_settings(), None):
            for topic in consumer.topics:
                rows.add((name, consumer.name, topic, consumer.handled_on(topic)))
    return rows


def test_the_table_matches_the_workers_consumers_and_handler_maps() -> None:
    documented, built = _documented(), _built()
    assert documented, "the who-consumes-what table is missing from ARCHITECTURE.md"
    assert built - documented == set(), f"consumers not (or not so) in ARCHITECTURE.md: {sorted(built - documented)}"
    assert documented - built == set(), f"rows in ARCHITECTURE.md no worker has: {sorted(documented - built)}"


def test_every_consumed_event_is_applied_by_some_handler() -> None:
    # An empty row would mean a consumer reading a topic for nothing.
    assert all(events for *_, events in _built())
