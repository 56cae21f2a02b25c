"""Naming a person without keeping their ID number: the keyed SM3 hash.

The key is the one account registration uses (``gongshu/accounts/id-number``),
so a verified account's ``id_number_hash`` equals the ``person_hash`` of the
consent records and rights requests about that person.
"""

from __future__ import annotations

from datetime import date

from gongshu.errors import InvalidInput
from gongshu.identifiers import id_birth_date, is_resident_id, normalize_id
from gongshu.protect.crypto import derive_key, hmac_sm3

HASH_LABEL = "gongshu/accounts/id-number"


def valid_id(id_number: str, *, field: str = "居民身份证号码") -> str:
    number = normalize_id(id_number or "")
    if len(number) != 18 or not is_resident_id(number):
        raise InvalidInput(f"{field}无效，请核对")
    return number


def person_hash(id_number: str, secret: str) -> str:
    return hmac_sm3(derive_key(secret.encode(), HASH_LABEL), valid_id(id_number).encode()).hex()


def age_on(id_number: str, on: date) -> int:
    born = id_birth_date(valid_id(id_number))
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))
