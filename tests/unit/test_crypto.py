"""Field encryption and blind indexes."""

from __future__ import annotations

import base64

import pytest

from shared.crypto import CryptoError, CryptoSettings, FieldCipher


def _cipher(*key_ids: str, current: str) -> FieldCipher:
    keys = ",".join(f"{k}:{base64.b64encode(bytes([i + 1]) * 32).decode()}" for i, k in enumerate(key_ids))
    return FieldCipher.from_settings(CryptoSettings(keys=keys, current_key_id=current,
                                                    index_key=base64.b64encode(b"i" * 32).decode()))


def test_round_trip_and_no_clear_text_in_the_ciphertext() -> None:
    cipher = _cipher("k1", current="k1")
    token = cipher.encrypt("11010519491231002X", context="children.national_id:c1")
    assert "11010519491231002X" not in token and token.startswith("v1.k1.")
    assert cipher.decrypt(token, context="children.national_id:c1") == "11010519491231002X"


def test_a_ciphertext_moved_to_another_row_does_not_decrypt() -> None:
    cipher = _cipher("k1", current="k1")
    token = cipher.encrypt("13812345678", context="guardians.phone:g1")
    with pytest.raises(CryptoError):
        cipher.decrypt(token, context="guardians.phone:g2")


def test_rotation_old_ciphertexts_still_decrypt_and_are_flagged() -> None:
    old = _cipher("k1", current="k1").encrypt("secret", context="c")
    rotated = _cipher("k1", "k2", current="k2")
    assert rotated.decrypt(old, context="c") == "secret"
    assert rotated.needs_rotation(old)
    assert not rotated.needs_rotation(rotated.encrypt("secret", context="c"))
    with pytest.raises(CryptoError):
        _cipher("k2", current="k2").decrypt(old, context="c")


def test_blind_index_is_stable_keyed_and_purpose_bound() -> None:
    cipher = _cipher("k1", current="k1")
    first = cipher.blind_index("11010519491231002X", purpose="national_id")
    assert first == cipher.blind_index("11010519491231002X", purpose="national_id")
    assert first != cipher.blind_index("11010519491231002X", purpose="phone")
    other_key = FieldCipher.development()
    assert first != other_key.blind_index("11010519491231002X", purpose="national_id")


def test_production_refuses_to_run_without_keys(monkeypatch) -> None:
    assert FieldCipher.from_settings(CryptoSettings()).uses_development_keys()  # development mode
    monkeypatch.delenv("SHOUHU_ENV")
    with pytest.raises(CryptoError):
        FieldCipher.from_settings(CryptoSettings())
    with pytest.raises(CryptoError):
        FieldCipher.from_settings(CryptoSettings(keys="bad key", index_key=base64.b64encode(b"i" * 32).decode()))
