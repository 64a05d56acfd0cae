"""The registry's today is the county's (shared/clock.py), not the UTC date: from 00:00 to
08:00 in China the two differ, and a baby born today or a child turning 18 today must be
judged on the county's calendar. The tests set the clock."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from tests.registry.helpers import child_body, staff_headers

pytestmark = pytest.mark.clock

SHANGHAI = timezone(timedelta(hours=8))
NEW_YEAR_0030 = datetime(2027, 1, 1, 0, 30, tzinfo=SHANGHAI)   # still 31 December in UTC
LEAP_DAY_0100 = datetime(2028, 2, 29, 1, 0, tzinfo=SHANGHAI)   # still 28 February in UTC


@pytest.fixture
def clock_at(registry):  # type: ignore[no-untyped-def]
    def move(moment: datetime) -> None:
        registry.settings.clock_now = moment

    yield move
    registry.settings.clock_now = None


@pytest.mark.parametrize("moment", [NEW_YEAR_0030, LEAP_DAY_0100], ids=["new-year", "leap-day"])
async def test_born_on_the_countys_today_is_not_in_the_future(registry, clock_at, moment: datetime) -> None:
    clock_at(moment)
    born_today = child_body(birth_date=moment.date().isoformat())
    response = await registry.client.post("/v1/children", json=born_today, headers=staff_headers())
    assert response.status_code == 201, response.text
    tomorrow = child_body(birth_date=(moment.date() + timedelta(days=1)).isoformat())
    refused = await registry.client.post("/v1/children", json=tomorrow, headers=staff_headers())
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "body.birth_date"


async def test_a_child_turning_18_on_the_countys_new_year_is_an_adult_that_day(registry, clock_at) -> None:
    clock_at(NEW_YEAR_0030)
    eighteen_today = child_body(birth_date="2009-01-01")
    refused = await registry.client.post("/v1/children", json=eighteen_today, headers=staff_headers())
    assert refused.status_code == 422 and "18" in refused.json()["errors"][0]["reason"]
    still_17 = child_body(birth_date="2009-01-02")
    assert (await registry.client.post("/v1/children", json=still_17, headers=staff_headers())).status_code == 201
