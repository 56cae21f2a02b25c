"""Discovery against Microsoft Presidio's analyzer, in the same process (issue 3 item 7).

Presidio is installed only for this benchmark, never for the platform:

    .venv/bin/pip install presidio-analyzer
    .venv/bin/python benchmarks/bench_presidio.py --rows 1000000 --presidio-rows 2000

There is no spaCy model on this machine (no downloads at run time), so Presidio
runs its pattern recognizers over a blank spaCy pipeline, which flatters it:
with a real NER model it is slower still. To make the baseline fair it gets
custom recognizers for Chinese resident IDs (GB 11643 check digit validated)
and mobile numbers (+86, spaces and dashes), beside its built-in ones (e-mail,
credit card with Luhn, IP, phone, ...).

Measured in the same run on the table of bench_scan.py (1,000,000 x 12):
Presidio's cells/s on the first ``--presidio-rows`` rows (it is far too slow for
all of them) against gongshu's full scan of every row; and F1 of both on
shared/datasets/discovery-dev, Presidio deciding a column's entity when at least
half of its sampled values carry it.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEV = ROOT.parent / "shared" / "datasets" / "discovery-dev"
TODAY = date(2026, 11, 22)
TYPE_MAP = {
    "CN_RESIDENT_ID": "CN_RESIDENT_ID",
    "CN_MOBILE": "CN_MOBILE",
    "EMAIL_ADDRESS": "EMAIL",
    "CREDIT_CARD": "BANK_CARD",
    "IP_ADDRESS": "IP_ADDRESS",
    "PERSON": "PERSON_NAME",
    "LOCATION": "ADDRESS",
    "PHONE_NUMBER": "CN_LANDLINE",
}


def analyzer():  # noqa: ANN201
    import spacy
    from presidio_analyzer import AnalyzerEngine, Pattern, PatternRecognizer, RecognizerRegistry
    from presidio_analyzer.nlp_engine import SpacyNlpEngine

    from gongshu.identifiers import is_resident_id

    class ResidentId(PatternRecognizer):
        def validate_result(self, pattern_text: str) -> bool:
            return is_resident_id(pattern_text, today=TODAY)

    engine = SpacyNlpEngine(models=[{"lang_code": "en", "model_name": "blank"}])
    engine.nlp = {"en": spacy.blank("en")}
    registry = RecognizerRegistry()
    registry.load_predefined_recognizers(languages=["en"])
    registry.add_recognizer(
        ResidentId(
            supported_entity="CN_RESIDENT_ID",
            patterns=[Pattern("gb11643", r"(?<!\d)\d{17}[\dXx](?!\d)", 0.6)],
        )
    )
    registry.add_recognizer(
        PatternRecognizer(
            supported_entity="CN_MOBILE",
            patterns=[
                Pattern(
                    "cn-mobile", r"(?<!\d)(?:\+?86[- ]?)?1[3-9]\d[- ]?\d{4}[- ]?\d{4}(?!\d)", 0.6
                )
            ],
        )
    )
    return AnalyzerEngine(nlp_engine=engine, registry=registry)


def presidio_columns(an, table, sample: int = 200) -> dict[str, set[str]]:  # noqa: ANN001
    out = {}
    for name in table.column_names:
        values = [v for v in table.column(name).to_pylist() if v not in (None, "")][:sample]
        hits: dict[str, int] = {}
        for v in values:
            for t in {r.entity_type for r in an.analyze(text=str(v), language="en")}:
                hits[t] = hits.get(t, 0) + 1
        out[name] = {
            TYPE_MAP[t] for t, n in hits.items() if t in TYPE_MAP and n >= max(1, len(values)) / 2
        }
    return out


def f1(pairs) -> float:  # noqa: ANN001
    tp = fp = fn = 0
    for want, got in pairs:
        tp, fp, fn = tp + len(want & got), fp + len(got - want), fn + len(want - got)
    p, r = tp / max(tp + fp, 1), tp / max(tp + fn, 1)
    return 2 * p * r / max(p + r, 1e-9)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--presidio-rows", type=int, default=2000)
    args = parser.parse_args()
    import pyarrow as pa
    import pyarrow.csv as pacsv
    from bench_scan import generate

    from gongshu.discovery import scan_paths
    from gongshu.tabular import open_table

    path = Path(tempfile.gettempdir()) / "gongshu-bench" / f"people_{args.rows}x12.csv"
    if not path.exists():
        generate(args.rows, path)
    an = analyzer()
    head = pacsv.read_csv(
        path,
        read_options=pacsv.ReadOptions(block_size=1 << 20),
        convert_options=pacsv.ConvertOptions(
            column_types={c: "string" for c in open_table(path).columns}
        ),
    )
    head = head.slice(0, args.presidio_rows)
    cells = head.num_rows * head.num_columns
    t = time.perf_counter()
    for col in head.columns:
        for v in col.to_pylist():
            an.analyze(text=str(v), language="en")
    presidio_rate = cells / (time.perf_counter() - t)

    t = time.perf_counter()
    report = scan_paths([path], today=TODAY)
    ours_seconds = time.perf_counter() - t
    ours_rate = report["tables"][0]["rows"] * 12 / ours_seconds

    labels = json.loads((DEV / "labels.json").read_text(encoding="utf-8"))
    ours = scan_paths([DEV / f for f in labels], today=TODAY)
    ours_pairs = [
        (set(labels[Path(t["source"]).name]["columns"][c["name"]]), set(c["entities"]))
        for t in ours["tables"]
        for c in t["columns"]
    ]
    theirs_pairs = []
    for f, spec in labels.items():
        stream = open_table(DEV / f)
        table = pa.Table.from_batches(list(stream.batches))
        found = presidio_columns(an, table)
        theirs_pairs += [(set(codes), found.get(c, set())) for c, codes in spec["columns"].items()]

    print(f"presidio analyzer   {presidio_rate:12,.0f} cells/s  ({cells:,} cells)")
    print(
        f"gongshu full scan   {ours_rate:12,.0f} cells/s  ({args.rows * 12:,} cells, "
        f"{ours_seconds:.2f} s)   ratio {ours_rate / presidio_rate:,.0f}x"
    )
    print(f"F1 on discovery-dev: gongshu {f1(ours_pairs):.4f}   presidio {f1(theirs_pairs):.4f}")


if __name__ == "__main__":
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    main()
