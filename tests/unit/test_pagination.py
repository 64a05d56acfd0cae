"""The one list shape: cursors round-trip their keyset values, a made-up cursor is a 422 on
`query.cursor`, and following `next_cursor` reads every item exactly once."""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Annotated, Any
from uuid import UUID, uuid4

import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient

from shared import problems
from shared.pagination import Page, PageRequest, decode_cursor, encode_cursor, keyset_after, paged
from shared.rules import RuleViolation


def test_cursor_round_trips_typed_values() -> None:
    values = (date(2026, 3, 1), datetime(2026, 3, 1, 8, 30, tzinfo=timezone.utc), uuid4(), "王", 7)
    assert decode_cursor(encode_cursor(values), date, datetime, UUID, str, int) == values


@pytest.mark.parametrize("cursor", ["!!", "bm90IGpzb24", encode_cursor(["x"]), encode_cursor([1, 2]),
                                    encode_cursor([True]), encode_cursor(["not-a-uuid"])])
def test_a_cursor_we_did_not_give_is_a_422(cursor: str) -> None:
    with pytest.raises(RuleViolation) as refused:
        PageRequest(limit=10, cursor=cursor).after(UUID)
    assert refused.value.field == "query.cursor"


def _app(rows: list[int]) -> FastAPI:
    app = FastAPI()
    problems.install(app)

    @app.get("/numbers", response_model=Page[int])
    def numbers(page: Annotated[PageRequest, Depends(paged(default=3, maximum=5))]) -> dict[str, Any]:
        after = page.after(int)
        fetched = [n for n in rows if after is None or n > after[0]][: page.fetch]
        return page.keyset(fetched, key=lambda n: [n])

    @app.get("/letters", response_model=Page[str])
    def letters(page: Annotated[PageRequest, Depends(paged(default=2, maximum=5))]) -> dict[str, Any]:
        return page.of_sequence([str(n) for n in rows])

    return app


@pytest.mark.parametrize("path", ["/numbers", "/letters"])
def test_following_next_cursor_reads_every_item_once(path: str) -> None:
    rows = list(range(1, 12))
    client = TestClient(_app(rows))
    seen: list[Any] = []
    cursor: str | None = None
    for _ in range(20):
        answer = client.get(path, params={"cursor": cursor} if cursor else {})
        assert answer.status_code == 200
        seen += answer.json()["items"]
        cursor = answer.json()["next_cursor"]
        if cursor is None:
            break
    assert [int(item) for item in seen] == rows


def test_limit_above_the_maximum_and_a_bad_cursor_are_refused_by_field() -> None:
    client = TestClient(_app([1, 2, 3]))
    too_many = client.get("/numbers", params={"limit": 6})
    assert too_many.status_code == 422 and too_many.json()["errors"][0]["field"] == "query.limit"
    forged = client.get("/numbers", params={"cursor": encode_cursor(["x"])})
    assert forged.status_code == 422 and forged.json()["errors"][0]["field"] == "query.cursor"


def test_exact_last_page_has_no_next_cursor() -> None:
    page = PageRequest(limit=3)
    assert page.keyset([1, 2, 3], key=lambda n: [n])["next_cursor"] is None
    assert page.keyset([1, 2, 3, 4], key=lambda n: [n])["items"] == [1, 2, 3]


def test_keyset_condition_follows_mixed_directions() -> None:
    assert keyset_after([("occurred_at", "desc"), ("id", "asc")], ["$1", "$2"]) == \
        "(occurred_at < $1 OR (occurred_at = $1 AND id > $2))"
