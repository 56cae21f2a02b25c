"""Pseudonyms, SM4 field encryption with rotation, and value-valid FPE."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from gongshu.identifiers import is_resident_id
from gongshu.protect import keyed
from gongshu.protect.crypto import luhn_digit
from gongshu.protect.errors import DecryptionFailed, InvalidParameter
from gongshu.protect.keystore import FileKeyStore
from gongshu.protect.operators import apply

MASTER = b"instance-master-key-for-tests-0123"


@pytest.fixture
def store(tmp_path: Path) -> FileKeyStore:
    return FileKeyStore(tmp_path / "keystore.json", "test-secret-7d1e")


def test_pseudonyms_join_across_tables_but_not_across_purposes() -> None:
    people = pa.array(["11010519491231002X", "360102198001010013", None])
    visits = pa.chunked_array([pa.array(["360102198001010013 ", "11010519491231002X"])])
    a = keyed.pseudonymize(people, MASTER, "health-stats").to_pylist()
    b = keyed.pseudonymize(visits, MASTER, "health-stats").to_pylist()
    assert a[0] == b[1] and a[1] == b[0] and a[2] is None
    assert len(a[0]) == 16 and int(a[0], 16) >= 0
    other = keyed.pseudonymize(people, MASTER, "education").to_pylist()
    assert other[0] != a[0]
    assert keyed.pseudonymize(people, b"x" * 32, "health-stats").to_pylist()[0] != a[0]
    assert len(keyed.pseudonymize(people, MASTER, "health-stats", length=32)[0].as_py()) == 32


def test_pseudonymize_validates() -> None:
    with pytest.raises(InvalidParameter, match="pseudonymize 的参数 key"):
        keyed.pseudonymize(pa.array(["a"]), b"short", "p")
    with pytest.raises(InvalidParameter, match="length"):
        keyed.pseudonymize(pa.array(["a"]), MASTER, "p", length=4)
    with pytest.raises(InvalidParameter, match="pseudonymize 的参数 purpose"):
        apply("pseudonymize", pa.array(["a"]), key=MASTER)


def test_encrypt_decrypt_round_trip(store: FileKeyStore) -> None:
    values = pa.array(["张三", None, "张三", "13812345678"])
    enc = keyed.encrypt_field(values, store).to_pylist()
    assert enc[1] is None
    assert enc[0] != enc[2]  # random nonces hide equality
    assert all(v.startswith("sm4g1$k") for v in enc if v)
    assert "张三" not in "".join(v for v in enc if v)
    assert keyed.decrypt_field(pa.array(enc), store).to_pylist() == values.to_pylist()


def test_rotation_without_downtime(store: FileKeyStore) -> None:
    old = keyed.encrypt_field(pa.array(["甲", "乙"]), store)
    old_id = keyed.token_key_id(old[0].as_py())
    new_id = store.rotate("field")
    new = keyed.encrypt_field(pa.array(["丙"]), store)
    assert keyed.token_key_id(new[0].as_py()) == new_id
    mixed = pa.concat_arrays([old, new])
    assert keyed.decrypt_field(mixed, store).to_pylist() == ["甲", "乙", "丙"]
    moved = keyed.reencrypt(mixed, store)
    assert {keyed.token_key_id(v) for v in moved.to_pylist()} == {new_id}
    assert moved[2].as_py() == new[0].as_py()  # already current: untouched
    assert keyed.decrypt_field(moved, store).to_pylist() == ["甲", "乙", "丙"]
    assert old_id in store.key_ids("field")


def test_decrypt_rejects_foreign_or_tampered_values(store: FileKeyStore) -> None:
    with pytest.raises(DecryptionFailed, match="不是本平台的字段密文"):
        keyed.decrypt_field(pa.array(["plain text"]), store)
    token = keyed.encrypt_field(pa.array(["甲"]), store)[0].as_py()
    body = token.split("$")[2]
    swapped = token[: -len(body)] + ("A" if body[0] != "A" else "B") + body[1:]
    with pytest.raises(DecryptionFailed):
        keyed.decrypt_field(pa.array([swapped]), store)


def test_fpe_resident_ids_stay_valid() -> None:
    ids = pa.array(["11010519491231002X", "360102198001010013", "bad", None])
    assert all(is_resident_id(v) for v in ids.to_pylist()[:2])
    enc = keyed.fpe_encrypt_digits(ids, MASTER, purpose="research", entity="CN_RESIDENT_ID")
    out = enc.to_pylist()
    assert out[2] is None and out[3] is None  # fail closed
    for plain, cipher in zip(ids.to_pylist()[:2], out[:2], strict=True):
        assert cipher != plain and len(cipher) == 18
        assert cipher[:6] == plain[:6]
        assert is_resident_id(cipher)
    back = keyed.fpe_decrypt_digits(enc, MASTER, purpose="research", entity="CN_RESIDENT_ID")
    assert back.to_pylist()[:2] == ids.to_pylist()[:2]


def test_fpe_mobile_and_bank_card() -> None:
    phones = pa.array(["13812345678", "138 1234 5678"])
    enc = keyed.fpe_encrypt_digits(phones, MASTER, entity="CN_MOBILE").to_pylist()
    assert enc[0] == enc[1] and enc[0].startswith("138") and len(enc[0]) == 11
    assert (
        keyed.fpe_decrypt_digits(pa.array(enc), MASTER, entity="CN_MOBILE").to_pylist()
        == ["13812345678"] * 2
    )
    card = "622202123456789012"
    card += luhn_digit(card)
    enc_card = keyed.fpe_encrypt_digits(pa.array([card]), MASTER, entity="BANK_CARD")[0].as_py()
    assert enc_card[:6] == "622202" and enc_card != card
    assert luhn_digit(enc_card[:-1]) == enc_card[-1]
    back = keyed.fpe_decrypt_digits(pa.array([enc_card]), MASTER, entity="BANK_CARD")
    assert back.to_pylist() == [card]
    assert keyed.fpe_encrypt_digits(pa.array(["12ab5678"]), MASTER).to_pylist() == [None]
