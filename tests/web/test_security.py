"""The web security baseline (issue 16 item 5): CSRF, security headers, no inline
script, uploads served as downloads."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

import gongshu
from gongshu.accounts.models import AuthToken
from gongshu.compliance import audits

TOKEN_FIELD = re.compile(r'name="csrf_token" value="([0-9a-f]{64})"')


def _tokens(session, user) -> int:  # noqa: ANN001
    return session.scalar(
        select(func.count(AuthToken.id)).where(
            AuthToken.user_id == user.id, AuthToken.kind == "api"
        )
    )


def test_a_form_posted_from_another_site_changes_nothing(
    app, client, login, people, session
) -> None:  # noqa: ANN001
    login("clerk_prov")
    before = _tokens(session, people.clerk_prov)
    # Another site's page posts the form: the browser attaches the session cookie
    # but the other site cannot know the token.
    attacker = TestClient(app, cookies=dict(client.cookies))
    r = attacker.post("/account/tokens", data={"name": "evil", "days": "30"})
    assert r.status_code == 403 and "请求来源无法验证" in r.text
    r = attacker.post("/account/tokens", data={"name": "evil", "csrf_token": "0" * 64})
    assert r.status_code == 403
    # With the right token but a browser saying the request is cross-site: refused too.
    good = client.cookies.get("gs_csrf")
    r = attacker.post(
        "/account/tokens",
        data={"name": "evil", "csrf_token": good},
        headers={"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"},
    )
    assert r.status_code == 403
    # A JSON call with the cookie and no header: refused, as JSON.
    r = attacker.post("/api/v1/compliance/crossborder/route", json={"important_data": True})
    assert r.status_code == 403 and r.json()["error"] == "csrf"
    assert _tokens(session, people.clerk_prov) == before


def test_the_sites_own_form_carries_the_token(app, client, login, people, session) -> None:  # noqa: ANN001
    login("clerk_prov")
    page = client.get("/account/tokens").text
    field = TOKEN_FIELD.search(page)
    assert field and field.group(1) == client.cookies.get("gs_csrf")
    # Posted as a browser posts the form: the field only, no header.
    browser = TestClient(app, cookies=dict(client.cookies))
    r = browser.post("/account/tokens", data={"csrf_token": field.group(1), "name": "同步"})
    assert r.status_code == 200 and "gs_" in r.text
    assert _tokens(session, people.clerk_prov) == 1
    # Every post form of the page carries it (logout in the header included).
    forms = re.findall(r'<form[^>]*method="post"[^>]*>(.{0,120})', page)
    assert forms and all("csrf_token" in f for f in forms)


def test_bearer_token_calls_need_no_csrf_token(app, client, login, people) -> None:  # noqa: ANN001
    r = client.post(
        "/api/v1/auth/token", json={"username": "clerk_prov", "password": "correct-horse-9"}
    )
    assert r.status_code in (200, 201), r.text
    machine = TestClient(app)
    r = machine.post(
        "/api/v1/compliance/crossborder/route",
        json={"important_data": True},
        headers={"Authorization": f"Bearer {r.json()['token']}"},
    )
    assert r.status_code == 200, r.text


def test_security_headers(client, settings, session_factory) -> None:  # noqa: ANN001
    r = client.get("/login")
    csp = r.headers["content-security-policy"]
    script = next(d for d in csp.split(";") if d.strip().startswith("script-src"))
    assert script.split() == ["script-src", "'self'"]
    assert "frame-ancestors 'none'" in csp
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "same-origin"
    assert "strict-transport-security" not in r.headers
    from gongshu.app.factory import create_app

    secure = settings.model_copy(update={"secure_cookies": True})
    with TestClient(create_app(secure, session_factory=session_factory)) as https:
        assert "max-age=" in https.get("/login").headers["strict-transport-security"]


def _templates() -> list[Path]:
    return sorted(Path(gongshu.__file__).parent.rglob("templates/*.html"))


@pytest.mark.parametrize("path", _templates(), ids=lambda p: f"{p.parent.parent.name}/{p.name}")
def test_templates_have_no_inline_script(path: Path) -> None:
    """The CSP allows no inline script: a template may load script files and hold JSON."""
    text = path.read_text(encoding="utf-8")
    for tag in re.findall(r"<script\b[^>]*>", text, flags=re.I):
        assert "src=" in tag or 'type="application/json"' in tag, f"{path.name}: {tag}"
    assert not re.search(r"\son[a-z]+\s*=", text, flags=re.I), f"{path.name}: event handler"
    assert "javascript:" not in text.lower(), f"{path.name}: javascript: URL"


def test_every_post_form_has_the_token_field() -> None:
    for path in _templates():
        text = path.read_text(encoding="utf-8")
        for form in re.findall(r'<form\b[^>]*method="post"[^>]*>.{0,20}', text, flags=re.I):
            assert "{{ csrf_field() }}" in form, f"{path.name}: {form}"


def test_html_evidence_is_served_as_a_download(app, client, login, people, session) -> None:  # noqa: ANN001
    """The audit's finding: an HTML file uploaded as evidence ran as a page."""
    audit = audits.create(
        session,
        actor=people.clerk_prov,
        subject_org_id=people.org["police"].id,
        trigger="self",
        conductor="institution",
        institution_org_id=people.org["audit"].id,
        institution_head="王所长",
        lead_name="李审计",
    )
    login("auditor")
    page = client.get(f"/compliance/audits/{audit.id}").text
    token = TOKEN_FIELD.search(page).group(1)
    html = b"<html><script>fetch('/account/tokens',{method:'POST'})</script></html>"
    browser = TestClient(app, cookies=dict(client.cookies))  # the form: field first, no header
    r = browser.post(
        f"/compliance/audits/{audit.id}/points/3/evidence",
        data={"csrf_token": token},
        files={"file": ("证据.html", html, "text/html")},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    (item,) = audits.evidence_files(session, audit.id)
    assert item.media_type == "application/octet-stream"
    login("reviewer_prov")  # the regulator's session reads it
    r = client.get(f"/compliance/audits/{audit.id}/evidence/{item.id}")
    assert r.status_code == 200 and r.content == html
    assert r.headers["content-type"] == "application/octet-stream"
    assert r.headers["content-disposition"].startswith("attachment;")
    assert "filename*=UTF-8''%E8%AF%81%E6%8D%AE.html" in r.headers["content-disposition"]
    assert r.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in r.headers["content-security-policy"]
