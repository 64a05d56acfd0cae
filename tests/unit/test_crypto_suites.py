"""The field-encryption suites (AES-256-GCM, SM4-GCM) and blind-index suites (HMAC-SHA256, HMAC-SM3)."""

from __future__ import annotations

import base64
import pickle
import re

import pytest

from shared.crypto import CryptoError, CryptoSettings, FieldCipher
from shared.crypto_suites import SM4_GCM, Sm4Gcm

AES_KEY, SM4_KEY, OTHER_SM4_KEY, INDEX_KEY = b"\x01" * 32, b"\x02" * 16, b"\x03" * 16, b"i" * 32


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def configured(keys: str, current: str | None = None, **settings: str) -> FieldCipher:
    return FieldCipher.from_settings(CryptoSettings(keys=keys, current_key_id=current, index_key=b64(INDEX_KEY),
                                                    **settings))


MIXED = f"k2026a:{b64(AES_KEY)},g2027:sm4:{b64(SM4_KEY)}"


def test_sm4_gcm_matches_the_published_test_vector() -> None:
    # RFC 8998, appendix A.1 (SM4-GCM): the suite is SM4 itself, not something that merely round-trips.
    key = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")
    nonce = bytes.fromhex("00001234567800000000ABCD")
    aad = bytes.fromhex("FEEDFACEDEADBEEFFEEDFACEDEADBEEFABADDAD2")
    clear = bytes.fromhex("AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBBCCCCCCCCCCCCCCCCDDDDDDDDDDDDDDDD"
                          "EEEEEEEEEEEEEEEEFFFFFFFFFFFFFFFFEEEEEEEEEEEEEEEEAAAAAAAAAAAAAAAA")
    expected = bytes.fromhex("17F399F08C67D5EE19D0DC9969C4BB7D5FD46FD3756489069157B282BB200735"
                             "D82710CA5C22F0CCFA7CBF93D496AC15A56834CBCF98C397B4024A2691233B8D"
                             "83DE3541E4C2B58177E065A9BF7B62EC")
    assert Sm4Gcm(key).encrypt(nonce, clear, aad) == expected
    assert Sm4Gcm(key).decrypt(nonce, expected, aad) == clear


def test_an_sm4_key_round_trips_and_names_itself_in_the_ciphertext() -> None:
    cipher = configured(MIXED, current="g2027")
    assert cipher.suite_of("g2027") == SM4_GCM
    token = cipher.encrypt("11010519491231002X", context="children.national_id:c1")
    assert token.startswith("v1.g2027.") and "11010519491231002X" not in token
    assert cipher.decrypt(token, context="children.national_id:c1") == "11010519491231002X"
    # Through pickling too: the import's worker processes receive the cipher that way.
    assert pickle.loads(pickle.dumps(cipher)).decrypt(token, context="children.national_id:c1") == "11010519491231002X"


def test_an_sm4_ciphertext_does_not_open_in_another_context_or_with_another_key() -> None:
    cipher = configured(MIXED, current="g2027")
    token = cipher.encrypt("13812345678", context="guardians.phone:g1")
    with pytest.raises(CryptoError, match="does not decrypt in this context"):
        cipher.decrypt(token, context="guardians.phone:g2")
    other = configured(f"g2027:sm4:{b64(OTHER_SM4_KEY)}")
    with pytest.raises(CryptoError, match="does not decrypt"):
        other.decrypt(token, context="guardians.phone:g1")
    tampered = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    with pytest.raises(CryptoError):
        cipher.decrypt(tampered, context="guardians.phone:g1")


def test_mixed_suites_old_aes_values_open_while_sm4_is_current() -> None:
    before = configured(f"k2026a:{b64(AES_KEY)}")
    old = before.encrypt("某县某镇某村1号", context="children.address:c1")
    moved = configured(MIXED, current="g2027")
    assert moved.decrypt(old, context="children.address:c1") == "某县某镇某村1号"
    assert moved.needs_rotation(old)
    new = moved.encrypt("某县某镇某村1号", context="children.address:c1")
    assert not moved.needs_rotation(new)
    # The AES key alone cannot open what the SM4 key sealed: the key id decides, not a guess.
    with pytest.raises(CryptoError, match="not configured"):
        before.decrypt(new, context="children.address:c1")
    # The same id with the suite spelled out ("aes256") is the same key.
    spelled = configured(f"k2026a:aes256:{b64(AES_KEY)}")
    assert spelled.decrypt(old, context="children.address:c1") == "某县某镇某村1号"


@pytest.mark.parametrize(("entry", "message"), [
    (f"g2027:sm4:{b64(AES_KEY)}", "key 'g2027' (sm4gcm) must be 16 bytes, not 32"),
    (f"k1:{b64(SM4_KEY)}", "key 'k1' (aes256gcm) must be 32 bytes, not 16"),
    (f"k1:aes256:{b64(SM4_KEY)}", "key 'k1' (aes256gcm) must be 32 bytes, not 16"),
    (f"k1:des:{b64(SM4_KEY)}", "key 'k1': unknown suite 'des'"),
    ("k1:sm4:not base64!", "not valid base64"),
    (f"k1:{b64(AES_KEY)},k1:sm4:{b64(SM4_KEY)}", "key 'k1' is configured twice"),
])
def test_a_wrong_key_is_refused_with_a_clear_error_that_shows_no_key_material(entry: str, message: str) -> None:
    with pytest.raises(CryptoError, match=re.escape(message)) as refused:
        configured(entry)
    assert b64(AES_KEY) not in str(refused.value) and b64(SM4_KEY) not in str(refused.value)


def test_the_blind_index_suite_is_a_setting() -> None:
    sha = configured(MIXED)
    sm3 = configured(MIXED, index_suite="hmac-sm3")
    national_id = "11010519491231002X"
    assert sm3.blind_index(national_id, purpose="national_id") == sm3.blind_index(national_id, purpose="national_id")
    assert sm3.blind_index(national_id, purpose="national_id") != sha.blind_index(national_id, purpose="national_id")
    assert len(sm3.blind_index(national_id, purpose="national_id")) == 64  # 32 bytes, like HMAC-SHA256
    # The default is unchanged by the suites: existing indexes stay valid without a setting.
    assert sha.blind_index(national_id, purpose="national_id") == FieldCipher(
        keys={"k": AES_KEY}, current_key_id="k", index_key=INDEX_KEY).blind_index(national_id, purpose="national_id")
    with pytest.raises(CryptoError, match="index suite is one of hmac-sha256, hmac-sm3"):
        configured(MIXED, index_suite="hmac-md5")


def test_the_keys_and_index_key_can_come_from_files(tmp_path) -> None:
    keys_file, index_file = tmp_path / "keys", tmp_path / "index"
    keys_file.write_text(MIXED + "\n")
    index_file.write_text(b64(INDEX_KEY) + "\n")
    cipher = FieldCipher.from_settings(CryptoSettings(keys_file=str(keys_file), index_key_file=str(index_file),
                                                      current_key_id="g2027", index_suite="HMAC-SM3"))
    assert cipher.current_key_id == "g2027" and cipher.index_suite == "hmac-sm3"
    assert cipher.decrypt(cipher.encrypt("x", context="c"), context="c") == "x"
