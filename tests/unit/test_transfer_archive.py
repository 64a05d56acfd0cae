"""The county archive's files (shared/transfer.py): sealed line by line under the transfer
key, bound to their place; a changed, moved or missing line, or another key, is refused."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from shared.transfer import TransferError, manifest_mac, new_transfer_key, read_lines, transfer_cipher
from shared.transfer_export import _Writer

ROWS = [["0b6f8a3e-0000-4000-8000-000000000001", "王小明", "110105201603090010"],
        ["0b6f8a3e-0000-4000-8000-000000000002", "李小红", None]]


def write(tmp_path: Path, key: Path, archive_id: str = "a1") -> dict:
    writer = _Writer(tmp_path, archive_id, "registry/children.jsonl", transfer_cipher(key))
    for row in ROWS:
        writer.write(row)
    return writer.close()


def test_lines_are_sealed_and_read_back_in_order(tmp_path: Path) -> None:
    key = tmp_path / "t.key"
    new_transfer_key(key)
    assert key.stat().st_mode & 0o777 == 0o600
    described = write(tmp_path, key)
    text = (tmp_path / "registry/children.jsonl").read_text()
    assert "王小明" not in text and "110105" not in text and described["rows"] == 2
    assert list(read_lines(tmp_path, "a1", "registry/children.jsonl", described, transfer_cipher(key))) == ROWS


def test_a_changed_file_another_key_or_another_archive_is_refused(tmp_path: Path) -> None:
    key, other = tmp_path / "t.key", tmp_path / "o.key"
    new_transfer_key(key)
    new_transfer_key(other)
    described = write(tmp_path, key)
    with pytest.raises(TransferError, match="transfer key"):
        list(read_lines(tmp_path, "a1", "registry/children.jsonl", described, transfer_cipher(other)))
    with pytest.raises(TransferError, match="transfer key"):  # lines bound to their archive
        list(read_lines(tmp_path, "a2", "registry/children.jsonl", described, transfer_cipher(key)))
    path = tmp_path / "registry/children.jsonl"
    lines = path.read_text().splitlines(keepends=True)
    path.write_text(lines[1] + lines[0])  # swapped
    with pytest.raises(TransferError, match="checksum"):
        list(read_lines(tmp_path, "a1", "registry/children.jsonl", described, transfer_cipher(key)))
    with pytest.raises(TransferError, match="transfer key"):  # even with a matching checksum
        swapped = {**described, "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}
        list(read_lines(tmp_path, "a1", "registry/children.jsonl", swapped, transfer_cipher(key)))
    path.write_text(lines[0])  # truncated
    truncated = {**described, "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}
    with pytest.raises(TransferError, match="1 rows, the manifest says 2"):
        list(read_lines(tmp_path, "a1", "registry/children.jsonl", truncated, transfer_cipher(key)))


def test_the_manifest_mac_depends_on_the_key_and_the_content(tmp_path: Path) -> None:
    key, other = tmp_path / "t.key", tmp_path / "o.key"
    new_transfer_key(key)
    new_transfer_key(other)
    manifest = {"archive_id": "a1", "services": {"registry": {"tables": {"children": {"rows": 2}}}}}
    mac = manifest_mac(transfer_cipher(key), manifest)
    assert mac == manifest_mac(transfer_cipher(key), {**manifest, "mac": mac})
    assert mac != manifest_mac(transfer_cipher(other), manifest)
    assert mac != manifest_mac(transfer_cipher(key), {**manifest, "archive_id": "a2"})
