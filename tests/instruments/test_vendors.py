"""SEC-13: an operator with an outsourced vendor gets no grant without the vendor's
security review and confidentiality agreement on record."""

from __future__ import annotations

from datetime import timedelta

import pytest

from gongshu.catalog import service as catalog
from gongshu.egress import service as egress
from gongshu.instruments import vendors
from gongshu.instruments.errors import InstrumentRequired
from gongshu.timeutil import utcnow


def _grant(session, people, entry, op):  # noqa: ANN001, ANN202
    return egress.create_grant(
        session,
        entry,
        recipient_org_id=op.org_id,
        purpose="授权运营",
        source="operation",
        actor=people.reviewer_prov,
    )


def test_vendor_without_review_and_agreement_blocks_grants(session, people, entry, op, instrument):  # noqa: ANN001
    catalog.submit(session, entry.id, actor=people.clerk_county)
    catalog.approve(session, entry.id, actor=people.reviewer_county)
    vendor = vendors.declare(session, actor=op, name="赣云数据服务有限公司", service_text="运维")
    with pytest.raises(InstrumentRequired, match="赣云数据服务有限公司.*外包服务商安全审查"):
        _grant(session, people, entry, op)
    review = instrument(op, "vendor_review", vendor_id=vendor.id, purpose="")
    assert review.recipient_org_id == op.org_id and review.purpose == "outsourcing"
    with pytest.raises(InstrumentRequired, match="外包服务商保密协议"):
        _grant(session, people, entry, op)
    # an expired agreement does not count
    instrument(
        op,
        "confidentiality_agreement",
        vendor_id=vendor.id,
        purpose="",
        start=utcnow() - timedelta(days=60),
        days=30,
    )
    with pytest.raises(InstrumentRequired, match="外包服务商保密协议"):
        _grant(session, people, entry, op)
    instrument(op, "confidentiality_agreement", vendor_id=vendor.id, purpose="")
    assert _grant(session, people, entry, op).recipient_org_id == op.org_id


def test_only_the_declaring_organization_records_its_vendor_review(session, people, op, instrument):  # noqa: ANN001
    from gongshu.instruments.errors import NotEntitled

    vendor = vendors.declare(session, actor=op, name="赣云数据服务有限公司")
    with pytest.raises(NotEntitled, match="登记该外包服务商的本单位"):
        instrument(people.clerk_county, "vendor_review", vendor_id=vendor.id, purpose="")


def test_an_ended_vendor_no_longer_blocks(session, people, entry, op):  # noqa: ANN001
    catalog.submit(session, entry.id, actor=people.clerk_county)
    catalog.approve(session, entry.id, actor=people.reviewer_county)
    vendor = vendors.declare(session, actor=op, name="赣云数据服务有限公司")
    with pytest.raises(InstrumentRequired):
        _grant(session, people, entry, op)
    vendors.end(session, vendor.id, actor=op)
    assert _grant(session, people, entry, op)
