"""The Keycloak that `scripts/infra up` starts with the demo realm (deploy/keycloak/), and the few
administrative changes the sign-in tests make to it through its admin REST API: a test client
that may use the password grant, a caregiver's id on the demo teacher, a gateway's origin."""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from shared.settings import AuthSettings

REALM_FILE_PASSWORD = "shouhu-demo"  # every demo user's password in deploy/keycloak/shouhu-realm.json
AUDIENCE = "shouhu"


@dataclass(frozen=True)
class Keycloak:
    url: str      # http://127.0.0.1:PORT
    realm: str
    admin_user: str
    admin_password: str

    @classmethod
    def from_environment(cls) -> "Keycloak":
        url = os.environ.get("SHOUHU_TEST_KEYCLOAK_URL")
        admin = os.environ.get("SHOUHU_TEST_KEYCLOAK_ADMIN", "")
        if not url or ":" not in admin:
            raise RuntimeError("no Keycloak: run `scripts/infra up` and `eval \"$(scripts/infra env)\"` "
                               "(SHOUHU_TEST_KEYCLOAK_URL, SHOUHU_TEST_KEYCLOAK_ADMIN)")
        user, _, password = admin.partition(":")
        return cls(url=url.rstrip("/"), realm=os.environ.get("SHOUHU_TEST_KEYCLOAK_REALM", "shouhu"),
                   admin_user=user, admin_password=password)

    @property
    def issuer(self) -> str:
        return f"{self.url}/realms/{self.realm}"

    @property
    def jwks_url(self) -> str:
        return f"{self.issuer}/protocol/openid-connect/certs"

    def auth_settings(self, **overrides: Any) -> AuthSettings:
        """How a service verifies this realm's tokens in production (oidc mode)."""
        return AuthSettings(mode="oidc", oidc_jwks_url=self.jwks_url, issuer=self.issuer, audience=AUDIENCE,
                            **overrides)

    def password_token(self, client_id: str, username: str, password: str = REALM_FILE_PASSWORD,
                       realm: str | None = None) -> str:
        """An access token by the password grant (a test client only: the realm's own clients
        allow the authorization code flow alone)."""
        response = httpx.post(f"{self.url}/realms/{realm or self.realm}/protocol/openid-connect/token", data={
            "grant_type": "password", "client_id": client_id, "username": username, "password": password,
            "scope": "openid"}, timeout=30)
        response.raise_for_status()
        return str(response.json()["access_token"])

    def admin(self) -> "KeycloakAdmin":
        token = self.password_token("admin-cli", self.admin_user, self.admin_password, realm="master")
        return KeycloakAdmin(self, httpx.Client(base_url=f"{self.url}/admin/realms/{self.realm}", timeout=30,
                                                headers={"Authorization": f"Bearer {token}"}))


class KeycloakAdmin:
    def __init__(self, keycloak: Keycloak, client: httpx.Client) -> None:
        self.keycloak = keycloak
        self.http = client

    def close(self) -> None:
        self.http.close()

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.http.request(method, path, **kwargs)
        response.raise_for_status()
        return response.json() if response.content else None

    def client(self, client_id: str) -> dict[str, Any]:
        found = self._json("GET", "/clients", params={"clientId": client_id})
        assert found, f"no client {client_id} in realm {self.keycloak.realm}"
        return dict(found[0])

    def user(self, username: str) -> dict[str, Any]:
        found = self._json("GET", "/users", params={"username": username, "exact": "true"})
        assert found, f"no user {username}"
        return dict(found[0])

    def set_user_attribute(self, username: str, name: str, value: str) -> None:
        user = self.user(username)
        attributes = {**(user.get("attributes") or {}), name: [value]}
        self._json("PUT", f"/users/{user['id']}", json={**user, "attributes": attributes})

    def allow_origin(self, client_id: str, origin: str) -> None:
        """Registers a gateway's origin with a public client (its token endpoint answers that
        origin's browser calls); the redirect URIs on 127.0.0.1 match any port already."""
        client = self.client(client_id)
        if origin not in client.get("webOrigins", []):
            client["webOrigins"] = [*client.get("webOrigins", []), origin]
            self._json("PUT", f"/clients/{client['id']}", json=client)

    def forget_origin(self, client_id: str, origin: str) -> None:
        client = self.client(client_id)
        if origin in client.get("webOrigins", []):
            client["webOrigins"] = [o for o in client["webOrigins"] if o != origin]
            self._json("PUT", f"/clients/{client['id']}", json=client)

    def copy_of_client(self, template: str, *, audience: bool = True, lifespan_seconds: int | None = None) -> str:
        """A public client like `template` (its claim mappers, its scope of Shouhu's roles) that
        may also use the password grant; without the audience mapper when `audience` is False."""
        source = self.client(template)
        client_id = f"shouhu-tests-{uuid.uuid4().hex[:8]}"
        copy = {key: value for key, value in source.items() if key not in ("id", "clientId")}
        copy.update(clientId=client_id, directAccessGrantsEnabled=True, redirectUris=[], webOrigins=[],
                    protocolMappers=[{k: v for k, v in m.items() if k != "id"} for m in source.get("protocolMappers", [])
                                     if audience or m["protocolMapper"] != "oidc-audience-mapper"])
        if lifespan_seconds is not None:
            copy["attributes"] = {**copy.get("attributes", {}), "access.token.lifespan": str(lifespan_seconds)}
        self._json("POST", "/clients", json=copy)
        new_id = self.client(client_id)["id"]
        realm_roles = self._json("GET", f"/clients/{source['id']}/scope-mappings/realm")
        self._json("POST", f"/clients/{new_id}/scope-mappings/realm", json=realm_roles)
        audience_client = self.client(AUDIENCE)["id"]
        client_roles = self._json("GET", f"/clients/{source['id']}/scope-mappings/clients/{audience_client}")
        self._json("POST", f"/clients/{new_id}/scope-mappings/clients/{audience_client}", json=client_roles)
        return client_id

    def delete_client(self, client_id: str) -> None:
        self.http.delete(f"/clients/{self.client(client_id)['id']}").raise_for_status()
