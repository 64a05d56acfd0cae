"""The short chaos run (bench/chaos.py, `make chaos CHAOS_ARGS=--short`): the real stack under
a steady load of registrations and contacts, on a PostgreSQL of its own (stopped for 5 s) and
the session's Kafka; one worker killed -9 and started again by the stack, by nobody's hand.
Nothing acknowledged is lost or doubled, every answer is a 2xx or a 503 with Retry-After,
and each fault converges within 30 s. `make chaos` runs the full set (every worker, Kafka
30 s, PostgreSQL 15 s) on its own Kafka too."""

from __future__ import annotations

from bench import chaos


def test_short_chaos_run_loses_nothing_doubles_nothing_and_converges(infra, tmp_path) -> None:
    report = chaos.run(chaos.SHORT, tmp_path / "chaos", kafka=infra.kafka_bootstrap,
                       topic_prefix=infra.new_topic_prefix("chaos"))
    figures = report.figures()
    print(figures)
    assert report.ledger.acked() > 20, figures
    assert (report.lost, report.duplicated) == (0, 0), (figures, report.detail)
    assert not report.ledger.violations, figures
    assert report.ledger.answers["503+retry-after"] > 0, "PostgreSQL was stopped under load: some 503s"
    assert set(report.recovery_s) == {"kill -9 pairing worker", "postgres stopped"}
    assert all(s is not None and s <= chaos.CONVERGE_WITHIN_S for s in report.recovery_s.values()), figures
    assert report.restarts == {"pairing-worker": 1}, "the stack restarted the killed worker, and nothing else"
