"""SEC-3: every route declares the permission it needs, and no role reaches a
route whose permission it does not hold. The test walks the real app, so a
new route without ``requires(...)`` fails here."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.routing import APIRoute

from gongshu.accounts import service as accounts
from gongshu.accounts.deps import PermissionCheck
from gongshu.accounts.permissions import ALL_SCOPES, PUBLIC, ROLE_SCOPES
from gongshu.app.factory import all_routes

# FastAPI's own documentation routes and the static files: public by design.
BUILTIN_PUBLIC = {"/api/openapi.json", "/api/docs", "/api/docs/oauth2-redirect", "/static"}


def declared_scopes(route: APIRoute) -> list[str]:
    found, stack = [], [route.dependant]
    while stack:
        dep = stack.pop()
        if isinstance(dep.call, PermissionCheck):
            found.append(dep.call.scope)
        stack.extend(dep.dependencies)
    return found


def api_routes(app) -> list[APIRoute]:  # noqa: ANN001
    return all_routes(app)


def test_every_route_declares_exactly_one_known_scope(app) -> None:
    problems = []
    for route in app.routes:
        path = getattr(route, "path", None)
        if not isinstance(route, APIRoute) and path is not None and path not in BUILTIN_PUBLIC:
            problems.append(f"{path}: not an endpoint and not a known public built-in")
    for route in api_routes(app):
        scopes = declared_scopes(route)
        if len(scopes) != 1:
            problems.append(f"{sorted(route.methods)} {route.path}: declares {scopes}")
        elif scopes[0] not in (PUBLIC, *ALL_SCOPES):
            problems.append(f"{route.path}: unknown scope {scopes[0]}")
    assert not problems, "\n".join(problems)
    assert len(api_routes(app)) >= 30


def _url(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


@pytest.fixture
def role_tokens(session, people) -> dict[str, str]:
    tokens = {}
    for role in ROLE_SCOPES:
        user = accounts.create_user(
            session, f"only_{role}", "role-test-pass", roles=[role], org=people.org["civil"]
        )
        tokens[role], _ = accounts.issue_token(session, user, kind="api", ttl=timedelta(hours=1))
    session.flush()
    return tokens


def test_no_role_reaches_a_route_it_lacks_the_scope_for(app, client, role_tokens) -> None:
    checked = 0
    for route in api_routes(app):
        (scope,) = declared_scopes(route)
        if scope == PUBLIC:
            continue
        for method in route.methods - {"HEAD"}:
            anonymous = client.request(method, _url(route.path), follow_redirects=False)
            if route.path.startswith("/api/") or method != "GET":
                assert anonymous.status_code == 401, (method, route.path)
            else:
                assert anonymous.status_code == 303, (method, route.path)
                assert anonymous.headers["location"].startswith("/login")
            for role, token in role_tokens.items():
                r = client.request(
                    method,
                    _url(route.path),
                    follow_redirects=False,
                    headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
                )
                if scope in ROLE_SCOPES[role]:
                    assert not (r.status_code == 403 and f"permission {scope}" in r.text), (
                        role,
                        method,
                        route.path,
                    )
                else:
                    assert r.status_code == 403, (role, method, route.path, r.status_code)
                    assert r.json()["detail"] == {"scope": scope}
                    assert "无权执行此操作" in r.json()["message"]
                    checked += 1
    assert checked > 50


def test_a_revoked_or_unknown_token_is_refused(client, session, people) -> None:
    plaintext, token = accounts.issue_token(
        session, people.auditor, kind="api", ttl=timedelta(hours=1)
    )
    session.flush()
    ok = client.get("/api/v1/me", headers={"Authorization": f"Bearer {plaintext}"})
    assert ok.status_code == 200 and ok.json()["username"] == "auditor"
    accounts.revoke_token(session, people.auditor, token.id)
    session.flush()
    r = client.get("/api/v1/me", headers={"Authorization": f"Bearer {plaintext}"})
    assert r.status_code == 401 and "API 令牌无效" in r.json()["message"]
    r = client.get("/api/v1/me", headers={"Authorization": "Bearer gs_nonsense"})
    assert r.status_code == 401
