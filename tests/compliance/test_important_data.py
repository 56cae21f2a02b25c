"""SEC-8: important data is shared, traded or entrusted only with the data authority's
consent on record for the entry, the use and the recipient."""

from __future__ import annotations

import pytest

from gongshu.compliance.errors import AuthorityConsentRequired
from gongshu.egress import service as egress
from gongshu.instruments import service as instruments


@pytest.fixture
def important(session, people):  # noqa: ANN001, ANN201
    from tests.exchange.conftest import publish

    entry = publish(
        session,
        people,
        code="360102-MZ-0801",
        name="救助对象明细",
        attr="conditional",
        provider="clerk_county",
    )
    entry.security_grade = "重要数据"
    session.flush()
    return entry


def _share(session, people, entry, org_id):  # noqa: ANN001, ANN202
    return egress.create_grant(
        session,
        entry,
        recipient_org_id=org_id,
        purpose="核查救助资格",
        source="sharing",
        actor=people.admin,
    )


def test_sharing_important_data_needs_the_authoritys_consent(
    session, people, important, instrument, tmp_path
):  # noqa: ANN001
    police = people.org["police"].id
    with pytest.raises(AuthorityConsentRequired, match="救助对象明细」为重要数据"):
        _share(session, people, important, police)
    # the provider's own say-so is not the authority's consent
    instrument(
        people.clerk_county,
        "holder_authorization",
        entry_id=important.id,
        purpose="sharing",
        recipient_org_id=police,
    )
    with pytest.raises(AuthorityConsentRequired):
        _share(session, people, important, police)
    # a consent for trading, or for another recipient, does not cover sharing with police
    instrument(
        people.reviewer_county,
        "authority_consent_important",
        entry_id=important.id,
        purpose="market",
    )
    instrument(
        people.reviewer_county,
        "authority_consent_important",
        entry_id=important.id,
        purpose="sharing",
        recipient_org_id=people.org["audit"].id,
    )
    with pytest.raises(AuthorityConsentRequired):
        _share(session, people, important, police)
    consent = instrument(
        people.reviewer_city,
        "authority_consent_important",
        entry_id=important.id,
        purpose="sharing",
        recipient_org_id=police,
    )
    grant = _share(session, people, important, police)
    assert grant.recipient_org_id == police
    # revoked afterwards: the grant no longer delivers
    instruments.revoke(session, consent.id, actor=people.reviewer_city, reason="撤回同意")
    from gongshu.egress.gates import DeliveryRequest, check_delivery
    from gongshu.storage import newest

    with pytest.raises(AuthorityConsentRequired):
        check_delivery(
            DeliveryRequest(
                session, grant, important, newest(session, important.id), people.clerk_prov
            )
        )
