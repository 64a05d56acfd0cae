"""Field encryption at rest (AES-256-GCM) and blind indexes (HMAC-SHA256).

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
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.settings import development_mode

_KEY_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
_DEV_SECRET = b"shouhu-development-only-key-material"


class CryptoSettings(BaseSettings):
    """SHOUHU_CRYPTO_KEYS="k2026a:<base64 32 bytes>,k2025b:<…>" (or SHOUHU_CRYPTO_KEYS_FILE),
    SHOUHU_CRYPTO_CURRENT_KEY_ID, SHOUHU_CRYPTO_INDEX_KEY (base64, 32 bytes)."""

    model_config = SettingsConfigDict(env_prefix="SHOUHU_CRYPTO_", extra="ignore")

    keys: SecretStr | None = None
    keys_file: str | None = None
    current_key_id: str | None = None
    index_key: SecretStr | None = None
    index_key_file: str | None = None
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


@dataclass(frozen=True)
class FieldCipher:
    keys: dict[str, bytes]
    current_key_id: str
    index_key: bytes
    # One AESGCM per key, made once: building it costs more than encrypting a short field,
    # which matters when a sheet of 100,000 children is sealed.
    _aeads: dict[str, AESGCM] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_aeads", {key_id: AESGCM(key) for key_id, key in self.keys.items()})

    def __reduce__(self) -> tuple[type, tuple[dict[str, bytes], str, bytes]]:
        # AESGCM objects do not pickle; the import's worker processes rebuild them.
        return (type(self), (self.keys, self.current_key_id, self.index_key))

    @classmethod
    def from_settings(cls, settings: CryptoSettings) -> "FieldCipher":
        raw_keys = _read(settings.keys, settings.keys_file)
        raw_index = _read(settings.index_key, settings.index_key_file)
        if raw_keys is None or raw_index is None:
            if not development_mode():
                raise CryptoError("SHOUHU_CRYPTO_KEYS and SHOUHU_CRYPTO_INDEX_KEY are required")
            return cls.development()
        keys = {}
        for item in raw_keys.split(","):
            key_id, _, encoded = item.strip().partition(":")
            key = _b64(encoded)
            if not _KEY_ID.match(key_id) or len(key) != 32:
                raise CryptoError("each key is '<id>:<base64 of 32 bytes>'")
            keys[key_id] = key
        current = settings.current_key_id or next(iter(keys))
        if current not in keys:
            raise CryptoError("SHOUHU_CRYPTO_CURRENT_KEY_ID names no configured key")
        index_key = _b64(raw_index)
        if len(index_key) != 32:
            raise CryptoError("the index key is 32 bytes, base64")
        return cls(keys=keys, current_key_id=current, index_key=index_key)

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
        return hmac.digest(self.index_key, f"{purpose}\x1f{value}".encode(), "sha256").hex()
