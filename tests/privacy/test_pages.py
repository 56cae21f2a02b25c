"""Pages in Simplified Chinese: the person's consents and requests, the provider's
inbox, the authority's overdue list (PIP-1 to PIP-5, GOV-2)."""

from __future__ import annotations

import datetime as dt
import re

from gongshu.accounts.notify import outbox
from gongshu.privacy import consent, service
from gongshu.timeutil import BEIJING
from tests.privacy.conftest import code_for


def give(session, people, pi, **kw):  # noqa: ANN001, ANN003, ANN201
    args = {
        "org": people.org["civil"],
        "id_number": pi.me,
        "purpose": "办理最低生活保障",
        "method": "收集、存储",
        "data_kinds": ["PERSON_NAME"],
        "on": dt.date(2026, 3, 2),
        "secret": pi.secret,
        "actor": "user:clerk_county",
    }
    return consent.give(session, **{**args, **kw})


def test_person_sees_and_withdraws_their_consents(
    client, login, session, people, citizen, pi
) -> None:
    mine = give(session, people, pi)
    give(session, people, pi, data_kinds=["MEDICAL"], purpose="医疗救助")
    give(session, people, pi, id_number=pi.ids[0], purpose="别人的同意")
    session.flush()
    page = login("citizen").get("/privacy")
    assert page.status_code == 200
    assert (
        "办理最低生活保障" in page.text
        and "单独同意" in page.text
        and "别人的同意" not in page.text
    )
    r = client.post(f"/privacy/consents/{mine.id}/withdraw", follow_redirects=False)
    assert r.status_code == 303
    page = client.get("/privacy")
    assert "已撤回" in page.text


def test_filing_on_the_page_and_the_provider_answering(
    client, login, session, people, citizen, entries, pi
) -> None:
    county, _ = entries
    login("citizen")
    page = client.post("/privacy/requests/code", data={"id_number": pi.me})
    masked = pi.my_mobile[:3] + "****" + pi.my_mobile[-4:]
    assert page.status_code == 200 and f"验证码已发送至 {masked}" in page.text
    assert pi.my_mobile not in page.text
    code = re.search(r"\d{6}", outbox(session, limit=1)[0].text).group(0)
    r = client.post(
        "/privacy/requests",
        data={"kind": "copy", "id_number": pi.me, "code": code},
        follow_redirects=False,
    )
    assert r.status_code == 303
    url = r.headers["location"]
    page = client.get(url)
    assert (
        "低保对象名单" in page.text
        and "户籍人口信息" in page.text
        and "待数据提供单位办理" in page.text
    )
    assert "权利请求已提交，受理编号 GRXX-" in page.text and "下一步：2 个" in page.text
    # The citizen's own pages list it, with its clock (issue 17 item 7).
    mine = client.get("/me", params={"kind": "requests"}).text
    assert "GRXX-" in mine and "复制个人信息" in mine and "办理中" in mine

    login("clerk_county")
    assert "受理编号" not in client.get(url).text  # said to the person only
    inbox = client.get("/privacy/inbox")
    assert (
        "复制" in inbox.text and "低保对象名单" in inbox.text and "户籍人口信息" not in inbox.text
    )
    page = client.get(url)
    match_id = re.search(r"/privacy/matches/(\d+)/handle", page.text).group(1)
    r = client.post(
        f"/privacy/matches/{match_id}/handle", data={"action": "export"}, follow_redirects=False
    )
    assert r.status_code == 303

    login("citizen")
    page = client.get(url)
    assert "已提供副本" in page.text
    grant_id = re.search(r"/grants/(\d+)/download", page.text).group(1)
    csv = client.get(f"/grants/{grant_id}/download")
    assert csv.status_code == 200 and pi.me in csv.text and pi.ids[0] not in csv.text


def test_a_request_in_late_december_warns_that_2027_has_no_schedule(
    client, login, session, citizen, entries, pi
) -> None:
    req = service.file_request(
        session,
        user=citizen,
        code=code_for(session, citizen),
        kind="access",
        id_number=pi.me,
        secret=pi.secret,
        datasets_dir=pi.datasets_dir,
        now=dt.datetime(2026, 12, 28, 10, tzinfo=BEIJING),
    )
    session.flush()
    page = login("citizen").get(f"/privacy/requests/{req.id}")
    assert 'id="deadline-warning"' in page.text and "2027 年节假日安排尚未录入" in page.text
    assert "期限未知" in client.get("/privacy").text


def test_authority_sees_overdue_requests(client, login, session, citizen, entries, pi) -> None:
    req = service.file_request(
        session,
        user=citizen,
        code=code_for(session, citizen),
        kind="access",
        id_number=pi.me,
        secret=pi.secret,
        datasets_dir=pi.datasets_dir,
        now=dt.datetime(2026, 3, 2, 10, tzinfo=BEIJING),
    )
    session.flush()
    page = login("reviewer_prov").get("/privacy/supervision")
    assert page.status_code == 200
    assert re.search(r'id="overdue-count">1<', page.text) and f"#{req.id}" in page.text
    assert login("citizen").get("/privacy/supervision", follow_redirects=False).status_code == 403


def test_home_counts_what_the_provider_has_to_handle(
    client, login, session, citizen, entries, pi
) -> None:
    service.file_request(
        session,
        user=citizen,
        code=code_for(session, citizen),
        kind="access",
        id_number=pi.me,
        secret=pi.secret,
        datasets_dir=pi.datasets_dir,
    )
    session.flush()
    home = login("clerk_county").get("/")
    assert re.search(r'id="privacy-to-handle">1<', home.text)
    assert 'id="privacy-overdue">0<' in login("reviewer_prov").get("/").text
    assert "privacy-to-handle" not in login("auditor").get("/").text


def test_a_refused_handling_or_authorization_comes_back_beside_the_field(
    client, login, session, people, citizen, entries, pi
) -> None:
    """Issue 17 item 6: the request page again with status 400, the message beside the
    field of that record's card, what was typed kept, nothing written."""
    from sqlalchemy import func, select

    from gongshu.accounts import service as accounts
    from gongshu.egress.models import Grant
    from gongshu.ledger.models import LedgerEntry

    accounts.add_organization(
        session, "赣江信用科技有限公司", kind="enterprise", region_code="360000"
    )
    req = service.file_request(
        session,
        user=citizen,
        code=code_for(session, citizen),
        kind="copy",
        id_number=pi.me,
        secret=pi.secret,
        datasets_dir=pi.datasets_dir,
    )
    session.commit()
    login("clerk_county")
    page = client.get(f"/privacy/requests/{req.id}")
    match_id = re.search(r"/privacy/matches/(\d+)/handle", page.text).group(1)
    before = session.scalar(select(func.count()).select_from(LedgerEntry))
    r = client.post(
        f"/privacy/matches/{match_id}/handle",
        data={"action": "refuse", "note": " ", "mobile_confirmed": "1"},
    )
    key = f"m{match_id}"
    assert (
        r.status_code == 400
        and f'id="note-{key}-error">不予办理或解释说明须写明理由和依据' in r.text
    )
    assert f'href="#note-{key}"' in r.text and "找到的记录" in r.text
    assert f'id="mobile_confirmed-{key}" name="mobile_confirmed" value="1" checked' in r.text
    assert session.scalar(select(func.count()).select_from(LedgerEntry)) == before
    client.post(f"/privacy/matches/{match_id}/handle", data={"action": "export"})
    login("citizen")
    page = client.get(f"/privacy/requests/{req.id}").text
    grant_id = re.search(r"/privacy/grants/(\d+)/authorize", page).group(1)
    grants = session.scalar(select(func.count()).select_from(Grant))
    before = session.scalar(select(func.count()).select_from(LedgerEntry))
    org_id = re.search(r'<option value="(\d+)"', page.split("/authorize")[1]).group(1)
    r = client.post(
        f"/privacy/grants/{grant_id}/authorize",
        data={"org_id": org_id, "purpose": "", "back": f"/privacy/requests/{req.id}"},
    )
    key = f"g{grant_id}"
    assert r.status_code == 400 and f'id="purpose-{key}-error">须写明授权使用的目的' in r.text
    assert f'<option value="{org_id}" selected>' in r.text
    assert session.scalar(select(func.count()).select_from(Grant)) == grants
    assert session.scalar(select(func.count()).select_from(LedgerEntry)) == before
