"""The division register as the api and the import runner hold it: each county's
divisions read once (one query) the first time a record of that county is checked or
shown, then consulted in memory for every record, list row and export line."""

from __future__ import annotations

from typing import Any, Iterable

import asyncpg
from fastapi import Request

from services.registry import store_divisions
from services.registry.divisions import DivisionRegister

COUNTY_DIGITS = 6


class DivisionCache:
    """Per process. A new edition is loaded by `migrate`, and the processes that follow
    it (a deployment restarts them) read it; a running api keeps the edition it read."""

    def __init__(self) -> None:
        self._counties: dict[str, DivisionRegister] = {}

    async def load(self, conn: asyncpg.Connection, codes: Iterable[str | None]) -> None:
        """Makes sure the counties of these codes are in memory."""
        wanted = {code[:COUNTY_DIGITS] for code in codes if code and len(code) >= COUNTY_DIGITS}
        for county in sorted(wanted - self._counties.keys()):
            rows = await store_divisions.divisions_under(conn, county)
            self._counties[county] = DivisionRegister.from_rows(county, rows)

    def county(self, code: str) -> DivisionRegister:
        """The register of the county `code` lies in (empty when it was never loaded)."""
        return self._counties.get(code[:COUNTY_DIGITS]) or DivisionRegister(code[:COUNTY_DIGITS])

    def combined(self, codes: Iterable[str]) -> DivisionRegister:
        """One register holding the loaded counties of `codes` (an import spanning counties)."""
        counties = sorted({code[:COUNTY_DIGITS] for code in codes})
        if len(counties) == 1:
            return self.county(counties[0])
        merged = DivisionRegister("")
        for county in counties:
            part = self.county(county)
            merged.names.update(part.names)
            merged.current.update(part.current)
            merged.by_name.update(part.by_name)
            merged.edition = max(filter(None, (merged.edition, part.edition)), default=None)
        return merged

    def with_names(self, body: dict[str, Any]) -> dict[str, Any]:
        """A record's body with the names of its places beside the codes."""
        place = body["jurisdiction"]
        body["jurisdiction_names"] = self.county(place["county_code"]).names_of(
            place["county_code"], place["township_code"], place.get("village_code"))
        return body


def divisions_of(request: Request) -> DivisionCache:
    """The api process's one cache (made by the app at start-up)."""
    cache: DivisionCache = request.app.state.divisions
    return cache
