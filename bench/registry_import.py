"""Registry bulk import throughput, as a ratio of raw COPY and as a multiple of a
row-by-row INSERT loop, in the same run, into the same table.

Measured ("import"): a generated XLSX sheet of N children (default 100,000; synthetic
names and national IDs with valid GB 11643 check digits) goes through what the upload
request does (reading and checking the sheet with python-calamine, keeping the rows read,
storing the job), then `ImportRunner.run_once()` (what the registry worker runs) from the
claim to the job's end; both are timed. The job: validating every row (ID check digit,
region code of the birth year, agreement with birth date and gender, phones, places against
the division register, duplicates), pinyin
search keys, AES-GCM encryption of the sensitive fields, the national ID's blind index,
the look-up of IDs already registered, COPY into `children`, one ChildRegistered outbox
row per child (COPY), row errors and progress, per batch of 2,000 rows, with batches
prepared in `--processes` worker processes (default: one more than CPUs, as the worker runs).

Baseline 1 ("raw COPY"): the very rows the import produced, read back from `children`,
written again with asyncpg `copy_records_to_table` into the emptied `children` table (same
indexes, incl. the trigram index and the unique blind index). Goal: import ≥ 0.2 × COPY.

Baseline 2 ("INSERT loop"): the same rows inserted one `INSERT` per row, each committed on
its own, as naive code would; timed on the first `--loop-rows` rows (default 5,000) since
100,000 would take minutes. Goal: import ≥ 5 × the loop's rows/s.

"floor": the least time any import of this sheet could take on this machine if validation,
encryption and events cost nothing: reading the sheet (as timed in the upload; no row
exists before python-calamine is done) plus the COPY of the children rows and of the outbox rows
the import wrote, as if PostgreSQL ran both on the two cores at once. Where the floor is
below 5 × the INSERT loop, the 5 × goal cannot be met on this machine by any import that
writes the outbox rows the issue asks for.

The generated sheet is not timed. Run: `python -m bench.registry_import [--rows N]`.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import random
import time
import uuid
import zipfile
from datetime import date, timedelta

import asyncpg
from xml.sax.saxutils import escape

from bench.common import Goal, infrastructure, quiet_logging, rule
from services.demo import COUNTY as DEMO_COUNTY, TOWNSHIPS as DEMO_TOWNSHIPS, VILLAGES as DEMO_VILLAGES
from services.registry.entry import ENTRY as REGISTRY
from services.registry.import_batches import default_processes
from services.registry.importer import ImportRunner
from services.registry import store_imports
from services.registry.sheets import COLUMNS, read_sheet
from services.registry.stored_rows import encode_stored_rows
from services.registry.store import CHILD_COLUMNS
from shared.crypto import FieldCipher
from shared.db import create_pool
from shared.entrypoint import migrate_service
from shared.settings import ServiceSettings
from tests.registry.helpers import check_digit
from tests.support.databases import create_database, drop_database

OUTBOX_COLUMNS = ("event_id", "topic", "message_key", "event_type", "headers", "payload")
COUNTY = DEMO_COUNTY  # 关岭: real townships and villages, checked against the division register
# Common surnames (some read differently as surnames: 曾 zeng, 单 shan, 解 xie) and given-name
# characters: with one or two of these after a surname, nearly every child's name in the
# sheet is different, as in a county's real sheets (so per-name caches do not flatter it).
SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁"
            "任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴"
            "莫孔向汤单解")
GIVEN_CHARACTERS = ("子涵浩然欣怡宇轩梓萱俊杰雨桐一诺佳天佑明红华建国丽娟伟芳秀英敏静强磊军洋勇艳娜涛超兰霞平刚"
                    "桂玉萍鹏辉晨阳思雨博文嘉琪瑶雪晓峰志鑫宁海燕婷亮斌飞凯琳欢颖倩慧晶晶莉鹤翔宏伦睿泽铭航泓旭"
                    "昊霖锦程佩妍诗琪可馨若曦梦瑶语嫣子墨沐辰奕然安琪心怡雅静家豪振宇")
GOAL_COPY_RATIO = 0.2
GOAL_LOOP_MULTIPLE = 5.0


def synthetic_id(index: int) -> tuple[str, date, str]:
    """A unique, valid, synthetic ID per index: (birth day, sequence) pairs never repeat."""
    birth = date(2009, 6, 1) + timedelta(days=index % 4000)
    sequence = index // 4000
    gender = "male" if index % 2 else "female"
    first17 = f"{COUNTY[:6]}{birth:%Y%m%d}{sequence % 100:02d}{(sequence // 100) * 2 + (1 if gender == 'male' else 0)}"
    return first17 + check_digit(first17), birth, gender


def generate_sheet(rows: int) -> bytes:
    """An XLSX written directly as SpreadsheetML, the way Excel writes one (a shared string
    table, cell references, empty cells left out), because openpyxl takes about a minute
    for 100,000 rows; python-calamine reads it like any Excel file. Deterministic."""
    rng = random.Random(2026)
    keys = [column.key for column in COLUMNS]
    strings: dict[str, int] = {}
    lines = [_xml_row(1, [column.header for column in COLUMNS], strings)]
    for index in range(rows):
        number, birth, gender = synthetic_id(index)
        township = DEMO_TOWNSHIPS[index % len(DEMO_TOWNSHIPS)]
        villages = DEMO_VILLAGES[township]
        surname = rng.choice(SURNAMES)
        values = {
            "name": surname + _given_name(rng), "gender": "男" if gender == "male" else "女",
            "birth_date": birth.isoformat(), "national_id": number, "county_code": COUNTY,
            "township_code": township, "village_code": villages[index // len(DEMO_TOWNSHIPS) % len(villages)],
            "school_id": f"school-{index % 40}", "grade": f"{index % 6 + 1}年级", "class_name": f"{index % 4 + 1}班",
            "left_behind_type": "双亲外出", "categories": "留守儿童", "guardian_name": rng.choice(SURNAMES) + _given_name(rng),
            "guardian_relation": "祖父母", "guardian_phone": f"138{rng.randrange(100_000_000):08d}",
            "father_name": surname + _given_name(rng), "father_work_place": "广东省东莞市",
            "father_phone": f"139{rng.randrange(100_000_000):08d}",
        }
        lines.append(_xml_row(index + 2, [values.get(key, "") for key in keys], strings))
    sheet = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
             '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
             f'<dimension ref="A1:{_COLUMN_LETTERS[len(keys) - 1]}{rows + 1}"/><sheetData>'
             + "".join(lines) + "</sheetData></worksheet>")
    shared = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
              '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
              f'uniqueCount="{len(strings)}">' + "".join(f"<si><t>{escape(text)}</t></si>" for text in strings)
              + "</sst>")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", _CONTENT_TYPES)
        archive.writestr("_rels/.rels", _ROOT_RELS)
        archive.writestr("xl/workbook.xml", _WORKBOOK)
        archive.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        archive.writestr("xl/sharedStrings.xml", shared)
        archive.writestr("xl/worksheets/sheet1.xml", sheet)
    return buffer.getvalue()


def _given_name(rng: random.Random) -> str:
    return "".join(rng.choice(GIVEN_CHARACTERS) for _ in range(1 if rng.random() < 0.2 else 2))


_COLUMN_LETTERS = [letter for letter in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"] + ["A" + letter for letter in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"]


def _xml_row(number: int, values: list[str], strings: dict[str, int]) -> str:
    cells = "".join(f'<c r="{_COLUMN_LETTERS[column]}{number}" t="s"><v>{strings.setdefault(value, len(strings))}</v></c>'
                    for column, value in enumerate(values) if value)
    return f'<row r="{number}">{cells}</row>'


_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/sharedStrings.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>')
_ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
    'Target="xl/workbook.xml"/></Relationships>')
_WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="儿童信息" sheetId="1" r:id="rId1"/></sheets></workbook>')
_WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
    'Target="worksheets/sheet1.xml"/>'
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" '
    'Target="sharedStrings.xml"/></Relationships>')


async def run(rows: int, loop_rows: int, processes: int) -> list[Goal]:
    infra = infrastructure()
    quiet_logging()
    rule(f"registry bulk import, {rows:,} rows, {processes} preparing processes")
    started = time.perf_counter()
    content = generate_sheet(rows)
    print(f"  generated a {len(content) / 1e6:.1f} MB XLSX in {time.perf_counter() - started:.1f}s (not timed)",
          flush=True)
    url = await create_database(infra, "bench_registry")
    try:
        await migrate_service(REGISTRY, url)  # with the division register, as `migrate` loads it
        settings = ServiceSettings(database_url=url, statement_timeout_ms=120_000)
        pool = await create_pool(settings)
        try:
            runner = ImportRunner(pool, FieldCipher.development(), processes=processes)
            await runner.warm_up()  # as in a running worker: its processes are already up
            # What the upload request does (api_imports.upload): read and check the file, keep
            # the rows it read, store the job. Timed: it is part of importing the sheet.
            started = time.perf_counter()
            sheet = read_sheet(content)
            read_s = time.perf_counter() - started
            stored_rows = encode_stored_rows(sheet)
            async with pool.acquire() as conn:
                await store_imports.create_job(conn, job_id=uuid.uuid4(), created_by="bench", scope=COUNTY,
                                               file_format="xlsx", file_sha256="x", content=content,
                                               stored_rows=stored_rows, rows_total=sheet.total)
            upload_s = time.perf_counter() - started
            del sheet, stored_rows
            started = time.perf_counter()
            try:
                assert await runner.run_once()
            finally:
                runner.close()
            job_s = time.perf_counter() - started
            import_s = upload_s + job_s
            async with pool.acquire() as conn:
                job = await conn.fetchrow("SELECT status, rows_imported, rows_rejected FROM import_jobs")
                events = await conn.fetchval("SELECT count(*) FROM outbox")
        finally:
            await pool.close()
        if job["status"] != "done" or job["rows_imported"] != rows or events != rows:
            raise SystemExit(f"bench: the import did not complete cleanly: {dict(job)}, {events} events")
        import_rate = rows / import_s
        print(f"  import : {import_s:6.2f}s  {import_rate:9,.0f} rows/s  ({events:,} outbox rows; upload {upload_s:.2f}s"
              f" of which reading {read_s:.2f}s, then the job {job_s:.2f}s)", flush=True)

        conn = await asyncpg.connect(url)  # plain codecs: jsonb travels as text both ways
        try:
            records = [tuple(r) for r in await conn.fetch(f"SELECT {', '.join(CHILD_COLUMNS)} FROM children")]
            await conn.execute("TRUNCATE children CASCADE")
            started = time.perf_counter()
            await conn.copy_records_to_table("children", records=records, columns=list(CHILD_COLUMNS))
            copy_s = time.perf_counter() - started
            copy_rate = rows / copy_s
            print(f"  COPY   : {copy_s:6.2f}s  {copy_rate:9,.0f} rows/s", flush=True)

            # The outbox rows the import wrote, COPYed again: PostgreSQL's other share of the
            # import's work (the issue counts one ChildRegistered per child in the import).
            events = [tuple(r) for r in await conn.fetch(f"SELECT {', '.join(OUTBOX_COLUMNS)} FROM outbox")]
            await conn.execute("TRUNCATE outbox")
            started = time.perf_counter()
            await conn.copy_records_to_table("outbox", records=events, columns=list(OUTBOX_COLUMNS))
            outbox_copy_s = time.perf_counter() - started
            print(f"  COPY outbox rows: {outbox_copy_s:6.2f}s", flush=True)

            await conn.execute("TRUNCATE children CASCADE")
            sample = records[:loop_rows]
            placeholders = ", ".join(f"${i}" for i in range(1, len(CHILD_COLUMNS) + 1))
            insert = f"INSERT INTO children ({', '.join(CHILD_COLUMNS)}) VALUES ({placeholders})"
            started = time.perf_counter()
            for record in sample:
                await conn.execute(insert, *record)
            loop_s = time.perf_counter() - started
            loop_rate = len(sample) / loop_s
            print(f"  INSERT : {loop_s:6.2f}s  {loop_rate:9,.0f} rows/s  (loop over {len(sample):,} rows)", flush=True)
        finally:
            await conn.close()
    finally:
        await drop_database(infra, url)
    # The least time any import of this sheet could take here, with validation, encryption
    # and events costing nothing: reading the sheet (no row exists before calamine is done)
    # plus the two COPYs, as if PostgreSQL ran them on both cores at once.
    floor_s = read_s + (copy_s + outbox_copy_s) / 2
    print(f"  floor  : {floor_s:6.2f}s  {rows / floor_s:9,.0f} rows/s = {rows / floor_s / loop_rate:.1f}× the INSERT loop"
          f"  (reading {read_s:.2f}s + COPYs {copy_s + outbox_copy_s:.2f}s on 2 cores, Python work free)", flush=True)
    goals = [Goal("import / raw COPY", import_rate / copy_rate, ">=", GOAL_COPY_RATIO),
             Goal("import / row-by-row INSERT", import_rate / loop_rate, ">=", GOAL_LOOP_MULTIPLE, "×")]
    for goal in goals:
        print("  " + goal.line())
    return goals


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.registry_import", description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--loop-rows", type=int, default=5_000)
    parser.add_argument("--processes", type=int, default=default_processes(),
                        help="worker processes preparing batches, as the registry worker uses (0: a thread)")
    args = parser.parse_args()
    asyncio.run(run(args.rows, min(args.loop_rows, args.rows), args.processes))


if __name__ == "__main__":
    main()
