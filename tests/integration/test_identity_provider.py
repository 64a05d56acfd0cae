"""Sign-in against a real identity provider: tokens that Keycloak (scripts/infra, realm from
deploy/keycloak/shouhu-realm.json) issues for the demo county's people are accepted by the real
registry app configured as production is (SHOUHU_AUTH_MODE=oidc, the realm's JWKS URL, issuer
and audience) and give the principal the realm's roles and attributes say; a token of another
realm, an expired one, or one without Shouhu's audience is refused with 401."""

from __future__ import annotations

import time
import uuid
from datetime import date
from typing import Any, AsyncIterator, Iterator

import httpx
import jwt
import pytest
import pytest_asyncio

from services.demo import COUNTY, TOWNSHIPS
from services.registry.app import create_app
from services.registry.config import RegistrySettings
from shared.auth import AuthError, TokenVerifier, issue_dev_token
from shared.service_auth import ServiceClientSettings, ServiceTokenProvider
from shared.settings import AuthSettings
from tests.registry.helpers import MIGRATIONS, national_id
from tests.support.databases import create_migrated_database, drop_database
from tests.support.keycloak import Keycloak, KeycloakAdmin

TOWNSHIP = TOWNSHIPS[0]
SCHOOL = f"demo-school-{TOWNSHIP[6:9]}-1"


@pytest.fixture(scope="module")
def keycloak() -> Keycloak:
    return Keycloak.from_environment()


@pytest.fixture(scope="module")
def admin(keycloak: Keycloak) -> Iterator[KeycloakAdmin]:
    admin = keycloak.admin()
    yield admin
    admin.close()


@pytest.fixture(scope="module")
def test_client(admin: KeycloakAdmin) -> Iterator[str]:
    """The console's client, copied with the password grant allowed (the realm's own clients
    sign people in by the browser only)."""
    client_id = admin.copy_of_client("shouhu-console")
    yield client_id
    admin.delete_client(client_id)


@pytest.fixture(scope="module")
def teacher_caregiver_id(admin: KeycloakAdmin) -> str:
    # The caregiver's id comes from the pairing service when the teacher is registered there;
    # an administrator then records it on the person in the identity provider.
    caregiver_id = str(uuid.uuid4())
    admin.set_user_attribute("teacher", "caregiver_id", caregiver_id)
    return caregiver_id


@pytest_asyncio.fixture
async def registry(infra: Any, keycloak: Keycloak) -> AsyncIterator[httpx.AsyncClient]:
    """The registry app as production runs it: tokens checked against the realm's keys."""
    url = await create_migrated_database(infra, "registry", MIGRATIONS)
    settings = RegistrySettings(database_url=url, kafka_bootstrap_servers=infra.kafka_bootstrap,
                                auth=keycloak.auth_settings())
    app = create_app(settings)
    try:
        async with app.router.lifespan_context(app):
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t",
                                         timeout=60) as client:
                yield client
    finally:
        await drop_database(infra, url)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_each_demo_person_gets_the_principal_the_realm_gives_them(
        keycloak: Keycloak, test_client: str, teacher_caregiver_id: str) -> None:
    verifier = TokenVerifier(keycloak.auth_settings())
    officer = await verifier.verify(keycloak.password_token(test_client, "county-officer"))
    assert (officer.roles, officer.jurisdiction, officer.permissions) == (
        {"county_staff"}, COUNTY, {"view_sensitive"})
    assert officer.school_id is None and officer.caregiver_id is None
    clerk = await verifier.verify(keycloak.password_token(test_client, "township-clerk"))
    assert (clerk.roles, clerk.jurisdiction, clerk.permissions) == ({"township_staff"}, TOWNSHIP, frozenset())
    principal = await verifier.verify(keycloak.password_token(test_client, "principal"))
    assert (principal.roles, principal.jurisdiction, principal.school_scope) == ({"school_staff"}, TOWNSHIP, SCHOOL)
    teacher = await verifier.verify(keycloak.password_token(test_client, "teacher"))
    assert (teacher.roles, teacher.jurisdiction, teacher.caregiver_id) == ({"caregiver"}, TOWNSHIP, teacher_caregiver_id)
    # The subject is the provider's stable user id, never a name.
    assert uuid.UUID(teacher.subject)


async def test_the_registry_serves_each_person_what_their_token_allows(
        registry: httpx.AsyncClient, keycloak: Keycloak, test_client: str, teacher_caregiver_id: str) -> None:
    officer = bearer(keycloak.password_token(test_client, "county-officer"))
    assert (await registry.get("/v1/children", headers=officer)).status_code == 200
    teacher = bearer(keycloak.password_token(test_client, "teacher"))
    mine = await registry.get("/v1/me/children", headers=teacher)
    assert mine.status_code == 200, mine.text
    assert mine.json()["items"] == []
    # A principal is no caregiver: the same route refuses, after the token itself was accepted.
    principal = bearer(keycloak.password_token(test_client, "principal"))
    assert (await registry.get("/v1/me/children", headers=principal)).status_code == 403


@pytest.mark.parametrize("service", ["notify", "reports", "pairing"])
async def test_each_service_signs_in_as_itself_and_the_registry_takes_its_calls(
        registry: httpx.AsyncClient, keycloak: Keycloak, test_client: str, service: str) -> None:
    """Production's service-to-service calls (shared/service_auth.py): the service's own
    confidential client, the client-credentials grant, a token with role `service`."""
    provider = ServiceTokenProvider(keycloak.auth_settings(), ServiceClientSettings(
        client_id=f"shouhu-{service}", client_secret=f"shouhu-{service}-demo-secret",
        token_url=f"{keycloak.issuer}/protocol/openid-connect/token"), service_name=service)
    token = await provider.token()
    principal = await TokenVerifier(keycloak.auth_settings()).verify(token)
    assert (principal.roles, principal.jurisdiction, principal.permissions) == ({"service"}, COUNTY, {"view_sensitive"})
    ask = {"items": [{"national_id": national_id(date(2015, 3, 8), "female", region="520424", sequence=7)}]}
    resolved = await registry.post("/v1/children/resolve", json=ask, headers=bearer(token))
    assert resolved.status_code == 200, resolved.text
    assert resolved.json()["results"][0]["matches"] == 0
    # The same route refuses a person, whatever their rank: it is for services.
    officer = bearer(keycloak.password_token(test_client, "county-officer"))
    assert (await registry.post("/v1/children/resolve", json=ask, headers=officer)).status_code == 403
    # A wrong secret gets no token.
    wrong = ServiceTokenProvider(keycloak.auth_settings(), ServiceClientSettings(
        client_id=f"shouhu-{service}", client_secret="not-the-secret",
        token_url=f"{keycloak.issuer}/protocol/openid-connect/token"), service_name=service)
    with pytest.raises(Exception):
        await wrong.token()


async def test_a_token_of_another_realm_is_refused(registry: httpx.AsyncClient, keycloak: Keycloak) -> None:
    # A genuine Keycloak token, signed by the same server, but for its master realm.
    foreign = keycloak.password_token("admin-cli", keycloak.admin_user, keycloak.admin_password, realm="master")
    assert jwt.decode(foreign, options={"verify_signature": False})["iss"].endswith("/realms/master")
    response = await registry.get("/v1/children", headers=bearer(foreign))
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


async def test_a_token_without_shouhus_audience_is_refused(
        registry: httpx.AsyncClient, keycloak: Keycloak, admin: KeycloakAdmin) -> None:
    client_id = admin.copy_of_client("shouhu-console", audience=False)
    try:
        token = keycloak.password_token(client_id, "county-officer")
    finally:
        admin.delete_client(client_id)
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["roles"] == ["county_staff"] and "shouhu" not in (claims.get("aud") or [])
    assert (await registry.get("/v1/children", headers=bearer(token))).status_code == 401


async def test_an_expired_token_is_refused(infra: Any, keycloak: Keycloak, admin: KeycloakAdmin) -> None:
    client_id = admin.copy_of_client("shouhu-console", lifespan_seconds=1)
    try:
        token = keycloak.password_token(client_id, "county-officer")
    finally:
        admin.delete_client(client_id)
    expires = jwt.decode(token, options={"verify_signature": False})["exp"]
    # Good while it lives (the default leeway of 30 s covers a slow machine's second) ...
    assert (await TokenVerifier(keycloak.auth_settings()).verify(token)).roles == {"county_staff"}
    verifier = TokenVerifier(keycloak.auth_settings(leeway_seconds=0))
    deadline = time.monotonic() + 10
    while time.time() <= expires + 1:  # bounded wait for the token's own expiry
        assert time.monotonic() < deadline
        time.sleep(0.2)
    with pytest.raises(AuthError, match="ExpiredSignatureError"):  # ... and refused once it is not
        await verifier.verify(token)


async def test_a_development_stack_accepts_its_own_tokens_and_the_providers(
        keycloak: Keycloak, test_client: str) -> None:
    settings = AuthSettings(mode="dev", oidc_jwks_url=keycloak.jwks_url, dev_idp_issuer=keycloak.issuer)
    verifier = TokenVerifier(settings)
    from_provider = await verifier.verify(keycloak.password_token(test_client, "county-officer"))
    assert from_provider.roles == {"county_staff"}
    local = issue_dev_token(settings, subject="demo", roles=["county_staff"], jurisdiction=COUNTY)
    assert (await verifier.verify(local)).subject == "demo"
    # The development key never signs for the provider: an HS256 token naming its issuer fails.
    now = int(time.time())
    forged = jwt.encode({"sub": "x", "roles": ["admin"], "jurisdiction": "000000000000", "iss": keycloak.issuer,
                         "aud": "shouhu", "iat": now, "exp": now + 60},
                        settings.dev_signing_key.get_secret_value(), algorithm="HS256")
    with pytest.raises(AuthError, match="InvalidIssuerError"):
        await verifier.verify(forged)


def test_the_provider_beside_the_development_key_exists_in_development_only(
        keycloak: Keycloak, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOUHU_ENV", "production")
    with pytest.raises(ValueError, match="SHOUHU_AUTH_DEV_IDP_ISSUER"):
        TokenVerifier(AuthSettings(mode="dev", oidc_jwks_url=keycloak.jwks_url, dev_idp_issuer=keycloak.issuer))
