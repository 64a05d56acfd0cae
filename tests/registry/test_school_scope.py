"""A school_staff token that carries a school sees that school's children only: lists,
search, single records and growth notes; it registers only its own pupils."""

from __future__ import annotations

import uuid

from tests.registry.helpers import child_body, staff_headers
from tests.support.auth import TOWNSHIP, bearer


def head_of(school_id: str | None) -> dict[str, str]:
    return bearer(roles=["school_staff"], jurisdiction=TOWNSHIP, subject="head", school_id=school_id)


async def test_a_school_head_sees_their_own_school_only(registry) -> None:
    mine, theirs = f"school-{uuid.uuid4().hex[:8]}", f"school-{uuid.uuid4().hex[:8]}"
    ids = {}
    for school, name in ((mine, "周小雨"), (theirs, "周小雪")):
        created = await registry.client.post("/v1/children", json=child_body(name=name, school_id=school,
                                                                            gender="female"),
                                             headers=staff_headers())
        assert created.status_code == 201, created.text
        ids[school] = created.json()["id"]
    head = head_of(mine)

    listed = await registry.client.get("/v1/children", params={"limit": 500}, headers=head)
    assert listed.status_code == 200
    assert {item["school_id"] for item in listed.json()["items"]} == {mine}
    assert ids[mine] in {item["id"] for item in listed.json()["items"]}
    # Another school is a filter outside the caller's scope: refused, not an empty page.
    other = await registry.client.get("/v1/children", params={"school_id": theirs}, headers=head)
    assert other.status_code == 403 and other.json()["errors"][0]["field"] == "query.school_id"
    searched = await registry.client.post("/v1/children/search", json={"query": "周小", "school_id": theirs},
                                          headers=head)
    assert searched.status_code == 403 and searched.json()["errors"][0]["field"] == "body.school_id"
    found = await registry.client.post("/v1/children/search", json={"query": "周小"}, headers=head)
    assert [item["id"] for item in found.json()["items"]] == [ids[mine]]

    assert (await registry.client.get(f"/v1/children/{ids[mine]}", headers=head)).status_code == 200
    for path in (f"/v1/children/{ids[theirs]}", f"/v1/children/{ids[theirs]}/growth-notes"):
        assert (await registry.client.get(path, headers=head)).status_code == 404, path
    refused = await registry.client.post("/v1/children", json=child_body(school_id=theirs), headers=head)
    assert refused.status_code == 403 and "body.school_id" in refused.text

    # School staff without a school in the token, and township staff, keep the township view.
    for wider in (head_of(None), staff_headers(TOWNSHIP, role="township_staff")):
        both = await registry.client.post("/v1/children/search", json={"query": "周小"}, headers=wider)
        assert {item["id"] for item in both.json()["items"]} == set(ids.values())
