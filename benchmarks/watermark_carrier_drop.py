"""All at once with the entry's former only carrier column dropped (issue 16 item 9).

    nice .venv/bin/python benchmarks/watermark_carrier_drop.py [TRIALS]

Before the masked addresses carried marks, an open delivery of 养老机构信息 had its
cell marks in 联系电话 alone and one of 食品经营许可 in 法定代表人 alone; the "all at
once" attack of ``bench_watermark.py door`` missed every trial that dropped that
column. Here every trial drops it: a fresh open delivery (the bench's ``Door``),
10% of its rows, 20% of values altered, that column dropped, spreadsheet forms,
rows and columns shuffled, through XLSX; traced as the bench traces (the true
delivery, the 20 before it, fresh marks: 100 candidates; the entry's rows as a
reference), then the same leak against the 99 others alone (nobody may be named).
Prints one JSON document.
"""

from __future__ import annotations

import json
import math
import secrets
import sys
import time
from collections import deque
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import watermark_door as wd  # noqa: E402

from gongshu.egress.marking import unmarked_columns  # noqa: E402
from gongshu.protect.watermark import Mark  # noqa: E402
from gongshu.protect.watermark_trace import attribute  # noqa: E402

CARRIER = {"yljg": "联系电话", "spjy": "法定代表人"}


def main(trials: int) -> dict:
    wd.OUT = wd.OUT.parent / "watermark_carrier"
    door = wd.Door(list(CARRIER), 5000)
    tmp = wd.OUT / "xlsx"
    tmp.mkdir()
    report: dict = {}
    t0 = time.perf_counter()
    for key, carrier in CARRIER.items():
        entry = door.entry(key)
        unmarked = [*unmarked_columns(entry.fields), "_id"]
        _, reference, _ = door.deliver(key, wd.USERS)
        history: deque = deque(maxlen=wd.HISTORY)
        right = false = innocent_named = 0
        worst, bits = math.inf, []
        for i in range(trials):
            mark, table, _ = door.deliver(key, i)
            fresh = [
                Mark(f"user:{10**6 + j}", secrets.token_hex(8), entry.id)
                for j in range(99 - len(history))
            ]
            others = [*(m for m, _ in history), *fresh]
            leak = wd.alter_values(wd.leaks.subset(table, 0.10, i), 0.20, i)
            leak = wd.leaks.shuffle(wd.leaks.spreadsheet(leak.drop_columns([carrier])), i)
            leak = wd.csv_to_xlsx(leak, tmp)
            r = attribute(leak, [mark, *others], door.key, unmarked=unmarked, reference=reference)
            right += r.mark == mark
            false += r.mark is not None and r.mark != mark
            worst = min(worst, max(s for m, s in r.scores if m == mark))
            bits.append(r.bits)
            alone = attribute(leak, others, door.key, unmarked=unmarked, reference=reference)
            innocent_named += alone.mark is not None
            history.append((mark, table))
        report[key] = {
            "dropped": carrier,
            "trials": trials,
            "right": right,
            "false_attributions": false,
            "worst_true_minus_log10_p": round(worst, 1),
            "median_cell_bits": int(np.median(bits)),
            "traces_against_innocents_only": trials,
            "of_which_named_somebody": innocent_named,
        }
        print(key, report[key], file=sys.stderr, flush=True)
    report["seconds"] = round(time.perf_counter() - t0, 1)
    door.instance.close()
    return report


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]) if len(sys.argv) > 1 else 50), ensure_ascii=False))
