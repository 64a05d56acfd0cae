"""Field encryption at rest (AES-256-GCM or SM4-GCM) and blind indexes (HMAC-SHA256 or HMAC-SM3).

Sensitive fields (national ID, phones, addresses, sensitive categories, case notes,
observations) are encrypted in the application, with keys that live outside the database
(settings or a mounted secret file). Each ciphertext names the key that made it, so keys
rotate: add a new key, make it current, re-encrypt at leisure (`needs_rotation`, and
`shouhu rekey` in shared/rekey.py), and only then retire the old one. Lookups and
de-duplication by national ID go through a keyed hash (the blind index), never through
the clear number.

Ciphertext format (text, so it fits a `text` column and survives JSON):
    v1.<key id>.<base64url(nonce ‖ ciphertext ‖ tag)>
The `context` (e.g. "children.national_id:<child id>") is bound as associated data, so a
ciphertext copied to another row or column does not decrypt.

Each key has a suite (shared/crypto_suites.py): AES-256-GCM unless its entry says
"<id>:sm4:<base64 of 16 bytes>". The key id in a ciphertext names the key and so its suite:
moving to SM4 is a rotation like any other (configure an SM4 key, make it current, rekey).
The blind index's suite is one setting for all (SHOUHU_CRYPTO_INDEX_SUITE); changing it or
the index key means recomputing the stored indexes (`shouhu rekey registry` does).
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
from dataclasses import dataclass, field
from typing import Mapping

from cryptography.exceptions import InvalidTag
from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.crypto_suites import (
    AES_256_GCM, HMAC_SHA256, INDEX_SUITES, KEY_SIZES, SUITE_NAMES, Aead, index_digest, make_aead,
)
from shared.settings import development_mode

_KEY_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
_DEV_SECRET = b"shouhu-development-only-key-material"


class CryptoSettings(BaseSettings):
    """SHOUHU_CRYPTO_KEYS="k2026a:<base64 32 bytes>,g2027:sm4:<base64 16 bytes>" (or
    SHOUHU_CRYPTO_KEYS_FILE), SHOUHU_CRYPTO_CURRENT_KEY_ID, SHOUHU_CRYPTO_INDEX_KEY (base64,
    32 bytes; or _INDEX_KEY_FILE), SHOUHU_CRYPTO_INDEX_SUITE (hmac-sha256 or hmac-sm3)."""

    model_config = SettingsConfigDict(env_prefix="SHOUHU_CRYPTO_", extra="ignore")

    keys: SecretStr | None = None
    keys_file: str | None = None
    current_key_id: str | None = None
    index_key: SecretStr | None = None
    index_key_file: str | None = None
    index_suite: str = HMAC_SHA256
    # No switch for development keys: they are used only in development mode
    # (SHOUHU_ENV=development) when no keys are configured; anywhere else keys are required.


class CryptoError(ValueError):
    pass


def _derive_dev_key(label: str) -> bytes:
    return hashlib.sha256(_DEV_SECRET + label.encode()).digest()


def _read(secret: SecretStr | None, path: str | None) -> str | None:
    if path:
        with open(path, encoding="utf-8") as handle:
            return handle.read().strip()
    return secret.get_secret_value() if secret else None


def _b64(encoded: str) -> bytes:
    try:
        return base64.b64decode(encoded, validate=True)
    except ValueError as exc:
        raise CryptoError("a key is not valid base64") from exc


def _parse_key(item: str) -> tuple[str, str, bytes]:
    """'<id>:<base64>' (AES-256-GCM) or '<id>:<suite>:<base64>'; the error never shows key material."""
    key_id, _, rest = item.strip().partition(":")
    suite_name, _, encoded = rest.partition(":") if rest.count(":") == 1 else ("aes256", "", rest)
    if not _KEY_ID.match(key_id):
        raise CryptoError("each key is '<id>:<base64>' or '<id>:sm4:<base64>', the id of letters, digits, - and _")
    if suite_name.lower() not in SUITE_NAMES:
        raise CryptoError(f"key {key_id!r}: unknown suite {suite_name!r} (known: {', '.join(sorted(SUITE_NAMES))})")
    return key_id, SUITE_NAMES[suite_name.lower()], _b64(encoded)


@dataclass(frozen=True)
class FieldCipher:
    keys: dict[str, bytes]
    current_key_id: str
    index_key: bytes
    # Per key id its suite (crypto_suites.AES_256_GCM or SM4_GCM); a key not named is AES-256-GCM.
    suites: Mapping[str, str] = field(default_factory=dict)
    index_suite: str = HMAC_SHA256
    # One AEAD per key, made once: building it costs more than encrypting a short field,
    # which matters when a sheet of 100,000 children is sealed.
    _aeads: dict[str, Aead] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for key_id, key in self.keys.items():
            suite = self.suite_of(key_id)
            if suite not in KEY_SIZES:
                raise CryptoError(f"key {key_id!r}: unknown suite {suite!r}")
            if len(key) != KEY_SIZES[suite]:
                raise CryptoError(f"key {key_id!r} ({suite}) must be {KEY_SIZES[suite]} bytes, not {len(key)}")
        if self.index_suite not in INDEX_SUITES:
            raise CryptoError(f"the index suite is one of {', '.join(INDEX_SUITES)}, not {self.index_suite!r}")
        if len(self.index_key) != 32:
            raise CryptoError("the index key is 32 bytes, base64")
        object.__setattr__(self, "_aeads", {key_id: make_aead(self.suite_of(key_id), key)
                                            for key_id, key in self.keys.items()})

    def __reduce__(self) -> tuple[type, tuple[dict[str, bytes], str, bytes, dict[str, str], str]]:
        # AEAD objects do not pickle; the import's worker processes rebuild them.
        return (type(self), (self.keys, self.current_key_id, self.index_key, dict(self.suites), self.index_suite))

    def suite_of(self, key_id: str) -> str:
        return self.suites.get(key_id, AES_256_GCM)

    @classmethod
    def from_settings(cls, settings: CryptoSettings) -> "FieldCipher":
        raw_keys = _read(settings.keys, settings.keys_file)
        raw_index = _read(settings.index_key, settings.index_key_file)
        if raw_keys is None or raw_index is None:
            if not development_mode():
                raise CryptoError("SHOUHU_CRYPTO_KEYS and SHOUHU_CRYPTO_INDEX_KEY are required")
            return cls.development()
        keys, suites = {}, {}
        for item in raw_keys.split(","):
            key_id, suite, key = _parse_key(item)
            if key_id in keys:
                raise CryptoError(f"key {key_id!r} is configured twice")
            keys[key_id], suites[key_id] = key, suite
        current = settings.current_key_id or next(iter(keys))
        if current not in keys:
            raise CryptoError("SHOUHU_CRYPTO_CURRENT_KEY_ID names no configured key")
        return cls(keys=keys, current_key_id=current, index_key=_b64(raw_index), suites=suites,
                   index_suite=settings.index_suite.lower())

    @classmethod
    def development(cls) -> "FieldCipher":
        """Fixed keys for development and tests only."""
        return cls(keys={"dev1": _derive_dev_key("dev1")}, current_key_id="dev1",
                   index_key=_derive_dev_key("index"))

    def uses_development_keys(self) -> bool:
        """True when any key is one of the public development keys (derived from a constant
        in this file): such a cipher protects nothing."""
        dev = {_derive_dev_key(label) for label in ("dev1", "index")}
        return self.index_key in dev or any(key in dev for key in self.keys.values())

    def encrypt(self, plaintext: str, *, context: str) -> str:
        nonce = os.urandom(12)
        sealed = self._aeads[self.current_key_id].encrypt(nonce, plaintext.encode(), context.encode())
        return f"v1.{self.current_key_id}.{base64.urlsafe_b64encode(nonce + sealed).decode()}"

    def decrypt(self, token: str, *, context: str) -> str:
        try:
            version, key_id, body = token.split(".", 2)
            if version != "v1":
                raise CryptoError("unknown ciphertext version")
            raw = base64.urlsafe_b64decode(body)
            return self._aeads[key_id].decrypt(raw[:12], raw[12:], context.encode()).decode()
        except KeyError as exc:
            raise CryptoError("ciphertext made with a key that is not configured") from exc
        except (InvalidTag, ValueError) as exc:
            raise CryptoError("ciphertext does not decrypt in this context") from exc

    def needs_rotation(self, token: str) -> bool:
        return token.split(".", 2)[1] != self.current_key_id

    def blind_index(self, value: str, *, purpose: str) -> str:
        """Equal inputs give equal indexes; nothing about the input can be read back."""
        return index_digest(self.index_suite, self.index_key, f"{purpose}\x1f{value}".encode()).hex()
