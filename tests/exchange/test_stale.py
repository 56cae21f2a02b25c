"""GOV-2: the data authority sees entries with no data or data older than their frequency."""

from __future__ import annotations

from datetime import timedelta

from gongshu.catalog import service as catalog
from gongshu.datasets import service as datasets
from gongshu.exchange.supervision import stale_entries
from gongshu.timeutil import utcnow


def published(session, people, code: str, frequency: str):  # noqa: ANN001, ANN201
    entry = catalog.create(
        session,
        {
            "resource_code": code,
            "name": f"目录{code}",
            "summary": "s",
            "fields": [{"name": "a"}],
            "update_frequency": frequency,
            "security_grade": "一般数据-1级",
            "sharing_attr": "unconditional",
            "opening_attr": "none",
        },
        actor=people.clerk_county,
    )
    catalog.submit(session, entry.id, actor=people.clerk_county)
    catalog.approve(session, entry.id, actor=people.reviewer_county)
    return entry


def test_no_data_and_old_data_are_reported(session, people, tmp_path) -> None:
    empty = published(session, people, "S-1", "每月")
    monthly = published(session, people, "S-2", "每月")
    published(session, people, "S-3", "不定期")
    src = tmp_path / "a.csv"
    src.write_text("a\n1\n", encoding="utf-8")
    version = datasets.load(
        session, monthly.id, src, actor=people.clerk_county, datasets_dir=tmp_path / "ds"
    )
    now = utcnow()
    assert [s.entry.id for s in stale_entries(session, people.reviewer_county, now)] == [empty.id]
    version.created_at = now - timedelta(days=40)
    session.flush()
    late = stale_entries(session, people.reviewer_county, now)
    assert [(s.entry.id, s.days_old) for s in late] == [(empty.id, None), (monthly.id, 40)]
    # The province sees its whole area; an authority elsewhere sees none of it.
    assert len(stale_entries(session, people.reviewer_prov, now)) == 2
