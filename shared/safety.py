"""Closed by default: a process refuses to start with settings that would leave it open.

Development mode exists only when asked for (`SHOUHU_ENV=development`, set by `make up` and
`make test`, never by compose or Kubernetes). Anywhere else the api and the worker check,
before they open a port or a connection, that tokens are verified against the identity
provider (OIDC, with JWKS URL, issuer and audience) and that field encryption has real keys.
Each problem is named by its setting, all of them on one line, and the exit code is 2.
The values themselves are never printed.
"""

from __future__ import annotations

import sys

from shared.crypto import CryptoError, CryptoSettings, FieldCipher
from shared.settings import DEV_SIGNING_KEY, AuthSettings, ServiceSettings, development_mode

EXIT_UNSAFE = 2


def auth_problems(auth: AuthSettings) -> list[str]:
    problems = []
    if auth.mode != "oidc":
        problems.append("SHOUHU_AUTH_MODE must be oidc")
        if auth.dev_signing_key.get_secret_value() == DEV_SIGNING_KEY:
            problems.append("SHOUHU_AUTH_DEV_SIGNING_KEY is the public development key")
    if not auth.oidc_jwks_url:
        problems.append("SHOUHU_AUTH_OIDC_JWKS_URL is missing")
    if auth.mode == "oidc" and not auth.issuer:
        problems.append("SHOUHU_AUTH_ISSUER is missing")
    if auth.mode == "oidc" and not auth.audience:
        problems.append("SHOUHU_AUTH_AUDIENCE is missing")
    if auth.dev_idp_issuer:
        problems.append("SHOUHU_AUTH_DEV_IDP_ISSUER is for development only")
    if auth.max_token_lifetime_seconds <= 0:
        problems.append("SHOUHU_AUTH_MAX_TOKEN_LIFETIME_SECONDS must be positive")
    return problems


def crypto_problems(crypto: CryptoSettings) -> list[str]:
    if not (crypto.keys or crypto.keys_file) or not (crypto.index_key or crypto.index_key_file):
        return ["SHOUHU_CRYPTO_KEYS and SHOUHU_CRYPTO_INDEX_KEY are required (or their *_FILE)"]
    try:
        cipher = FieldCipher.from_settings(crypto)
    except CryptoError as exc:
        return [f"field encryption keys: {exc}"]
    except OSError as exc:  # a *_FILE setting naming a file that cannot be read
        return [f"field encryption keys: a key file cannot be read ({type(exc).__name__})"]
    if cipher.uses_development_keys():
        return ["SHOUHU_CRYPTO_KEYS or SHOUHU_CRYPTO_INDEX_KEY is a public development key"]
    return []


def production_problems(settings: ServiceSettings, crypto: CryptoSettings | None = None, *,
                        encrypts: bool = True) -> list[str]:
    """Every setting that makes this process unsafe outside development mode; empty when fine.
    A service that encrypts no field (`encrypts=False`: reports) needs no keys."""
    return auth_problems(settings.auth) + (crypto_problems(crypto or CryptoSettings()) if encrypts else [])


def check_startup(service: str, role: str, settings: ServiceSettings, log: object, *,
                  encrypts: bool = True) -> int | None:
    """None when the process may start; else the exit code, after one line on stderr.

    In development mode, logs one loud warning instead. `migrate` uses neither tokens nor
    keys, so it is not held back by them (compose and Kubernetes run it with the same
    settings as the api, which then refuses to start)."""
    if development_mode():
        log.warning("DEVELOPMENT MODE (SHOUHU_ENV=development): development tokens and keys are "  # type: ignore[attr-defined]
                    "accepted; never run this with real children's data", role=role)
        return None
    if role == "migrate":
        return None
    problems = production_problems(settings, encrypts=encrypts)
    if not problems:
        return None
    print(f"shouhu {service} {role}: refusing to start (not in development mode, "
          f"SHOUHU_ENV=development is not set): {'; '.join(problems)}", file=sys.stderr, flush=True)
    return EXIT_UNSAFE
