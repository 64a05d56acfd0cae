"""`GET /v1/divisions/{code}/names`: the division register's names of a county (the county,
its townships and villages), so that other services' documents name places as a county
writes them. The register is public (the statistics bureau publishes it): no personal data,
any signed-in caller; a code outside the caller's jurisdiction is still answered."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel

from services.registry.division_cache import COUNTY_DIGITS, divisions_of
from shared.routes import Caller

router = APIRouter(prefix="/v1", tags=["divisions"])


class DivisionNames(BaseModel):
    county_code: str
    edition: str | None
    names: dict[str, str]


@router.get("/divisions/{code}/names", response_model=DivisionNames)
async def division_names(request: Request, _principal: Caller,
                         code: Annotated[str, Path(pattern=r"^\d{12}$",
                                                   description="any 12-digit division code of the county")],
                         ) -> DivisionNames:
    """Every name of the county that `code` lies in, by 12-digit code (newest edition that
    has the code); empty when the register does not know the county."""
    places = divisions_of(request)
    async with request.app.state.pool.acquire() as conn:
        await places.load(conn, [code])
    register = places.county(code)
    county = code[:COUNTY_DIGITS]
    return DivisionNames(county_code=county.ljust(12, "0"), edition=register.edition,
                         names={key: name for key, name in register.names.items() if key.startswith(county)})
