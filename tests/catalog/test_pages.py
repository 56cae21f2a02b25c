"""Catalog pages in Chinese: the form, the entry page, the review queue, search."""

from __future__ import annotations

import re


def form(**over) -> dict:  # noqa: ANN003
    data = {
        "name": "养老机构名录",
        "resource_code": "360102-MZ-0009",
        "summary": "区内养老机构",
        "update_frequency": "每季度",
        "security_grade": "一般数据-1级",
        "sharing_attr": "unconditional",
        "opening_attr": "unconditional",
        "formats": "CSV,XLSX",
        "load_policy": "quarantine",
        "field_name": ["机构名称", "统一社会信用代码", ""],
        "field_type": ["string", "string", "string"],
        "field_desc": ["", "", ""],
        "field_kind": ["", "uscc", ""],
        "field_required": ["1", "0", "0"],
    }
    data.update(over)
    return data


def test_clerk_compiles_submits_and_reviewer_approves(client, login, people) -> None:
    login("clerk_county")
    r = client.post("/catalog/new", data=form(), follow_redirects=False)
    assert r.status_code == 303
    entry_url = r.headers["location"].split("?")[0]
    page = client.get(entry_url).text
    assert "养老机构名录" in page and "统一社会信用代码" in page and "草稿" in page
    client.post(f"{entry_url}/submit")
    assert "待审核" in client.get(entry_url).text

    login("reviewer_county")
    queue = client.get("/review").text
    assert "养老机构名录" in queue
    entry_id = entry_url.rsplit("/", 1)[1]
    r = client.post(
        f"/catalog/{entry_id}/approve", data={"comment": "同意"}, follow_redirects=False
    )
    assert r.status_code == 303
    assert "养老机构名录" not in client.get("/review").text
    login("reviewer_city")
    assert "下级已通过" in client.get("/review").text


def test_form_errors_are_shown_in_chinese_and_nothing_is_saved(client, login, people) -> None:
    login("clerk_county")
    r = client.post("/catalog/new", data=form(field_name=["编号", "编号", ""]))
    assert r.status_code == 400 and "字段名重复" in r.text
    assert "养老机构名录" in r.text  # the form keeps what the clerk typed
    assert "养老机构名录" not in client.get("/catalog/mine").text


def test_every_problem_of_the_entry_form_comes_back_beside_its_field(
    client, login, session, people
) -> None:
    from gongshu.catalog.models import CatalogEntry
    from gongshu.ledger.models import LedgerEntry

    login("clerk_county")
    entries, written = session.query(CatalogEntry).count(), session.query(LedgerEntry).count()
    r = client.post(
        "/catalog/new",
        data=form(
            name="",
            field_name=["机构名称", "地址", "机构名称"],
            field_type=["string", "uuid", "string"],
            field_kind=["", "", ""],
        ),
    )
    # All problems at once, each in the summary (linked) and beside its field or row.
    assert r.status_code == 400 and "error-summary" in r.text and "无法完成请求" not in r.text
    assert 'id="name-error">名称不能为空' in r.text and 'href="#name"' in r.text
    assert 'id="field_type-2-error">第 2 个数据项：字段「地址」的类型无效' in r.text
    assert 'id="field_name-3-error">第 3 个数据项：字段名重复：机构名称' in r.text
    assert 'href="#field_name-3"' in r.text and 'href="#field_type-2"' in r.text
    assert 'aria-describedby="field_name-3-error"' in r.text
    assert 'aria-describedby="name-error"' in r.text
    # What was typed is kept.
    assert 'value="360102-MZ-0009"' in r.text and 'value="地址"' in r.text
    # Nothing was written.
    assert session.query(CatalogEntry).count() == entries
    assert session.query(LedgerEntry).count() == written

    # The edit form: a code already used by another entry, beside the code.
    client.post("/catalog/new", data=form(resource_code="360102-MZ-0010"))
    r = client.post("/catalog/new", data=form(), follow_redirects=False)
    entry_id = r.headers["location"].split("?")[0].rsplit("/", 1)[1]
    written = session.query(LedgerEntry).count()
    r = client.post(
        f"/catalog/{entry_id}/edit", data=form(resource_code="360102-MZ-0010", summary="改")
    )
    assert r.status_code == 400
    assert 'id="resource_code-error">资源代码已被使用：360102-MZ-0010' in r.text
    assert ">改</textarea>" in r.text
    assert session.query(LedgerEntry).count() == written


def test_a_data_item_with_a_description_but_no_name_is_not_dropped(
    client, login, session, people
) -> None:
    from gongshu.catalog.models import CatalogEntry

    login("clerk_county")
    entries = session.query(CatalogEntry).count()
    r = client.post(
        "/catalog/new",
        data=form(
            field_name=["机构名称", "", ""],
            field_type=["string", "string", "string"],
            field_desc=["", "床位总数", ""],
            field_kind=["", "", ""],
        ),
    )
    assert r.status_code == 400 and "error-summary" in r.text
    assert 'id="field_name-2-error">第 2 个数据项：' in r.text
    assert "床位总数" in r.text  # what was typed is kept
    assert session.query(CatalogEntry).count() == entries


def test_submitting_an_incomplete_entry_says_what_is_missing_on_its_page(
    client, login, session, people
) -> None:
    from gongshu.ledger.models import LedgerEntry

    login("clerk_county")
    r = client.post("/catalog/new", data=form(summary=""), follow_redirects=False)
    entry_url = r.headers["location"].split("?")[0]
    written = session.query(LedgerEntry).count()
    r = client.post(f"{entry_url}/submit")
    assert r.status_code == 400 and "error-summary" in r.text and "无法完成请求" not in r.text
    assert "目录信息不完整，缺少：摘要" in r.text and "养老机构名录" in r.text
    assert session.query(LedgerEntry).count() == written
    assert "草稿" in client.get(entry_url).text


def test_approving_an_entry_already_decided_says_so_on_the_queue(
    client, login, session, people
) -> None:
    login("clerk_county")
    r = client.post("/catalog/new", data=form(), follow_redirects=False)
    entry_url = r.headers["location"].split("?")[0]
    entry_id = entry_url.rsplit("/", 1)[1]
    client.post(f"{entry_url}/submit")
    login("reviewer_county")
    client.post(f"/catalog/{entry_id}/approve", data={"comment": "同意"})
    r = client.post(f"/catalog/{entry_id}/approve", data={"comment": "同意"})
    # Already passed up to the city: the county queue again, saying why, not an error page.
    assert r.status_code == 403 and "error-summary" in r.text and "无法完成请求" not in r.text
    assert "审核队列之外" in r.text and "目录审核队列" in r.text


def test_versions_page_shows_the_field_diff(client, login, people) -> None:
    login("clerk_county")
    r = client.post("/catalog/new", data=form(), follow_redirects=False)
    entry_url = r.headers["location"].split("?")[0]
    client.post(f"{entry_url}/edit", data=form(field_desc=["养老机构全称", "", ""]))
    page = client.get(f"{entry_url}/versions/2").text
    assert "养老机构全称" in page and "修改" in page
    # Field types, changed attributes and states read in Chinese, not as raw values.
    assert "文本" in page and "（说明）" in page
    assert ">string<" not in page and "description" not in page
    entry = client.get(entry_url).text
    assert "<td>文本</td>" in entry and "<td>string</td>" not in entry


def test_search_page_has_facets(client, login, people) -> None:
    login("clerk_county")
    client.post("/catalog/new", data=form())
    client.post(
        "/catalog/new",
        data=form(
            resource_code="360102-MZ-0010",
            name="婚姻登记",
            sharing_attr="conditional",
            sharing_conditions="婚姻状况核查",
        ),
    )
    page = client.get("/catalog").text
    assert re.search(r'id="total">2<', page)
    assert "有条件共享" in page and "无条件共享" in page
    page = client.get("/catalog", params={"sharing_attr": "conditional"}).text
    assert re.search(r'id="total">1<', page) and "婚姻登记" in page
    page = client.get("/catalog", params={"q": "婚姻"}).text
    assert re.search(r'id="total">1<', page)


def test_home_page_per_role(client, login, people) -> None:
    # A visitor gets the open-data portal (issue 17 item 3); people at work, their workbench.
    assert "公共数据开放" in client.get("/", follow_redirects=False).text
    login("clerk_county")
    assert "本单位目录" in client.get("/").text
    login("reviewer_county")
    assert "待我审核" in client.get("/").text
    login("auditor")
    home = client.get("/").text
    assert "审计账本" in home and "待我审核" not in home
    assert "账本" in client.get("/ledger").text


def test_admin_home_warns_when_next_years_schedule_is_missing(
    client, login, people, monkeypatch
) -> None:
    # On 2026-11-22, 2027 is within the 92-day horizon and chinese_calendar does not
    # cover it: the administrator is told, nobody is left to guess (CLK-4).
    from datetime import UTC, datetime

    import gongshu.timeutil

    login("admin")
    monkeypatch.setattr(gongshu.timeutil, "utcnow", lambda: datetime(2026, 11, 22, tzinfo=UTC))
    assert "2027 年节假日安排尚未录入" in client.get("/").text
    monkeypatch.setattr(gongshu.timeutil, "utcnow", lambda: datetime(2026, 6, 1, tzinfo=UTC))
    assert "节假日安排尚未录入" not in client.get("/").text


def test_a_return_needs_a_reason_typed_beside_the_entry(client, login, people) -> None:
    login("clerk_county")
    r = client.post("/catalog/new", data=form(), follow_redirects=False)
    entry_url = r.headers["location"].split("?")[0]
    entry_id = int(entry_url.rsplit("/", 1)[1])
    client.post(f"{entry_url}/submit")
    login("reviewer_county")
    queue = client.get("/review").text
    # A visible, labelled, required field: no browser prompt.
    assert f'<label for="comment-{entry_id}">退回意见' in queue and "data-prompt" not in queue
    r = client.post(f"/catalog/{entry_id}/return", data={"comment": "  "})
    assert r.status_code == 400
    assert f'id="comment-{entry_id}-error">退回时必须填写审核意见' in r.text
    assert "error-summary" in r.text and f'href="#comment-{entry_id}"' in r.text
    assert "待审核" in client.get(entry_url).text  # nothing changed
    r = client.post(
        f"/catalog/{entry_id}/return", data={"comment": "缺少字段说明"}, follow_redirects=False
    )
    assert r.status_code == 303
    done = client.get(r.headers["location"]).text
    assert "已退回《养老机构名录》（360102-MZ-0009）" in done and "重新提交" in done
    assert "退回" in client.get(entry_url).text


def test_the_script_asks_nothing_in_a_browser_prompt() -> None:
    from pathlib import Path

    import gongshu.web

    script = Path(gongshu.web.__file__).parent / "static" / "gongshu.js"
    assert "prompt(" not in script.read_text(encoding="utf-8")


def test_a_draft_that_never_left_the_provider_can_be_deleted(
    client, login, session, people
) -> None:
    from gongshu.catalog.models import CatalogEntry, EntryVersion
    from gongshu.ledger import entries

    login("clerk_county")
    r = client.post("/catalog/new", data=form(), follow_redirects=False)
    entry_url = r.headers["location"].split("?")[0]
    entry_id = int(entry_url.rsplit("/", 1)[1])
    assert "删除草稿" in client.get(entry_url).text
    login("clerk_prov")  # another agency may not
    assert client.post(f"{entry_url}/delete").status_code == 403
    login("clerk_county")
    r = client.post(f"{entry_url}/delete", follow_redirects=False)
    assert r.status_code == 303
    assert "草稿“养老机构名录”已删除" in client.get(r.headers["location"]).text
    assert session.get(CatalogEntry, entry_id) is None
    assert not session.query(EntryVersion).filter_by(entry_id=entry_id).count()
    assert entries(session, action_prefix="catalog.draft_deleted", limit=1)[0].actor == (
        "user:clerk_county"
    )
    # Once submitted, an entry is kept.
    r = client.post("/catalog/new", data=form(), follow_redirects=False)
    entry_url = r.headers["location"].split("?")[0]
    client.post(f"{entry_url}/submit")
    assert "删除草稿" not in client.get(entry_url).text
    assert client.post(f"{entry_url}/delete").status_code == 409


def test_the_error_summary_follows_the_order_of_the_form(client, login, people) -> None:
    # GOV.UK error summary: the problems in the order of the fields on the page
    # (资源名称 comes before 资源代码), the schema's own order notwithstanding.
    login("clerk_county")
    r = client.post(
        "/catalog/new",
        data=form(
            name="",
            resource_code="",
            field_name=["机构名称", "机构名称", ""],
        ),
    )
    assert r.status_code == 400
    summary = r.text.split('id="error-summary"')[1].split("</ul>")[0]
    links = re.findall(r'href="#([\w-]+)"', summary)
    assert links.index("name") < links.index("resource_code")
    assert links[-1] == "field_name-2"  # the field rows come after, as on the page
