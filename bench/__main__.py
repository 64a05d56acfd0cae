"""`python -m bench [relay] [latency] [flags]`: runs the benchmarks (all when none is named)
and prints each figure with "goal met" / "goal missed".

Exit status: 0 when every benchmark ran, whatever its figures; 1 when one of them could
not run (its error is printed, the others still run); 2 for bad arguments.
"""

from __future__ import annotations

import argparse
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


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Shouhu benchmarks against the local PostgreSQL and Kafka "
                    '(eval "$(scripts/infra env)" first, or use `make bench BENCH_ARGS=...`).')
    parser.add_argument("names", nargs="*", metavar="BENCHMARK",
                        help=f"which to run: {', '.join(BENCHMARKS)} (default: all)")
    relay_throughput.add_arguments(parser.add_argument_group("relay"))
    e2e_latency.add_arguments(parser.add_argument_group("latency"))
    args = parser.parse_args(argv)
    unknown = [name for name in args.names if name not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    names = list(dict.fromkeys(args.names)) or list(BENCHMARKS)
    goals: list[Goal] = []
    failed: list[str] = []
    for name in names:
        try:
            goals += BENCHMARKS[name].main(args)
        except (Exception, SystemExit) as exc:  # one broken benchmark must not hide the others
            failed.append(name)
            print(f"\n{name}: could not run: {exc!r}", file=sys.stderr)
            if not isinstance(exc, SystemExit):
                traceback.print_exc()
    print("\n== summary " + "=" * 60)
    for goal in goals:
        print("  " + goal.line())
    for name in failed:
        print(f"  {name}: did not run (see the error above)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
