"""What every benchmark shares: where the infrastructure is, throwaway namespaces, and
how a figure is printed ("goal met" / "goal missed")."""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import uuid
from dataclasses import dataclass

from aiokafka.admin import AIOKafkaAdminClient

from shared.logging import configure_logging
from tests.support.infra import HOW_TO_START, Infrastructure


def infrastructure() -> Infrastructure:
    """The local infra from `eval "$(scripts/infra env)"` (what `make bench` loads)."""
    pg_url = os.environ.get("SHOUHU_TEST_PG_URL")
    kafka = os.environ.get("SHOUHU_TEST_KAFKA_BOOTSTRAP")
    if not (pg_url and kafka):
        raise SystemExit(f"bench: {HOW_TO_START}")
    return Infrastructure(pg_url, kafka)


def quiet_logging() -> None:
    """The shared loops log their routine INFO lines (relay leadership...); keep warnings only."""
    configure_logging("bench", "WARNING")


def unique_prefix(label: str) -> str:
    """A fresh Kafka topic namespace (settings.kafka_topic_prefix) for one run."""
    return f"bench{label}{uuid.uuid4().hex[:8]}."


async def delete_topics(bootstrap: str, prefixes: list[str]) -> None:
    """Best effort: removes the topics a run created so the broker does not fill up."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10_000, client_id="shouhu-bench")
    try:
        await asyncio.wait_for(admin.start(), 10)
        names = [t for t in await admin.list_topics() if any(t.startswith(p) for p in prefixes)]
        if names:
            await asyncio.wait_for(admin.delete_topics(names), 20)
    except Exception as exc:  # cleanup must never hide the figures
        print(f"  (could not delete topics {prefixes}: {type(exc).__name__})", file=sys.stderr)
    finally:
        await admin.close()


@dataclass(frozen=True)
class Goal:
    """`value <op> target`, op one of '>=' / '<='."""

    name: str
    value: float
    op: str
    target: float
    unit: str = ""

    @property
    def met(self) -> bool:
        return self.value >= self.target if self.op == ">=" else self.value <= self.target

    def line(self) -> str:
        verdict = "goal met" if self.met else "goal missed"
        op = "≥" if self.op == ">=" else "≤"
        value = f"{self.value:,.0f}" if abs(self.value) >= 100 else f"{self.value:.3g}"
        return f"{self.name}: {value}{self.unit}  (goal {op} {self.target:g}{self.unit})  {verdict}"


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list: a value that was observed."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))  # ceil(n*q/100), at least 1
    return ordered[int(rank) - 1]


def summary_ms(values_s: list[float]) -> dict[str, float]:
    ms = [v * 1000 for v in values_s]
    return {"n": len(ms), "min": min(ms), "p50": percentile(ms, 50), "p95": percentile(ms, 95),
            "p99": percentile(ms, 99), "max": max(ms), "mean": statistics.fmean(ms)}


def rule(title: str) -> None:
    """A benchmark's heading, with how busy the machine was: other work skews the figures."""
    print(f"\n== {title} " + "=" * max(0, 66 - len(title)))
    one, five, _ = os.getloadavg()
    print(f"  machine: {os.cpu_count()} CPUs, load average {one:.2f} (1 min) {five:.2f} (5 min)", flush=True)
