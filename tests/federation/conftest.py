"""Shared fixtures of the federation tests."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from gongshu.federation import identity
from gongshu.federation.models import Member
from gongshu.protect import sm2

CITY = "city-360100"


@pytest.fixture
def nodes(session, settings, people):  # noqa: ANN001, ANN201
    province = identity.init_node(
        session, settings, role="province", region_code="360000", address="http://prov.test"
    )
    city_key = sm2.generate_private_key()
    session.add(
        Member(
            node_id=CITY,
            role="city",
            region_code="360100",
            address="http://city.test",
            public_key=sm2.public_key(city_key).hex(),
        )
    )
    session.flush()
    return SimpleNamespace(
        province=province, province_key=identity.private_key(settings), city_key=city_key
    )
