"""Search quality and latency (issue 17 item 9): recall@10, MRR and p95 latency of the
portal search (opendata/search.py over catalog/textindex.py) on a 10,000-entry catalog,
against the old substring search (every word a LIKE over name, summary, resource code
and provider; resource-code order) as the baseline, on the same queries.

    .venv/bin/python benchmarks/bench_search.py
    .venv/bin/python benchmarks/bench_search.py --database-url postgresql+psycopg://...
    .venv/bin/python benchmarks/bench_search.py --compare postgresql+psycopg://...

The catalog is built as benchmarks/bench_portal.py builds its 10,000 open entries (one
entry through the catalog service, the rest bulk-inserted from its template, all
published and open), with names people would search for instead of "养老数据集17":
"{place}{subject}{aspect}" over 30 places (registered as regions, so in the user
dictionary), 30 subjects from 9 providing agencies and 12 aspects.

Queries (175, fixed seed), each with its relevant entries known by construction:
exact names; names in full pinyin and in initials (word by word, as typed on a phone
keyboard without the characters), and in full pinyin without spaces; names with one
wrong character; names with a common term replaced by its synonym (法人 for 企业
...); place + subject, whose relevant set is the 12 aspects of it (recall@10 over
min(12, 10)). Latency is per query with
the result caches cleared (the index itself stays built: it is rebuilt only when the
catalog changes; its cold build time is reported apart). ``--compare URL`` builds the
same catalog in a second database and checks that every query's top 10 is the same.
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import sys
import time
from pathlib import Path

OUT = Path(__file__).resolve().parent / "out" / "search"

PLACES = [
    ("360102", "东湖区"), ("360103", "西湖区"), ("360104", "青云谱区"), ("360111", "青山湖区"),
    ("360112", "新建区"), ("360113", "红谷滩区"), ("360121", "南昌县"), ("360123", "安义县"),
    ("360124", "进贤县"), ("360202", "昌江区"), ("360203", "珠山区"), ("360302", "安源区"),
    ("360402", "濂溪区"), ("360403", "浔阳区"), ("360404", "柴桑区"), ("360502", "渝水区"),
    ("360602", "月湖区"), ("360603", "余江区"), ("360702", "章贡区"), ("360703", "南康区"),
    ("360704", "赣县区"), ("360802", "吉州区"), ("360803", "青原区"), ("360902", "袁州区"),
    ("361002", "临川区"), ("361003", "东乡区"), ("361102", "信州区"), ("361103", "广丰区"),
    ("361104", "广信区"), ("360100", "南昌市"),
]  # fmt: skip
AGENCIES = {
    "市场监督管理局": ["企业登记", "企业年报", "个体工商户", "食品经营许可", "药品零售许可"],
    "卫生健康委员会": ["医疗机构", "养老机构", "疫苗接种点"],
    "教育局": ["中小学校", "幼儿园"],
    "交通运输局": ["公交线路", "公交站点", "道路运输", "出租汽车"],
    "公安局": ["机动车登记", "驾驶人", "户籍人口"],
    "人力资源和社会保障局": ["社会保险参保", "就业登记", "住房公积金"],
    "生态环境局": ["空气质量", "水质监测", "噪声监测"],
    "住房和城乡建设局": ["建筑工地", "房屋租赁", "物业服务企业"],
    "综合行政执法局": ["行政处罚", "旅游景区", "文物保护单位", "农业合作社"],
}
SUBJECTS = [(s, a) for a, subjects in AGENCIES.items() for s in subjects]  # 30
ASPECTS = ["名录", "信息", "统计", "明细", "变更记录", "年度汇总", "月度报表", "检查结果",
           "分布", "办理情况", "公示", "目录"]  # fmt: skip
SYNONYMS = {"企业": "法人", "公交": "公共交通", "机动车": "车辆", "户籍": "户口",
            "房屋": "住房", "社会保险": "社保", "医疗机构": "医院", "登记": "注册"}  # fmt: skip
TYPO_CHARS = "的一是了我不人在他有这个上们来到时大地为子中你说生国年着就那和要她出也得里后"


def names(entries: int) -> list[tuple[str, str, str, str, str]]:
    """(name, place code, place, subject, aspect) of each entry, in code order."""
    out = []
    for aspect in ASPECTS:
        for subject, _agency in SUBJECTS:
            for code, place in PLACES:
                out.append((f"{place}{subject}{aspect}", code, place, subject, aspect))
    random.Random(1).shuffle(out)
    return out[:entries]


def build(url: str, entries: int) -> None:
    from sqlalchemy import create_engine, insert, text

    from gongshu.accounts import service as accounts
    from gongshu.app.server import init_instance
    from gongshu.catalog import service as catalog
    from gongshu.catalog.models import CatalogEntry
    from gongshu.config import Settings
    from gongshu.db import transaction
    from gongshu.runtime import Instance

    if url.startswith("postgresql"):
        engine = create_engine(url)
        with engine.begin() as con:
            con.execute(text("DROP SCHEMA public CASCADE"))
            con.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    settings = Settings(data_dir=OUT / "var", secret_key="bench-secret", database_url=url)
    inst = Instance.open(settings)
    init_instance(inst)
    rows = names(entries)
    with transaction(inst.session_factory) as s:
        accounts.add_region(s, "360000", "江西省")
        for code, place in PLACES:
            accounts.add_region(s, code, place)
        auth = accounts.add_organization(
            s, "江西省数据局", kind="data_authority", region_code="360000"
        )
        orgs = {
            a: accounts.add_organization(s, f"江西省{a}", kind="agency", region_code="360000")
            for a in AGENCIES
        }
        s.flush()
        clerk = accounts.create_user(
            s, "clerk", "bench-password", org=orgs["市场监督管理局"], roles=["clerk"]
        )
        rev = accounts.create_user(s, "rev", "bench-password", org=auth, roles=["reviewer"])
        first = catalog.create(
            s,
            {
                "resource_code": "BENCH-00000",
                "name": rows[0][0],
                "summary": f"{rows[0][2]}{rows[0][3]}{rows[0][4]}，按月更新",
                "fields": [{"name": "编号"}, {"name": "名称"}, {"name": "日期", "type": "date"}],
                "update_frequency": "每月",
                "security_grade": "一般数据-1级",
                "sharing_attr": "unconditional",
                "opening_attr": "unconditional",
            },
            actor=clerk,
        )
        catalog.submit(s, first.id, actor=clerk)
        catalog.approve(s, first.id, actor=rev)
        template = {
            c: getattr(first, c)
            for c in (
                "fields",
                "update_frequency",
                "security_grade",
                "sharing_attr",
                "opening_attr",
                "formats",
                "themes",
                "load_policy",
                "tier",
            )
        }
        agency_of = dict(SUBJECTS)
        s.execute(
            insert(CatalogEntry),
            [
                {
                    **template,
                    "resource_code": f"BENCH-{i:05d}",
                    "name": name,
                    "summary": f"{place}{subject}{aspect}，由{agency_of[subject]}按月更新",
                    "provider_org_id": orgs[agency_of[subject]].id,
                    "region_code": code,
                    "status": "approved",
                    "version_no": 3,
                    "published_version": 3,
                    "provincial": True,
                }
                for i, (name, code, place, subject, aspect) in enumerate(rows)
                if i
            ],
        )
    inst.close()


def queries(entries: int, n_each: int = 25) -> list[tuple[str, str, set[str]]]:
    """(kind, query, relevant resource codes)."""
    from gongshu.catalog import textindex

    rows = names(entries)
    code = {r[0]: f"BENCH-{i:05d}" for i, r in enumerate(rows)}
    rng = random.Random(7)
    picks = rng.sample(rows, n_each * 6)
    out: list[tuple[str, str, set[str]]] = []
    textindex.add_words([p for _c, p in PLACES])

    def spelled(name: str, initials: bool) -> str:
        keys = [textindex.pinyin_keys(w) for w in textindex.query_terms(name)]
        return " ".join(k[1] if initials else k[0] for k in keys if k)

    for name, *_ in picks[:n_each]:
        out.append(("exact", name, {code[name]}))
    for name, *_ in picks[n_each : 2 * n_each]:
        out.append(("pinyin", spelled(name, False), {code[name]}))
    for name, *_ in picks[2 * n_each : 3 * n_each]:
        out.append(("initials", spelled(name, True), {code[name]}))
    for name, *_ in picks[3 * n_each : 4 * n_each]:
        at = rng.randrange(1, len(name))
        wrong = rng.choice([c for c in TYPO_CHARS if c != name[at]])
        out.append(("typo", name[:at] + wrong + name[at + 1 :], {code[name]}))
    with_syn = [r for r in rows if any(w in r[0] for w in SYNONYMS)]
    for name, *_ in rng.sample(with_syn, n_each):
        word = next(w for w in SYNONYMS if w in name)
        out.append(("synonym", name.replace(word, SYNONYMS[word], 1), {code[name]}))
    for name, *_ in picks[5 * n_each :]:
        out.append(("pinyin joined", spelled(name, False).replace(" ", ""), {code[name]}))
    for _name, _code, place, subject, _aspect in picks[4 * n_each : 5 * n_each]:
        rel = {code[r[0]] for r in rows if r[2] == place and r[3] == subject}
        out.append(("place+subject", f"{place} {subject}", rel))
    return out


def old_search(session, q: str, limit: int = 10) -> list[str]:  # noqa: ANN001
    """The substring search this replaced (git 5577a22 opendata/search.py), as SQL."""
    from sqlalchemy import or_, select

    from gongshu.accounts.models import Organization
    from gongshu.catalog.models import CatalogEntry
    from gongshu.opendata.entries import open_clause

    stmt = (
        select(CatalogEntry.resource_code)
        .join(Organization, CatalogEntry.provider_org_id == Organization.id)
        .where(open_clause())
    )
    columns = (
        CatalogEntry.name,
        CatalogEntry.summary,
        CatalogEntry.resource_code,
        Organization.name,
    )
    for word in q.split():
        esc = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        stmt = stmt.where(or_(*(c.ilike(f"%{esc}%", escape="\\") for c in columns)))
    return list(session.scalars(stmt.order_by(CatalogEntry.resource_code).limit(limit)))


def new_search(session, q: str, limit: int = 10) -> list[str]:  # noqa: ANN001
    from gongshu.opendata.search import search

    return [e.resource_code for e in search(session, q=q, limit=limit, facets=[]).entries]


def measure(url: str, qs: list, fn) -> dict:  # noqa: ANN001
    from sqlalchemy import create_engine
    from sqlalchemy.orm import sessionmaker

    from gongshu.opendata import search as open_search

    engine = create_engine(url)
    Session = sessionmaker(engine)
    per_kind: dict[str, list[tuple[float, float]]] = {}
    lat: list[float] = []
    tops: list[list[str]] = []
    with Session() as s:
        fn(s, "预热")  # the index's cold build happens here for the new search
        for kind, q, rel in qs:
            open_search._CACHE.clear()
            t = time.perf_counter()
            top = fn(s, q)
            lat.append(time.perf_counter() - t)
            tops.append(top)
            hit = [i for i, c in enumerate(top) if c in rel]
            recall = len(set(top) & rel) / min(len(rel), 10)
            rr = 1 / (hit[0] + 1) if hit else 0.0
            per_kind.setdefault(kind, []).append((recall, rr))
    engine.dispose()
    allv = [v for vs in per_kind.values() for v in vs]
    return {
        "recall": statistics.mean(r for r, _ in allv),
        "mrr": statistics.mean(m for _, m in allv),
        "kinds": {
            k: (statistics.mean(r for r, _ in v), statistics.mean(m for _, m in v), len(v))
            for k, v in per_kind.items()
        },
        "p50": statistics.median(lat) * 1000,
        "p95": sorted(lat)[int(0.95 * (len(lat) - 1))] * 1000,
        "tops": tops,
    }


def cold_build(url: str) -> float:
    from sqlalchemy import create_engine
    from sqlalchemy.orm import sessionmaker

    from gongshu.catalog import textindex

    textindex._INDEXES.clear()
    engine = create_engine(url)
    with sessionmaker(engine)() as s:
        t = time.perf_counter()
        textindex.index_for(s)
        took = time.perf_counter() - t
    engine.dispose()
    return took


def report(label: str, m: dict) -> None:
    print(f"{label}: recall@10 {m['recall']:.3f}  MRR {m['mrr']:.3f}  "
          f"p50 {m['p50']:.1f} ms  p95 {m['p95']:.1f} ms")  # fmt: skip
    for kind, (r, mrr, n) in m["kinds"].items():
        print(f"    {kind:<14} n={n:<3} recall@10 {r:.3f}  MRR {mrr:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument("--database-url", default=None, help="default: SQLite under out/")
    parser.add_argument("--compare", default=None, help="a second database: same top 10s?")
    parser.add_argument("--reuse", action="store_true", help="the catalog is already built")
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    url = args.database_url or f"sqlite:///{OUT / 'var' / 'search.db'}"
    if not args.reuse:
        shutil.rmtree(OUT, ignore_errors=True)
        OUT.mkdir(parents=True)
        t = time.perf_counter()
        build(url, args.entries)
        took = time.perf_counter() - t
        print(f"built {args.entries} entries in {took:.1f} s ({url.split(':')[0]})")
    qs = queries(args.entries)
    print(f"{len(qs)} queries; index cold build {cold_build(url) * 1000:.0f} ms")
    old = measure(url, qs, old_search)
    new = measure(url, qs, new_search)
    report("old substring search", old)
    report("new search          ", new)
    if args.compare:
        build(args.compare, args.entries)
        other = measure(args.compare, qs, new_search)
        same = sum(a == b for a, b in zip(new["tops"], other["tops"], strict=True))
        print(f"same top 10 on {args.compare.split(':')[0]}: {same}/{len(qs)} queries")
        report("new search (compare)", other)
        for (kind, q, _), a, b in zip(qs, new["tops"], other["tops"], strict=True):
            if a != b:
                print("  differs:", kind, q, a[:3], b[:3])


if __name__ == "__main__":
    main()
