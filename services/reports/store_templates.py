"""SQL of the summary's wording templates, one per county."""

from __future__ import annotations

import json

import asyncpg


async def template_of(conn: asyncpg.Connection, county_code: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT county_code, sections, updated_by, updated_at, version FROM summary_templates WHERE county_code = $1",
        county_code)


async def set_template(conn: asyncpg.Connection, *, county_code: str, sections: list[dict[str, str]],
                       updated_by: str) -> asyncpg.Record:
    return await conn.fetchrow(
        """INSERT INTO summary_templates (county_code, sections, updated_by) VALUES ($1, $2::jsonb, $3)
           ON CONFLICT (county_code) DO UPDATE SET sections = EXCLUDED.sections, updated_by = EXCLUDED.updated_by,
               updated_at = now(), version = summary_templates.version + 1
           RETURNING county_code, sections, updated_by, updated_at, version""",
        county_code, json.dumps(sections, ensure_ascii=False), updated_by)
