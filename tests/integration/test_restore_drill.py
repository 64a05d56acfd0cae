"""The restore drill (bench/restore_drill.py, `make drill`): visits restored to a point in time T
with PostgreSQL's own base backup and WAL archive, on a PostgreSQL of its own (archiving on,
never the session's) and the session's Kafka under a topic prefix of its own; then the
runbook's steps (consumer groups rewound to T, started, `shouhu reconcile visits --orphans`).

It passes only if the restored database holds exactly what was written up to T, visits
consumes again everything it had forgotten, the orphans listed are exactly its events
published after T and every downstream consumer holds each of them once, nothing is applied
twice, and the restored service works (a new contact reaches reports). Every wait in the
drill is bounded (bench/restore_drill.WAIT_S); a failed step is a failed check, not a hang."""

from __future__ import annotations

from bench import restore_drill


def test_visits_restored_to_a_point_in_time_converges_with_kafka_and_its_consumers(infra, tmp_path) -> None:
    report = restore_drill.run(tmp_path / "drill", kafka=infra.kafka_bootstrap,
                               topic_prefix=infra.new_topic_prefix("drill"))
    print(report.figures)
    failed = [name for name, ok in report.checks.items() if not ok]
    assert not failed, (failed, report.detail)
    # The drill did every step (a crash is one failed check, "every step done", caught above),
    # and the checks that make it a drill at all were among them.
    assert {"the restored database holds every contact up to T", "the restored database holds no contact after T",
            "the orphans listed are exactly visits' events published after T",
            "visits' consumed facts (children, pairings, inbox) are again all Kafka holds",
            "nothing applied twice: reports holds one row per contact"} <= set(report.checks)
    assert report.figures["orphans"] >= 4, "the four contacts after T are orphans, at least"
    assert report.figures["reconcile"]["exit_status"] == 1, "reconcile --orphans says so in its exit status"
    assert sum(report.figures["read_again"].values()) >= 2, "the children registered after T are read again"
