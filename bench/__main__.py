"""`python -m bench [NAME ...] [flags]`: runs the benchmarks (all when none is named) and
prints each figure with "goal met" / "goal missed".

The foundation's (relay, latency) run in this process and share its flags; each service's
benchmark runs as its own `python -m bench.<module>` process with its defaults, so a
crash or a leaked resource in one cannot skew the next.

Exit status: 0 when every benchmark ran, whatever its figures; 1 when one of them could
not run (its error is printed, the others still run); 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import traceback

from bench import e2e_latency, relay_throughput
from bench.common import Goal

# name → module. A module registered here provides `add_arguments(parser)` (flags with names
# of its own: they share one command line) and `main(args) -> list[Goal]`.
BENCHMARKS = {
    "relay": relay_throughput,    # outbox relay vs raw aiokafka send_batch
    "latency": e2e_latency,       # registry API commit → pairing projection
}
SERVICE_BENCHMARKS = {
    "registry-import": "bench.registry_import",    # sheet import vs raw COPY and an INSERT loop
    "pairing-matching": "bench.pairing_matching",  # 50,000 × 20,000 matching vs bare scipy / greedy
    "visits-logging": "bench.visits_logging",      # contact logging vs a bare Starlette endpoint
    "visits-scan": "bench.visits_scan",            # overdue scan over 1,000,000 duties
    "notify-sms": "bench.notify_sms",              # deliveries vs the fake SMS provider's raw rate
    "reports-rebuild": "bench.reports_rebuild",    # read model from offset 0 vs a bare aiokafka consumer
    "app-phone": "bench.app_phone",                # the caregiver app: throttled opening, JS size, offline sync
    "reports-summary": "bench.reports_summary",    # the year's DOCX + XLSX + PDF of a 20,000-child county
    "console-dashboard": "bench.console_dashboard",  # the console's 工作台 cold in chromium, first-route JS
    "console-children": "bench.console_children",    # the children list of a 100,000-child county vs its SQL
}


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Shouhu benchmarks against the local PostgreSQL and Kafka "
                    '(eval "$(scripts/infra env)" first, or use `make bench BENCH_ARGS=...`).')
    parser.add_argument("names", nargs="*", metavar="BENCHMARK",
                        help=f"which to run: {', '.join([*BENCHMARKS, *SERVICE_BENCHMARKS])} (default: all)")
    relay_throughput.add_arguments(parser.add_argument_group("relay"))
    e2e_latency.add_arguments(parser.add_argument_group("latency"))
    args = parser.parse_args(argv)
    known = [*BENCHMARKS, *SERVICE_BENCHMARKS]
    unknown = [name for name in args.names if name not in known]
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}; choose from {', '.join(known)}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    names = list(dict.fromkeys(args.names)) or [*BENCHMARKS, *SERVICE_BENCHMARKS]
    goals: list[Goal] = []
    failed: list[str] = []
    for name in names:
        if name in SERVICE_BENCHMARKS:
            print(f"\n== {name} " + "=" * 60, flush=True)
            if subprocess.run([sys.executable, "-m", SERVICE_BENCHMARKS[name]], check=False).returncode != 0:
                failed.append(name)
            continue
        try:
            goals += BENCHMARKS[name].main(args)
        except (Exception, SystemExit) as exc:  # one broken benchmark must not hide the others
            failed.append(name)
            print(f"\n{name}: could not run: {exc!r}", file=sys.stderr)
            if not isinstance(exc, SystemExit):
                traceback.print_exc()
    print("\n== summary (the service benchmarks print their own figures above) " + "=" * 20)
    for goal in goals:
        print("  " + goal.line())
    for name in failed:
        print(f"  {name}: did not run (see the error above)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
