"""`shouhu seed --county`'s county (services/demo_county.py): places from the registry's
division register, national IDs the registry accepts, a one-line refusal for anything that
is not a county, and `make up`'s county as it always was."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from services.demo_county import DEFAULT_COUNTY, UnknownCounty, demo_county
from services.registry.identity import check_id_agrees, normalize_national_id
from shared.cli import main
from tests.registry.helpers import county_register, national_id


def test_make_ups_county_keeps_its_places_schools_and_people() -> None:
    guanling = demo_county("520424")
    assert guanling == demo_county(DEFAULT_COUNTY)
    assert guanling.name == "关岭布依族苗族自治县" and guanling.short_name == "关岭县"
    # The browser tests name these: the clerk's township, the principal's school, its id.
    assert [guanling.names[t] for t in guanling.townships] == ["顶云街道", "百合街道", "永宁镇", "新铺镇", "花江镇"]
    first = guanling.schools()[0]
    assert (first["id"], first["name"]) == ("demo-school-002-1", "关岭县顶云中心小学")
    people = {person["key"]: person for person in guanling.people("a-teacher")}
    assert people["county_officer"]["jurisdiction"] == DEFAULT_COUNTY
    assert people["principal"]["school_id"] == "demo-school-002-1"
    assert people["township_clerk"]["duty"] == "街道民政办" and people["teacher"]["caregiver_id"] == "a-teacher"


def test_another_county_takes_its_places_from_the_division_register() -> None:
    shangcheng = demo_county("330102000000")
    assert shangcheng.code == "330102000000" and shangcheng.name == "上城区"
    register = county_register("330102")
    assert len(shangcheng.townships) == 5
    for township, villages in shangcheng.villages.items():
        assert villages
        for village in villages:
            register.check(shangcheng.code, township, village)  # what the registry checks on every record
    schools = shangcheng.schools()
    assert len(schools) == 15 and all(school["name"].startswith("上城区") for school in schools)
    # Ids of its own: two demo counties merged into one deployment share no school id.
    assert not {s["id"] for s in schools} & {s["id"] for s in demo_county(DEFAULT_COUNTY).schools()}
    assert {person["jurisdiction"][:6] for person in shangcheng.people(None)} == {"330102"}


@pytest.mark.parametrize("given", ["999999", "330100", "520424102000", "52042", "5204240000001", "上城区"])
def test_anything_but_a_county_is_refused_in_one_line(given: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(UnknownCounty):
        demo_county(given)
    assert main(["seed", "--county", given]) == 2  # before any service is asked
    refusal = capsys.readouterr().err
    assert refusal.startswith("shouhu seed: ") and refusal.count("\n") == 1


def test_national_ids_are_valid_for_the_region_and_birth_date_and_unique() -> None:
    county, taken = demo_county("520424"), set()
    born = date(2015, 3, 9)
    numbers = [county.national_id(born, gender, taken) for gender in ("male", "female") for _ in range(50)]
    assert len(set(numbers)) == 100
    for n, number in enumerate(numbers):
        assert number is not None and normalize_national_id(number) == number and number.startswith("520424")
        check_id_agrees(number, born, "male" if n < 50 else "female")
    # Never one the tests' helper makes: a test's new child never meets a demo child's number.
    helpers = {national_id(born, gender, region="520424", sequence=s) for s in range(100) for gender in ("male", "female")}
    assert not helpers & set(numbers)


def test_no_national_id_before_the_region_code_existed() -> None:
    miyun = demo_county("110118")  # 密云区: a district (code 110118) since 2015
    assert miyun.national_id(date(2014, 12, 31), "male", set()) is None
    later = miyun.national_id(date(2015, 1, 1) + timedelta(days=40), "male", set())
    assert later is not None and normalize_national_id(later) == later
