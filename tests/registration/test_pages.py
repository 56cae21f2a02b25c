"""Registration pages: the public registry without login, the form, the review queue."""

from __future__ import annotations

from sqlalchemy import select

from gongshu.registration.models import Registration


def test_the_registry_page_needs_no_login(client, approved_product) -> None:
    client.cookies.clear()
    r = client.get(f"/registry?code={approved_product.code.lower()}", follow_redirects=True)
    assert r.status_code == 200
    assert approved_product.code in r.text and "东湖区低保保障统计数据产品" in r.text
    assert "数据产品经营权" in r.text and "江西省数据局" in r.text
    bad = approved_product.code[:-1] + ("A" if approved_product.code[-1] != "A" else "B")
    r = client.get(f"/registry?code={bad}")
    assert r.status_code == 200 and "校验位不正确" in r.text
    recent = client.get("/registry").text
    assert 'id="recent"' in recent and approved_product.code in recent


def test_register_through_the_form_and_approve_in_the_queue(client, login, session, market) -> None:
    login("operator")
    r = client.post(
        "/registrations",
        data={
            "kind": "product",
            "name": "低保统计月报",
            "description": "按街道汇总",
            "processing_summary": "平台内聚合",
            "source_codes": f"{market.raw.resource_code}，{market.stats.resource_code}",
            "data_entry_code": market.product.resource_code,
            "rights": ["processing", "operation"],
            "price_mode": "guided",
            "fee_item": "STAT-01",
        },
        follow_redirects=True,
    )
    assert r.status_code == 200 and "等待数据管理部门审核" in r.text
    reg = session.scalar(select(Registration).where(Registration.name == "低保统计月报"))
    assert reg.source_entry_ids == [market.raw.id, market.stats.id]
    login("reviewer_prov")
    queue = client.get("/registration-review")
    assert "低保统计月报" in queue.text
    # The reviewer sees how the registrant stands to each source (REG-2).
    detail = client.get(f"/registration-review/{reg.id}").text
    assert detail.count("已授权本单位运营") == 2
    r = client.post(
        f"/registration-review/{reg.id}/approve", data={"comment": "同意"}, follow_redirects=False
    )
    assert r.status_code == 303
    session.refresh(reg)
    assert reg.code
    page = client.get("/registration-review").text
    assert "授权运营的公共数据及其衍生产品均已登记" in page
    login("operator")
    detail = client.get(f"/registrations/{reg.id}").text
    assert reg.code in detail and "审核通过" in detail


def test_an_unknown_resource_code_names_itself(client, login, market) -> None:
    login("operator")
    r = client.post(
        "/registrations",
        data={"kind": "product", "name": "x", "description": "y", "source_codes": "NO-SUCH-CODE"},
    )
    assert r.status_code == 400 and "NO-SUCH-CODE" in r.text


def test_a_pending_change_leaves_the_approved_version_public(
    client, session, market, approved_product
) -> None:
    from gongshu.registration import service as registration

    registration.update(
        session, approved_product.id, {"description": "改为按日更新"}, actor=market.operator
    )
    session.flush()
    client.cookies.clear()
    page = client.get(f"/registry/{approved_product.code}").text
    assert "变更尚未审核通过" in page and "第 2 版" in page
    assert "改为按日更新" not in page
