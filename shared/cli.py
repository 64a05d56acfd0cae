"""`shouhu …` (or `python -m shared.cli …`): the operations CLI.

    shouhu token --role county_staff --jurisdiction 330102000000 [--permission view_sensitive]
    shouhu migrate [SERVICE ...]
    shouhu status                         outbox backlog, consumer lag (with its age; stalled workers), dead letters
    shouhu dead-letters SERVICE           list open dead letters (no payloads printed)
    shouhu dead-letters SERVICE resolve|discard ID --reason TEXT [--by NAME]   close one, recorded
    shouhu prune [SERVICE ...]            delete plumbing rows past their retention, and trail months past
                                          SHOUHU_TRAIL_RETENTION_MONTHS (shared/housekeeping.py)
    shouhu retention [--dry-run]          erase children's records whose retention under the county's policy
                                          ended (services/registry/retention.py); --dry-run: counts only
    shouhu replay SERVICE ID [ID ...]     run dead letters through their handler again
    shouhu reconcile SERVICE [--hours H] [--dry-run]   republish outbox events missing from Kafka
    shouhu alive SERVICE [--max-age S]    the worker's liveness probe (exit 0 while its loops progress)
    shouhu rekey SERVICE [--batch-size N] [--dry-run]   re-encrypt values under the current key, recompute
                                                         blind indexes; counts per key id
    shouhu export --out DIR --transfer-key FILE [SERVICE ...]   a county's data, history and events, sealed
                                                         under a one-move transfer key (made if FILE is absent)
    shouhu import --from DIR --transfer-key FILE [SERVICE ...]  that archive into this deployment: its keys, its
                                                         blind indexes, the same ids; resumable, repeatable
    shouhu seed [--children N] [--county CODE] [--dev-tokens FILE]   load a demo county through the APIs
                                          (idempotent); default 520424, any county of the division register
    shouhu reports rebuild                the reports' read model again from offset 0, then switched to
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import importlib
import json
import os
import sys
from typing import Any

import httpx

from shared.auth import AuthError, issue_dev_token
from shared.settings import AuthSettings

SERVICES = ("registry", "pairing", "visits", "notify", "reports")


def _entry(name: str) -> Any:
    # Imported by name so the CLI stays usable for one service without loading the others.
    return importlib.import_module(f"services.{name}.entry").ENTRY


def _token(args: argparse.Namespace) -> int:
    try:
        token = issue_dev_token(
            AuthSettings(), subject=args.subject, roles=args.role, jurisdiction=args.jurisdiction,
            permissions=args.permission, caregiver_id=args.caregiver_id, school_id=args.school_id,
            ttl_seconds=args.ttl)
    except AuthError as refused:
        print(f"shouhu token: {refused}", file=sys.stderr)
        return 2
    print(token)
    return 0


async def _migrate(args: argparse.Namespace) -> int:
    from shared.entrypoint import migrate_service

    unknown = set(args.services) - set(SERVICES)
    if unknown:
        print(f"unknown service: {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    for name in args.services or SERVICES:
        entry = _entry(name)
        applied = await migrate_service(entry, entry.load_settings().database_url)
        print(f"{name}: {len(applied)} applied" + (f" ({', '.join(applied)})" if applied else ""))
    return 0


async def _status(_args: argparse.Namespace) -> int:
    import asyncpg

    from shared.http import backlog

    for name in SERVICES:
        settings = _entry(name).load_settings()
        try:
            conn = await asyncpg.connect(settings.database_url, timeout=5)
        except Exception as exc:
            print(json.dumps({"service": name, "database": f"unreachable: {type(exc).__name__}"}))
            continue
        try:
            figures = await backlog(conn, stale_after_s=settings.progress_stale_after_s)
            print(json.dumps({"service": name, **figures}))
        finally:
            await conn.close()
    return 0


async def _dead_letters(args: argparse.Namespace) -> int:
    import asyncpg

    settings = _entry(args.service).load_settings()
    if args.action != "list":
        return await _decide_dead_letter(args, settings)
    conn = await asyncpg.connect(settings.database_url, timeout=5)
    try:
        rows = await conn.fetch(
            """SELECT id, consumer, event_type, topic, kafka_partition, kafka_offset, kind, reason, attempts,
                      created_at FROM dead_letters WHERE status = 'open' ORDER BY id LIMIT $1""", args.limit)
    finally:
        await conn.close()
    for row in rows:
        print(json.dumps({k: (str(v) if not isinstance(v, (int, str, type(None))) else v) for k, v in row.items()}))
    return 0


_DECISIONS = {"resolve": "resolved", "discard": "discarded"}


async def _decide_dead_letter(args: argparse.Namespace, settings: Any) -> int:
    import asyncpg

    from shared.housekeeping import decide_dead_letter

    reason = (args.reason or "").strip()
    if args.id is None or not reason:
        print(f"dead-letters {args.action} needs an ID and --reason", file=sys.stderr)
        return 2
    decided_by = args.by or os.environ.get("USER") or "operator"
    conn = await asyncpg.connect(settings.database_url, timeout=5)
    try:
        done = await decide_dead_letter(conn, args.id, decision=_DECISIONS[args.action],
                                        reason=reason[:500], decided_by=decided_by)
    finally:
        await conn.close()
    print(f"{args.id}: {_DECISIONS[args.action]}" if done else f"{args.id}: no open dead letter with this id")
    return 0 if done else 1


async def _prune(args: argparse.Namespace) -> int:
    import asyncpg

    from shared.housekeeping import prune
    from shared.partitions import drop_months_before

    unknown = set(args.services) - set(SERVICES)
    if unknown:
        print(f"unknown service: {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    for name in args.services or SERVICES:
        settings = _entry(name).load_settings()
        conn = await asyncpg.connect(settings.database_url, timeout=5)
        try:
            deleted = await prune(conn)
            months = settings.trail_retention_months
            dropped = await drop_months_before(conn, months) if months else []
        finally:
            await conn.close()
        print(json.dumps({"service": name, "deleted": deleted, "trail_months_dropped": dropped}))
    return 0


async def _retention(args: argparse.Namespace) -> int:
    import asyncpg

    from services.registry.retention import dry_run, erase_due

    settings = _entry("registry").load_settings()
    conn = await asyncpg.connect(settings.database_url, timeout=5)
    try:
        counted = await dry_run(conn, settings.clock)
        if not args.dry_run:
            counted["erased"] = await erase_due(conn, settings.clock)
    finally:
        await conn.close()
    print(json.dumps(counted))
    return 0


async def _replay(args: argparse.Namespace) -> int:
    from shared.db import create_pool

    entry = _entry(args.service)
    settings = entry.load_settings()
    pool = await create_pool(settings, max_size=2)
    try:
        consumers = {c.name: c for c in entry.build_consumers(settings, pool)}
        failed = 0
        for dead_letter_id in args.ids:
            async with pool.acquire() as conn:
                owner = await conn.fetchval("SELECT consumer FROM dead_letters WHERE id = $1", dead_letter_id)
            if owner not in consumers:
                print(f"{dead_letter_id}: not found")
                failed += 1
                continue
            applied = await consumers[owner].replay(dead_letter_id)
            print(f"{dead_letter_id}: {'applied' if applied else 'failed again (see dead-letters)'}")
            failed += 0 if applied else 1
        return 1 if failed else 0
    finally:
        await pool.close()


async def _reconcile(args: argparse.Namespace) -> int:
    from datetime import timedelta

    import asyncpg

    from shared.reconcile import orphans, reconcile

    settings = _entry(args.service).load_settings()
    conn = await asyncpg.connect(settings.database_url, timeout=5)
    try:
        # The outbox is stamped by the database's clock: look back on that one.
        since = await conn.fetchval("SELECT now()") - timedelta(hours=args.hours)
        missing = await reconcile(settings, conn, since, dry_run=args.dry_run)
        forgotten = await orphans(settings, conn, since) if args.orphans else []
    finally:
        await conn.close()
    verb = "missing (dry run)" if args.dry_run else "missing, queued for the relay again"
    report: dict[str, Any] = {"service": args.service, "since": since.isoformat(), verb: len(missing)}
    if args.orphans:
        # Event ids only (no payloads): what downstream services hold and this database forgot.
        report["on kafka, not in the outbox"] = [str(event_id) for event_id in forgotten]
    print(json.dumps(report))
    return 1 if forgotten else 0


async def _seed(args: argparse.Namespace) -> int:
    from pathlib import Path

    from services.demo_county import UnknownCounty, demo_county

    demo = importlib.import_module("services.demo")
    try:
        county = demo_county(args.county).code
    except UnknownCounty as refused:
        print(f"shouhu seed: {refused}", file=sys.stderr)
        return 2
    urls = demo.Urls(**{name: f"http://127.0.0.1:{_entry(name).load_settings().http_port}"
                        for name in ("registry", "pairing", "visits")})
    summary = await demo.seed(urls, children=args.children, county=county,
                              dev_tokens_file=Path(args.dev_tokens) if args.dev_tokens else None)
    print(json.dumps(summary))
    return 0


async def _setup_check(args: argparse.Namespace) -> int:
    """Asks notify and the registry what the county still has to configure; exit 1 if anything."""
    checks = importlib.import_module("services.setup_check")
    token = args.token or os.environ.get("SHOUHU_TOKEN")
    if token is None:
        if args.jurisdiction is None:
            print("shouhu setup-check: give --token (or $SHOUHU_TOKEN) or --jurisdiction", file=sys.stderr)
            return 2
        try:
            token = issue_dev_token(AuthSettings(), subject="setup-check", roles=["county_staff"],
                                    jurisdiction=args.jurisdiction)
        except AuthError as refused:
            print(f"shouhu setup-check: {refused}", file=sys.stderr)
            return 2

    def url(name: str, given: str | None) -> str:
        return given or f"http://127.0.0.1:{_entry(name).load_settings().http_port}"

    async with httpx.AsyncClient(base_url=url("notify", args.notify_url), timeout=30) as notify, \
            httpx.AsyncClient(base_url=url("registry", args.registry_url), timeout=30) as registry:
        try:
            result = await checks.check(notify, registry, token, args.jurisdiction)
        except (checks.SetupCheckFailed, httpx.HTTPError) as failed:
            print(f"shouhu setup-check: {failed}", file=sys.stderr)
            return 2
    print(json.dumps(result, ensure_ascii=False, indent=2))
    return 0 if result["complete"] else 1


async def _rekey(args: argparse.Namespace) -> int:
    from shared.crypto import CryptoSettings, FieldCipher
    from shared.db import create_pool
    from shared.reindex import reindex
    from shared.rekey import count_by_key, rekey

    entry = _entry(args.service)
    cipher = FieldCipher.from_settings(CryptoSettings())
    # A pool of one for its bounded waits: acquire, statement and idle-in-transaction timeouts.
    pool = await create_pool(entry.load_settings().model_copy(update={"pool_min_size": 1}), max_size=1)
    failed = 0
    try:
        async with pool.acquire() as conn:
            if not args.dry_run:
                for column, counts in (await rekey(conn, cipher, entry.encrypted_columns,
                                                   batch_size=args.batch_size)).items():
                    failed += counts.failed
                    print(json.dumps({"service": args.service, "column": column, "reencrypted": counts.reencrypted,
                                      "failed": counts.failed, "changed_concurrently": counts.changed_concurrently}))
                # Then the blind indexes, recomputed under the current index key and suite.
                for column, index_counts in (await reindex(conn, cipher, entry.blind_index_columns,
                                                           batch_size=args.batch_size)).items():
                    failed += index_counts.failed + index_counts.duplicate
                    print(json.dumps({"service": args.service, "column": column, "index_suite": cipher.index_suite,
                                      **dataclasses.asdict(index_counts)}))
            # Only key ids and counts: never a value or a row id.
            for column, per_key in (await count_by_key(conn, entry.encrypted_columns)).items():
                print(json.dumps({"service": args.service, "column": column, "current_key": cipher.current_key_id,
                                  "values_per_key": per_key}))
    finally:
        await pool.close()
    return 1 if failed else 0


def _services(names: list[str]) -> list[Any]:
    unknown = set(names) - set(SERVICES)
    if unknown:
        raise SystemExit(f"unknown service: {', '.join(sorted(unknown))}")
    return [_entry(name) for name in names or SERVICES]


async def _export(args: argparse.Namespace) -> int:
    """docs/operations.md, "Moving a county into a province deployment"."""
    from pathlib import Path

    from shared.crypto import CryptoSettings, FieldCipher
    from shared.transfer import TransferError, new_transfer_key, transfer_cipher
    from shared.transfer_export import export_county

    key_file = Path(args.transfer_key)
    if not key_file.exists():
        new_transfer_key(key_file)
        print(f"a new transfer key is in {key_file}: carry it to the province apart from the archive", file=sys.stderr)
    try:
        manifest = await export_county(_services(args.services), FieldCipher.from_settings(CryptoSettings()),
                                       transfer_cipher(key_file), Path(args.out))
    except TransferError as refused:
        print(f"shouhu export: {refused}", file=sys.stderr)
        return 1
    for name, described in manifest["services"].items():
        print(json.dumps({"service": name, "rows": {t: d["rows"] for t, d in described["tables"].items() if d["rows"]},
                          "events": described["events"]["rows"]}))
    print(json.dumps({"archive_id": manifest["archive_id"]}))
    return 0


async def _import(args: argparse.Namespace) -> int:
    from pathlib import Path

    from shared.crypto import CryptoSettings, FieldCipher
    from shared.transfer import TransferError, transfer_cipher
    from shared.transfer_import import import_county

    try:
        report = await import_county(_services(args.services), Path(getattr(args, "from")),
                                     transfer_cipher(Path(args.transfer_key)), FieldCipher.from_settings(CryptoSettings()))
    except TransferError as refused:
        print(f"shouhu import: {refused}", file=sys.stderr)
        return 1
    print(json.dumps(dataclasses.asdict(report)))
    return 0


def _alive(args: argparse.Namespace) -> int:
    from pathlib import Path

    from shared.liveness import heartbeat_age_s

    age = heartbeat_age_s(Path(_entry(args.service).load_settings().heartbeat_path))
    if age is None or age > args.max_age:
        print(f"{args.service} worker: no progress for {'ever' if age is None else f'{age:.0f} s'}", file=sys.stderr)
        return 1
    print(f"{args.service} worker: alive ({age:.0f} s ago)")
    return 0


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


async def _reports(args: argparse.Namespace) -> int:
    from services.reports.rebuild import rebuild

    result = await rebuild(_entry("reports").load_settings())
    print(json.dumps({"applied": result.applied, "skipped": result.skipped, "seconds": round(result.seconds, 2),
                      "events_per_second": round(result.rate), "helpers": result.helpers,
                      "positions": result.positions}))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="shouhu", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)

    token = commands.add_parser("token", help="issue a development token")
    token.add_argument("--role", action="append", required=True, help="repeatable")
    token.add_argument("--jurisdiction", required=True, help="12-digit division code")
    token.add_argument("--permission", action="append", default=[], help="e.g. view_sensitive")
    token.add_argument("--subject", default="dev-user")
    token.add_argument("--caregiver-id", default=None)
    token.add_argument("--school-id", default=None, help="confines a school_staff token to this school")
    token.add_argument("--ttl", type=int, default=8 * 3600, help="seconds")

    migrate = commands.add_parser("migrate", help="apply database migrations")
    migrate.add_argument("services", nargs="*", metavar="SERVICE", help=f"any of {', '.join(SERVICES)}; all if none")

    commands.add_parser("status", help="outbox backlog, consumer lag and dead letters per service")

    dead = commands.add_parser("dead-letters", help="list open dead letters of a service, or close one")
    dead.add_argument("service", choices=SERVICES)
    dead.add_argument("action", nargs="?", choices=("list", "resolve", "discard"), default="list",
                      help="resolve: its effect was brought about another way; discard: dropped on purpose")
    dead.add_argument("id", nargs="?", type=int)
    dead.add_argument("--reason", help="why (recorded; no personal data)")
    dead.add_argument("--by", help="who decided (default: $USER)")
    dead.add_argument("--limit", type=int, default=100)

    prune_cmd = commands.add_parser("prune", help="delete plumbing rows past their retention windows")
    prune_cmd.add_argument("services", nargs="*", help="default: all")

    retention = commands.add_parser("retention", help="erase children's records whose retention period ended "
                                                      "(the registry worker does it daily)")
    retention.add_argument("--dry-run", action="store_true", help="only count the records due, by why")

    replay = commands.add_parser("replay", help="replay dead letters through their handlers")
    replay.add_argument("service", choices=SERVICES)
    replay.add_argument("ids", nargs="+", type=int)

    reconcile_cmd = commands.add_parser("reconcile", help="republish outbox events missing from Kafka")
    reconcile_cmd.add_argument("service", choices=SERVICES)
    reconcile_cmd.add_argument("--hours", type=float, default=24.0, help="how far back to look")
    reconcile_cmd.add_argument("--dry-run", action="store_true")
    reconcile_cmd.add_argument("--orphans", action="store_true",
                               help="also list events on Kafka the database no longer holds (after a failover "
                                    "or restore); exit 1 if there are any")

    alive = commands.add_parser("alive", help="exit 0 if the service's worker made progress recently")
    alive.add_argument("service", choices=SERVICES)
    alive.add_argument("--max-age", type=float, default=60.0, help="seconds")

    rekey_cmd = commands.add_parser("rekey", help="re-encrypt a service's values under the current key")
    rekey_cmd.add_argument("service", choices=SERVICES)
    rekey_cmd.add_argument("--batch-size", type=_positive_int, default=500, help="rows per transaction")
    rekey_cmd.add_argument("--dry-run", action="store_true", help="only count the values per key id")

    export = commands.add_parser("export", help="write a county's services into an archive for another deployment")
    export.add_argument("services", nargs="*", metavar="SERVICE", help="default: all")
    export.add_argument("--out", required=True, help="an empty directory")
    export.add_argument("--transfer-key", required=True, help="the transfer key file; made when absent")

    import_cmd = commands.add_parser("import", help="take a county's archive into this deployment")
    import_cmd.add_argument("services", nargs="*", metavar="SERVICE", help="default: all")
    import_cmd.add_argument("--from", required=True, help="the archive's directory")
    import_cmd.add_argument("--transfer-key", required=True, help="the transfer key file the export made")

    seed = commands.add_parser("seed", help="load demo data through the running APIs")
    seed.add_argument("--children", type=int, default=2000)
    seed.add_argument("--county", default="520424000000",
                      help="the demo county: a county's 6- or 12-digit code in the registry's division register")
    seed.add_argument("--dev-tokens", default=None, metavar="FILE",
                      help="write the county's demo people with development tokens there (as dev-tokens.json)")

    setup_check = commands.add_parser("setup-check", help="what a county still has to configure (recipients, "
                                                          "rosters, providers, expected counts); exit 1 if any")
    setup_check.add_argument("--jurisdiction", default=None, help="12-digit code (default: the token's)")
    setup_check.add_argument("--token", default=None, help="a staff bearer token (default: $SHOUHU_TOKEN, or a "
                                                           "development token for --jurisdiction)")
    setup_check.add_argument("--notify-url", default=None)
    setup_check.add_argument("--registry-url", default=None)

    reports = commands.add_parser("reports", help="the reports service's operations")
    reports_commands = reports.add_subparsers(dest="reports_command", required=True)
    reports_commands.add_parser("rebuild", help="rebuild the read model from offset 0 while the old one answers")

    args = parser.parse_args(argv)
    if args.command == "token":
        return _token(args)
    if args.command == "alive":
        return _alive(args)
    runners = {"migrate": _migrate, "status": _status, "dead-letters": _dead_letters, "replay": _replay, "seed": _seed,
               "reconcile": _reconcile, "rekey": _rekey, "reports": _reports, "prune": _prune,
               "retention": _retention,
               "setup-check": _setup_check, "export": _export, "import": _import}
    return asyncio.run(runners[args.command](args))


if __name__ == "__main__":
    sys.exit(main())
