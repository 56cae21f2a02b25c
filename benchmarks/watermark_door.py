"""The attack matrix of ``bench_watermark.py door`` (issue 16 item 9; see its docstring)."""

from __future__ import annotations

import math
import secrets
import shutil
import sys
import tempfile
import time
from collections import deque
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "protect"))

import leaks  # noqa: E402
from test_watermark import alter_values, csv_to_xlsx  # noqa: E402

from gongshu.protect.watermark import FAMILY_ALPHA, Mark  # noqa: E402
from gongshu.protect.watermark_trace import attribute  # noqa: E402

OUT = Path(__file__).resolve().parent / "out" / "watermark"
USERS = 25  # recipients, in turn: each delivery has its own token, hence its own mark
HISTORY = 20  # earlier deliveries of the entry among each trace's candidates


class Door:
    """A throwaway instance holding the demo province's organizations and some entries."""

    def __init__(self, keys: list[str], rows: int) -> None:
        from gongshu import capabilities
        from gongshu.accounts import service as accounts
        from gongshu.app.server import init_instance
        from gongshu.config import Settings
        from gongshu.db import transaction
        from gongshu.demo import loader
        from gongshu.demo.model import DemoContext
        from gongshu.demo.province import build_province
        from gongshu.egress.tracing import watermark_key
        from gongshu.runtime import Instance

        capabilities.activate()
        shutil.rmtree(OUT, ignore_errors=True)
        OUT.mkdir(parents=True)
        self.settings = Settings(data_dir=OUT / "var", secret_key=secrets.token_hex(16))
        self.instance = Instance.open(self.settings)
        init_instance(self.instance)
        province = build_province()
        sub = type(province)(
            province.regions,
            province.orgs,
            province.users,
            tuple(province.entry(k) for k in keys),
        )
        with transaction(self.instance.session_factory) as s:
            loader._people(s, sub)  # (the loader's steps, for these entries only)
        loader._seed(self.instance, "before_data", DemoContext(sub, self.settings, 2026, rows))
        for spec in sub.entries:
            with transaction(self.instance.session_factory) as s:
                loader._entry(s, sub, spec, self.settings.datasets_dir, seed=2026, limit=rows)
        with transaction(self.instance.session_factory) as s:
            for i in range(USERS):
                accounts.create_user(
                    s, f"reader{i}", "bench-password-1", display_name=f"读者{i}", roles=["public"]
                )
        self.codes = {spec.key: spec.resource_code for spec in sub.entries}
        self.key = watermark_key(self.settings.secret_key)
        self.grants: dict[tuple[str, int], int] = {}

    def entry(self, key: str, session=None):  # noqa: ANN001, ANN201
        from sqlalchemy import select

        from gongshu.catalog.models import CatalogEntry
        from gongshu.db import transaction

        stmt = select(CatalogEntry).where(CatalogEntry.resource_code == self.codes[key])
        if session is not None:
            return session.scalar(stmt)
        with transaction(self.instance.session_factory) as s:
            return s.scalar(stmt)

    def deliver(self, key: str, turn: int) -> tuple[Mark, pa.Table, float]:
        """An open delivery to user ``turn % USERS``, as the open API pages it."""
        from gongshu.accounts import service as accounts
        from gongshu.db import transaction
        from gongshu.egress import service as egress

        with transaction(self.instance.session_factory) as s:
            user = accounts.get_user(s, f"reader{turn % USERS}")
            grant = self.grants.get((key, user.id))
            if grant is None:
                grant = egress.create_grant(
                    s,
                    self.entry(key, s),
                    recipient_user=user,
                    purpose="研究；场景：基准测试",
                    source="open",
                    policy="open",
                    actor=user,
                ).id
                self.grants[(key, user.id)] = grant
            t0 = time.perf_counter()
            out = egress.deliver(
                s,
                grant,
                actor=user,
                fmt="parquet",
                datasets_dir=self.settings.datasets_dir,
                work_dir=OUT / "egress",
                secret=self.settings.secret_key,
                row_ids=True,
            )
            secs = time.perf_counter() - t0
            mark = Mark(out.delivery.recipient, out.delivery.token, out.delivery.entry_id)
        table = pq.read_table(out.open())
        out.discard()
        return mark, table, secs


def _drop_one(t: pa.Table, i: int) -> pa.Table:
    return t.drop_columns([t.column_names[i % t.num_columns]])


def _drop_two(t: pa.Table, i: int) -> pa.Table:
    import itertools

    pairs = list(itertools.combinations(t.column_names, 2))
    return t.drop_columns(list(pairs[i % len(pairs)]))


def _all_at_once(t: pa.Table, i: int, tmp: Path) -> pa.Table:
    leak = alter_values(leaks.subset(t, 0.10, i), 0.20, i)
    drop = np.random.default_rng(i).integers(t.num_columns)
    leak = leaks.shuffle(leaks.spreadsheet(leak.drop_columns([t.column_names[drop]])), i)
    return csv_to_xlsx(leak, tmp)


def attacks(tmp: Path) -> dict:
    return {
        "10% subset": lambda t, i: leaks.subset(t, 0.10, i),
        "20% of values altered": lambda t, i: alter_values(t, 0.20, i),
        "each single column dropped": _drop_one,
        "two columns dropped": _drop_two,
        "numbers rounded to 2 decimals, spreadsheet dates": lambda t, i: leaks.spreadsheet(t),
        "rows and columns shuffled": lambda t, i: leaks.shuffle(t, i),
        "CSV to XLSX": lambda t, i: csv_to_xlsx(t, tmp),
        "all at once": lambda t, i: _all_at_once(t, i, tmp),
    }


class Tally:
    def __init__(self) -> None:
        self.trials = self.right = self.false = 0
        self.worst, self.bits, self.pairs = math.inf, [], []
        self.misses: list[str] = []

    def add(self, result, true: set[Mark], score: float, label: str = "") -> None:  # noqa: ANN001
        self.trials += 1
        self.right += result.mark in true
        self.false += result.mark is not None and result.mark not in true
        self.worst = min(self.worst, score)
        self.bits.append(result.bits)
        self.pairs.append(result.order_pairs)
        if result.mark not in true and label:
            self.misses.append(label)

    def report(self) -> dict:
        return {
            "trials": self.trials,
            "right": self.right,
            "rate": round(self.right / max(self.trials, 1), 4),
            "false_attributions": self.false,
            "worst_true_minus_log10_p": round(self.worst, 1),
            "median_cell_bits": int(np.median(self.bits)) if self.bits else 0,
            "median_order_pairs": int(np.median(self.pairs)) if self.pairs else 0,
            **({"missed_when": sorted(set(self.misses))} if self.misses else {}),
        }


def _score(result, marks: set[Mark]) -> float:  # noqa: ANN001
    return max(s for m, s in result.scores if m in marks)


def run(
    keys: list[str],
    *,
    rows: int,
    trials: int,
    xlsx_trials: int,
    n_candidates: int,
    innocent_trials: int,
) -> dict:
    from gongshu.egress.marking import unmarked_columns

    t_start = time.perf_counter()
    door = Door(keys, rows)
    report: dict = {"rows_per_delivery": rows, "candidates_per_trace": n_candidates}
    innocent_logp: list[float] = []
    innocent_named = 0
    tmp = Path(tempfile.mkdtemp())
    for key in keys:
        entry = door.entry(key)
        unmarked = [*unmarked_columns(entry.fields), "_id"]
        tallies = {name: Tally() for name in [*attacks(tmp), "two copies merged"]}
        history: deque[tuple[Mark, pa.Table]] = deque(maxlen=HISTORY)
        # the entry's rows as the door delivers them, for restoring dropped columns: a copy
        # delivered to reader0 whose mark is never a candidate (only canonical values are used)
        _, reference, _ = door.deliver(key, USERS)
        deliver_s, t0 = [], time.perf_counter()
        for i in range(trials):
            mark, table, secs = door.deliver(key, i)
            deliver_s.append(secs)
            fresh = [
                Mark(f"user:{10**6 + j}", secrets.token_hex(8), entry.id)
                for j in range(n_candidates - 1 - len(history))
            ]
            candidates = [mark, *(m for m, _ in history), *fresh]
            for name, attack in attacks(tmp).items():
                if name == "CSV to XLSX" and i >= xlsx_trials:
                    continue
                leak = attack(table, i)
                result = attribute(
                    leak, candidates, door.key, unmarked=unmarked, reference=reference
                )
                label = ",".join(c for c in table.column_names if c not in leak.column_names)
                tallies[name].add(result, {mark}, _score(result, {mark}), label)
            if history:  # the copy of the previous trial's recipient, merged with this one
                other, other_table = history[-1]
                merged = leaks.merge(table, other_table, i)
                result = attribute(
                    merged, candidates, door.key, unmarked=unmarked, reference=reference
                )
                tallies["two copies merged"].add(
                    result, {mark, other}, _score(result, {mark, other})
                )
            if i < innocent_trials:  # this copy's 10% traced against others only
                outsiders = [
                    Mark(f"user:{2 * 10**6 + j}", secrets.token_hex(8), entry.id)
                    for j in range(n_candidates * 10)
                ]
                result = attribute(
                    leaks.subset(table, 0.1, i),
                    outsiders,
                    door.key,
                    unmarked=unmarked,
                    reference=reference,
                )
                innocent_named += result.mark is not None
                innocent_logp.extend(-s for _, s in result.scores)
            history.append((mark, table))
        report[key] = {
            "columns": table.column_names,
            "unmarked": unmarked,
            "deliver_median_s": round(float(np.median(deliver_s)), 3),
            "seconds": round(time.perf_counter() - t0, 1),
            "attacks": {name: t.report() for name, t in tallies.items()},
        }
        print(key, report[key], file=sys.stderr, flush=True)
    lp = np.array(innocent_logp)
    threshold = FAMILY_ALPHA / (n_candidates * 10)
    report["innocence"] = {
        "trials": innocent_trials * len(keys),
        "candidates_per_trial": n_candidates * 10,
        "innocent_tests": int(lp.size),
        "per_candidate_threshold": threshold,
        "trials_with_a_false_attribution": innocent_named,
        "innocent_p_below_threshold": int(np.sum(lp <= math.log10(threshold))),
        "share_p_le_0.01": float(np.mean(lp <= -2)),
        "share_p_le_0.001": float(np.mean(lp <= -3)),
        "smallest_innocent_p": float(10 ** lp.min()),
    }
    report["seconds"] = round(time.perf_counter() - t_start, 1)
    door.instance.close()
    return report
