"""Open API rate limits, per token and per address (issue 5 item 6)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from gongshu.app.factory import create_app
from gongshu.web.ratelimit import TokenBuckets


def test_bucket_refills_at_the_configured_rate() -> None:
    b = TokenBuckets(rate_per_minute=60, burst=2)
    assert b.take("a", now=0.0) == 0.0 and b.take("a", now=0.0) == 0.0
    assert b.take("a", now=0.0) > 0.9  # the third in the same instant waits about a second
    assert b.take("b", now=0.0) == 0.0  # another caller has its own bucket
    assert b.take("a", now=1.5) == 0.0


def test_the_open_api_answers_429_in_ckan_shape(settings, session_factory) -> None:
    settings = settings.model_copy(update={"open_rate_per_minute": 1, "open_rate_burst": 2})
    with TestClient(create_app(settings, session_factory=session_factory)) as client:
        codes = [client.get("/api/3/action/package_list").status_code for _ in range(3)]
        assert codes[:2] == [200, 200] and codes[2] == 429
        r = client.get("/api/3/action/package_list")
        assert r.json()["success"] is False and "请求过于频繁" in r.json()["error"]["message"]
        assert int(r.headers["retry-after"]) >= 1
        # A caller with a token has its own allowance (this unknown token then fails
        # authentication, 401, but it is not rate limited); pages are not limited.
        other = client.get("/api/3/action/package_list", headers={"Authorization": "gs_other"})
        assert other.status_code == 401
        assert client.get("/login").status_code == 200
