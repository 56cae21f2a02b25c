"""The portal in the browser's terms: browse without login, a masked preview,
declare a use and download, apply, answer, sign (OPN-1..4)."""

from __future__ import annotations

from gongshu.ledger import entries


def test_anonymous_browse_search_and_facets_without_data(client, open_data) -> None:
    r = client.get("/open")
    assert r.status_code == 200
    assert open_data.free.name in r.text and open_data.cond.name in r.text
    assert open_data.closed.name not in r.text
    r = client.get("/open", params={"theme": "城建"})
    assert open_data.cond.name in r.text and open_data.free.name not in r.text
    assert '<strong id="total">1</strong>' in r.text
    page = client.get(f"/open/{open_data.free.id}")
    assert page.status_code == 200 and "站点数" in page.text and "共 30 行" in page.text
    assert "003路" in page.text and "011路" not in page.text  # the first ten rows, masked
    assert "datastore_search?resource_id=gs-resource-" in page.text
    # field types in Chinese, never the engine's words
    assert ">整数</td>" in page.text and ">integer</td>" not in page.text
    assert client.get(f"/open/{open_data.closed.id}").status_code == 404


def test_declare_then_download_csv_through_the_door(client, login, open_data, session) -> None:
    login("citizen")
    r = client.post(
        f"/open/{open_data.free.id}/declare",
        data={"use": "研究", "scenario": "公交"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    page = client.get(f"/open/{open_data.free.id}").text
    assert "下载 CSV" in page
    grant_id = page.split("/grants/")[1].split("/")[0]
    csv = client.get(f"/grants/{grant_id}/download?format=csv")
    assert csv.status_code == 200 and "001路" in csv.content.decode("utf-8-sig")
    assert entries(session, action_prefix="egress.delivered", limit=5)[0].actor == "user:citizen"


def test_apply_answer_sign_download(client, login, open_data, session) -> None:
    login("acme")
    r = client.post(
        f"/open/{open_data.cond.id}/apply",
        data={
            "use": "客流分析",
            "scenario": "线路规划",
            "security_measures": "专网",
            "term_days": "90",
            "fields": ["线路", "区"],
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    login("clerk_county")
    inbox = client.get("/open/inbox").text
    assert "客流分析" in inbox
    app_id = inbox.split("/open/applications/")[1].split("/")[0]
    r = client.post(
        f"/open/applications/{app_id}/answer", data={"decision": "approve"}, follow_redirects=False
    )
    assert r.status_code == 303
    login("acme")
    page = client.get(f"/open/{open_data.cond.id}").text
    agreement_id = page.split("/open/agreements/")[1].split('"')[0]
    text = client.get(f"/open/agreements/{agreement_id}").text
    assert "专网" in text and "SM3" in text and "签署协议" in text
    # Signing needs the explicit consent box.
    assert client.post(f"/open/agreements/{agreement_id}/sign").status_code == 400
    r = client.post(
        f"/open/agreements/{agreement_id}/sign", data={"confirm": "yes"}, follow_redirects=False
    )
    assert r.status_code == 303
    signed = client.get(f"/open/agreements/{agreement_id}").text
    assert 'id="signed"' in signed
    grant_id = signed.split("/grants/")[1].split("/")[0]
    csv = client.get(f"/grants/{grant_id}/download?format=csv").content.decode("utf-8-sig")
    assert csv.splitlines()[0].replace('"', "") == "线路,区"
    assert entries(session, action_prefix="open.agreement_signed", limit=1)[0].actor == "user:acme"


def test_other_users_cannot_open_an_agreement(client, login, open_data, session, people) -> None:
    from gongshu.opendata import agreements, service

    app = service.apply(
        session,
        open_data.cond.id,
        actor=open_data.enterprise,
        use="u",
        scenario="s",
        security_measures="m",
    )
    service.answer(session, app.id, actor=people.clerk_county, approve=True)
    session.flush()
    agreement = agreements.agreement_for(session, app.id)
    login("citizen")
    r = client.get(f"/open/agreements/{agreement.id}")
    assert r.status_code == 403 and "只能查看本人的开放利用协议" in r.text


def test_the_portal_home_for_visitors_and_citizens(client, login, open_data) -> None:
    # Issue 17 item 3: anyone opens / and finds the open data, never the closed entry.
    home = client.get("/", follow_redirects=False)
    assert home.status_code == 200
    assert 'id="stat-open">2<' in home.text and 'id="stat-downloads">0<' in home.text
    assert open_data.free.name in home.text and open_data.cond.name in home.text
    assert open_data.closed.name not in home.text
    assert "/open?theme=" in home.text and "城建" in home.text
    assert 'action="/open"' in home.text and "如何获取数据" in home.text
    # A citizen's download counts, and the entry leads "最多使用".
    login("citizen")
    client.post(f"/open/{open_data.free.id}/declare", data={"use": "研究", "scenario": "公交"})
    page = client.get(f"/open/{open_data.free.id}").text
    grant_id = page.split("/grants/")[1].split("/")[0]
    assert client.get(f"/grants/{grant_id}/download?format=csv").status_code == 200
    home = client.get("/").text
    assert 'id="stat-downloads">1<' in home and "下载与调用 1 次" in home
    assert "我的事项" in home and 'href="/privacy"' in home
    # People of an organization keep their workbench.
    login("clerk_county")
    assert "工作台" in client.get("/").text and "如何获取数据" not in client.get("/").text
