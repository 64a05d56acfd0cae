"""Fetching contact points from pairing and registry, against a real local HTTP server."""

from __future__ import annotations

import httpx
import pytest

from services.notify.contacts import ContactLookupFailed, HttpContactSource, _by_channel
from shared.service_auth import ServiceTokenProvider
from shared.settings import AuthSettings
from tests.notify.fakes import FakeHttp, serving


def test_reads_pairing_registry_and_list_shapes() -> None:
    pairing = {"caregiver_id": "c", "active": True, "channels": ["sms", "wecom"], "phone": "+8613800138000",
               "email": "t@school.example.cn", "wecom_id": "zhangsan", "dingtalk_id": None}
    assert _by_channel(pairing) == {"sms": "+8613800138000", "email": "t@school.example.cn"}
    registry = {"guardians": [{"relation": "grandparent", "phone": None}, {"relation": "relative", "phone": "139"},
                              {"relation": "other", "phone": "137"}]}
    assert _by_channel(registry) == {"sms": "139"}
    listed = {"contact_points": [{"channel": "dingtalk", "address": "https://oapi.dingtalk.com/robot/send?x",
                                  "secret": "SEC"}, {"channel": "wecom", "address": "user-id-not-a-robot"}]}
    assert _by_channel(listed) == {"dingtalk": {"url": "https://oapi.dingtalk.com/robot/send?x", "secret": "SEC"}}
    assert _by_channel({"active": False, "phone": "138"}) == {}


async def test_fetch_with_service_token_retrying_once_on_401() -> None:
    answers = iter([(401, {}), (200, {"phone": "+8613800138000"}), (404, {}), (503, {})])
    async with serving(FakeHttp(lambda r: next(answers))) as fake, httpx.AsyncClient() as client:
        source = HttpContactSource(client, ServiceTokenProvider(AuthSettings(), service_name="notify"),
                                   pairing_base_url=fake.base_url, registry_base_url=fake.base_url + "/")
        assert await source.caregiver("c-1") == {"sms": "+8613800138000"}
        assert await source.guardian("k-1") == {}
        with pytest.raises(ContactLookupFailed):
            await source.guardian("k-2")
    assert [r.path for r in fake.requests] == ["/v1/caregivers/c-1/contact-points"] * 2 + [
        "/v1/children/k-1/guardian-contacts", "/v1/children/k-2/guardian-contacts"]
    assert all(r.headers["authorization"].startswith("Bearer ") for r in fake.requests)
    assert not any("138" in r.path + r.query for r in fake.requests)
