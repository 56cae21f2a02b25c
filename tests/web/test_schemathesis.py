"""Property-based API testing (issue 20 item 6): schemathesis generates requests
from the OpenAPI document for every operation, as an anonymous caller, an
administrator and an agency clerk, and runs every check on each answer: no server
error, a documented status code, content type and headers, a body that matches its
schema, invalid data refused, valid data not refused by validation.

A schema-valid request may still be refused by a rule JSON Schema cannot state (a
check digit, one date before another, an object that does not exist): a 400, 404
or 409 with a message naming the field. A 422 means the schema promised too much,
a 5xx that the server broke: both fail.
"""

from __future__ import annotations

import os
from collections import defaultdict
from datetime import timedelta

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.config import SchemathesisConfig
from sqlalchemy import select

from gongshu.accounts import service as accounts
from gongshu.accounts.models import User
from tests.web.world import seed_world

IDENTITIES = ("anonymous", "admin", "clerk")
EXAMPLES = int(os.environ.get("GONGSHU_SCHEMATHESIS_EXAMPLES", "8"))
ONLY = os.environ.get("GONGSHU_SCHEMATHESIS_ONLY", "")  # one operation, when debugging
CONFIG = """
[checks.positive_data_acceptance]
expected-statuses = ["2xx", "400", "401", "403", "404", "409", "429"]
"""


@pytest.fixture
def world(app, session, session_factory, settings):  # noqa: ANN001, ANN201
    seed_world(session, session_factory, settings)
    tokens = {}
    for role in IDENTITIES[1:]:
        user = session.scalar(select(User).where(User.username == role))
        tokens[role], _ = accounts.issue_token(session, user, kind="api", ttl=timedelta(hours=2))
    session.commit()
    return tokens


def _run(operation, headers: dict) -> None:  # noqa: ANN001
    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def check(case) -> None:  # noqa: ANN001
        case.call_and_validate(headers=headers)

    check()


def test_no_server_error_and_answers_match_the_schema(app, world) -> None:
    schema = schemathesis.openapi.from_asgi(
        "/api/openapi.json", app, config=SchemathesisConfig.from_str(CONFIG)
    )
    failures: dict[str, str] = {}
    ran = defaultdict(int)
    for who in IDENTITIES:
        headers = {"Authorization": f"Bearer {world[who]}"} if who in world else {}
        for result in schema.get_all_operations():
            operation = result.ok()
            if ONLY and ONLY not in operation.label:
                continue
            ran[who] += 1
            try:
                _run(operation, headers)
            except BaseException as exc:  # noqa: BLE001 - every operation's failure, together
                failures[f"{who} {operation.label}"] = f"{type(exc).__name__}: {str(exc)[:800]}"
    assert ONLY or min(ran.values()) > 100, dict(ran)
    report = "\n".join(f"{k}:\n  {v}" for k, v in sorted(failures.items()))
    assert not failures, f"{len(failures)} operations failed:\n{report}"


def test_ckan_actions_validate_the_same_way(app, world) -> None:
    """The CKAN actions, described from their parameter table, walked the same way."""
    schema = schemathesis.openapi.from_asgi(
        "/api/3/openapi.json", app, config=SchemathesisConfig.from_str(CONFIG)
    )
    failures: dict[str, str] = {}
    for who in ("anonymous", "clerk"):
        headers = {"Authorization": world[who]} if who in world else {}  # as CKAN clients send
        for result in schema.get_all_operations():
            operation = result.ok()
            try:
                _run(operation, headers)
            except BaseException as exc:  # noqa: BLE001
                failures[f"{who} {operation.label}"] = f"{type(exc).__name__}: {str(exc)[:800]}"
    report = "\n".join(f"{k}:\n  {v}" for k, v in sorted(failures.items()))
    assert not failures, f"{len(failures)} actions failed:\n{report}"
