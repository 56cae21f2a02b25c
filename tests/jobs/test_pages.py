"""The administrator's jobs page: every job named in Chinese with its state, the
technical errors kept off the page, live while work is unfinished, administrators only."""

from __future__ import annotations

import re

from gongshu.jobs import complete, enqueue, fail
from gongshu.jobs.service import claim
from gongshu.jobs.worker import handler, unregister


def _rows(html: str) -> dict[int, str]:
    return {
        int(m.group(1)): m.group(2) for m in re.finditer(r'<tr data-job="(\d+)">(.*?)</tr>', html)
    }


def test_the_jobs_page_names_each_job_and_its_state(
    client, login, session, session_factory, people
) -> None:
    handler("test.page_named", label="测试用的后台处理")(lambda s, p: None)
    try:
        done = enqueue(session, "test.page_named", {"n": 1})
        broken = enqueue(session, "test.page_named", {"n": 2}, max_attempts=1)
        chinese = enqueue(session, "test.page_named", {"n": 3}, max_attempts=1)
        waiting = enqueue(session, "test.page_unnamed", {"n": 4})
        session.flush()
        for job, outcome in (
            (done, None),
            (broken, ValueError("column 'x' not found in parquet schema")),
            (chinese, "InvalidInput: 数据版本 12 已被删除"),
        ):
            claimed = claim(session_factory, "w1", kinds=["test.page_named"])
            assert claimed is not None and claimed.id == job.id
            if outcome is None:
                complete(session, claimed.id, "w1", {})
            else:
                fail(session, claimed.id, "w1", outcome)
        session.flush()

        page = login("admin").get("/admin/jobs")
        assert page.status_code == 200
        rows = _rows(page.text)
        assert "测试用的后台处理" in rows[done.id] and "已完成" in rows[done.id]
        assert "失败" in rows[broken.id] and "工作进程日志" in rows[broken.id]
        assert "parquet" not in page.text and "ValueError" not in page.text
        assert "数据版本 12 已被删除" in rows[chinese.id] and "InvalidInput" not in page.text
        assert "后台处理" in rows[waiting.id] and "排队中" in rows[waiting.id]
        # Work is unfinished (one job queued): the section refreshes itself.
        assert re.search(r'<section id="jobs"[^>]*data-live', page.text)

        failed_only = login("admin").get("/admin/jobs?status=failed")
        assert set(_rows(failed_only.text)) == {broken.id, chinese.id}
        assert login("admin").get("/admin/jobs?status=bogus").status_code == 400
    finally:
        unregister("test.page_named")


def test_a_page_with_nothing_unfinished_is_not_live(login, session, people) -> None:
    page = login("admin").get("/admin/jobs?status=done")
    assert page.status_code == 200
    if 'id="jobs-empty"' not in page.text:
        assert "已完成" in page.text
    queued = login("admin").get("/admin/jobs")
    live = re.search(r'<section id="jobs"[^>]*data-live', queued.text) is not None
    unfinished = re.search(r'data-count="queued">(\d+)<', queued.text)
    running = re.search(r'data-count="running">(\d+)<', queued.text)
    assert unfinished and running
    assert live == (int(unfinished.group(1)) + int(running.group(1)) > 0)


def test_only_an_administrator_sees_the_jobs(client, login, session, people) -> None:
    for role in ("citizen", "clerk_county", "reviewer_prov", "auditor"):
        r = login(role).get("/admin/jobs", follow_redirects=False)
        assert r.status_code == 403, role
        assert 'href="/admin/jobs"' not in login(role).get("/").text, role
    client.cookies.clear()
    assert client.get("/admin/jobs", follow_redirects=False).status_code in (303, 401)
    assert 'href="/admin/jobs"' in login("admin").get("/").text
