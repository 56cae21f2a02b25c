"""The instruments page: the entitled party issues and revokes; errors beside the field."""

from __future__ import annotations

from sqlalchemy import select

from gongshu.instruments.models import Instrument

PDF = b"%PDF-1.4\n% signed\n%%EOF\n"


def _form(entry_id, **kw):  # noqa: ANN001, ANN003, ANN202
    return {
        "kind": "holder_authorization",
        "title": "权利人授权书",
        "entry_id": str(entry_id),
        "purpose": "market",
        "recipient_org_id": "",
        "valid_from": "2026-11-01",
        "valid_until": "2030-12-31",
        **kw,
    }


def test_issue_and_revoke_on_the_page(session, people, entry, login):  # noqa: ANN001
    client = login("clerk_county")
    page = client.get("/instruments")
    assert page.status_code == 200 and "出具记录" in page.text
    r = client.post(
        "/instruments",
        data=_form(entry.id),
        files={"document": ("授权书.pdf", PDF, "application/pdf")},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    item = session.scalar(select(Instrument).where(Instrument.entry_id == entry.id))
    assert item.issued_by == people.clerk_county.actor and item.purpose == "market"
    r = client.post(f"/instruments/{item.id}/revoke", data={"reason": "撤回"})
    assert r.status_code == 200 or r.status_code == 303
    session.refresh(item)
    assert item.revoked_at is not None


def test_wrong_party_and_bad_fields_are_shown_on_the_page(session, people, entry, login):  # noqa: ANN001
    client = login("clerk_prov")
    r = client.post(
        "/instruments",
        data=_form(entry.id),
        files={"document": ("授权书.pdf", PDF, "application/pdf")},
    )
    assert r.status_code == 403 and "只能由目录「户籍登记」的提供单位" in r.text
    assert 'id="error-summary"' in r.text and 'value="权利人授权书"' in r.text
    r = client.post(
        "/instruments",
        data=_form(entry.id, valid_until="明年"),
        files={"document": ("授权书.pdf", PDF, "application/pdf")},
    )
    assert r.status_code == 400 and 'id="valid_until-error">请按“年-月-日”填写有效期至' in r.text
    assert 'href="#valid_until"' in r.text and 'value="明年"' in r.text
    r = client.post(
        "/instruments",
        data=_form(entry.id),
        files={"document": ("授权书.txt", b"typed consent", "text/plain")},
    )
    assert r.status_code == 400 and 'id="document-error">文书须为 PDF 文件</span>' in r.text
    assert session.scalar(select(Instrument)) is None


def test_a_citizen_may_not_issue(session, people, entry, login):  # noqa: ANN001
    client = login("citizen")
    r = client.post(
        "/instruments",
        data=_form(entry.id),
        files={"document": ("a.pdf", PDF, "application/pdf")},
        follow_redirects=False,
    )
    assert r.status_code in (302, 303, 403)
    assert session.scalar(select(Instrument)) is None


def test_a_revocation_or_a_vendor_without_its_name_comes_back_beside_the_field(
    session, people, entry, login
) -> None:  # noqa: ANN001
    """Issue 17 item 6: status 400, the message beside its field (that record's card
    for a revocation), what was typed kept, nothing written."""
    from sqlalchemy import func

    from gongshu.instruments.models import Vendor
    from gongshu.ledger.models import LedgerEntry

    client = login("clerk_county")
    client.post(
        "/instruments",
        data=_form(entry.id),
        files={"document": ("授权书.pdf", PDF, "application/pdf")},
    )
    item = session.scalar(select(Instrument).where(Instrument.entry_id == entry.id))
    before = session.scalar(select(func.count()).select_from(LedgerEntry))
    r = client.post(f"/instruments/{item.id}/revoke", data={"reason": " "})
    assert r.status_code == 400 and f'id="reason-i{item.id}-error">请填写撤销理由' in r.text
    assert f'href="#reason-i{item.id}"' in r.text
    session.refresh(item)
    assert item.revoked_at is None
    r = client.post("/instruments/vendors", data={"name": "", "credit_code": "91360100MA35XXXX0A"})
    assert r.status_code == 400 and 'id="name-error">请填写外包服务商名称' in r.text
    assert 'value="91360100MA35XXXX0A"' in r.text
    assert session.scalar(select(func.count()).select_from(Vendor)) == 0
    assert session.scalar(select(func.count()).select_from(LedgerEntry)) == before


def test_the_data_authority_reviews_an_operator_on_the_page(session, people, op, login):  # noqa: ANN001
    """SEC-13: the review of an operator is issued on the same page by the authority of
    its region or above; a lower tier is refused there, beside nothing, nothing written."""
    form = _form(
        "",
        kind="party_review",
        title="运营机构安全审查意见书",
        purpose="",
        recipient_org_id=str(op.org_id),
    )
    count = len(session.scalars(select(Instrument)).all())
    client = login("reviewer_city")
    r = client.post(
        "/instruments", data=form, files={"document": ("审查.pdf", PDF, "application/pdf")}
    )
    assert r.status_code == 403 and "无权审查江西省（省级）的受托单位" in r.text
    assert len(session.scalars(select(Instrument)).all()) == count
    client = login("reviewer_prov")
    r = client.post(
        "/instruments",
        data=form,
        files={"document": ("审查.pdf", PDF, "application/pdf")},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    item = session.scalar(select(Instrument).where(Instrument.title == "运营机构安全审查意见书"))
    assert (item.recipient_org_id, item.purpose) == (op.org_id, "outsourcing")
