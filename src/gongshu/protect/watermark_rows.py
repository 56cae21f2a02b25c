"""Row-level parts of the watermark (helpers of ``watermark.py``): row order, spreadsheet dates.

**Row order.** Cell channels need a carrier in the columns a leaker keeps: an
open delivery of a company register has one decimal column and one masked
name, and a leaker who drops both keeps no cell bit. The order of the rows
survives any column drop. ``permutation`` sorts the rows of each block of
``BLOCK`` consecutive rows by a recipient-keyed score of their *row digest*,
the keyed anchor digest of one of the row's distinctive values (rendezvous
among the values with the most digits, capped at ``RANK_CAP``, so a region
code shared by thousands of rows loses to a date or a credit code).
``order_pairs`` reads a leak: rows with a digest, first occurrences only (two
rows with one digest would give dependent bits), paired in leak order
(1st-2nd, 3rd-4th, ...). A pair from one block of the delivery is in the
order its recipient's scores say; for any other delivery the comparison of
two independent keyed scores is a fair coin, and pairs share no digest, so
the bits are independent: the binomial test of ``watermark_trace`` holds.
A shuffle turns the order bits into coins for the recipient too, which is
why the tracer tests the cell bits alone as well as with the order bits.

**Spreadsheet dates.** A spreadsheet that opens a CSV and saves it writes
``1997-05-10`` as ``1997/5/10`` and ``2024-03-05 08:07:09`` as
``2024/3/5 8:07``. ``normalize_dates`` gives such values the canonical hash
of the ISO form (the date, or the date-time without its seconds, which is the
seconds channel's canonical form), so they still anchor their rows.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from gongshu.protect import watermark_channels as ch
from gongshu.protect.watermark_hashes import compress, utf8_bytes

BLOCK = 8  # rows permuted together: a pair read from a leak in order lies in one block
RANK_CAP = 8  # digits: a date (8) ties with a credit code; a region code (6) ranks lower
_SLASH = 47
_DATE_RE = (
    r"^(?P<y>\d{4})/(?P<m>\d{1,2})/(?P<d>\d{1,2})"
    r"(?:[ T](?P<hh>\d{1,2}):(?P<mm>\d{2})(?::\d{2}(?:\.\d+)?)?)?$"
)


def order_word() -> np.uint64:
    return ch.name_word("order", "")


def scores(digest: np.ndarray, s1: np.ndarray, s2: np.ndarray) -> np.ndarray:
    """The recipient-keyed sort score of row digests; broadcasts (k, 1) salts over (n,)."""
    return ch.mix(ch.mix(ch.mix(digest ^ order_word()) ^ s1) + s2)


def winner(
    digest: np.ndarray, eligible: np.ndarray, rank: np.ndarray, word: np.uint64
) -> np.ndarray:
    """Per row (columns of the (columns, rows) arrays), the column with the highest keyed
    score ``digest ^ word`` among the eligible ones of the highest rank (none: column 0).

    Ranking first keeps a value shared by thousands of rows (a region code) from
    anchoring them all when its keyed score happens to be high.
    """
    if not digest.shape[0]:
        return np.zeros(digest.shape[1], np.intp)
    ranked = np.where(eligible, rank, -1)
    top = eligible & (ranked == ranked.max(axis=0))
    return np.argmax(np.where(top, digest ^ word, np.uint64(0)), axis=0)


def row_digest(
    digest: np.ndarray, eligible: np.ndarray, rank: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(digest, has one) per row: the rendezvous winner among the row's top-ranked values.

    ``digest``, ``eligible`` and ``rank`` are (columns, rows), as ``_Anchors`` keeps them.
    """
    n = digest.shape[1]
    has = eligible.any(axis=0)
    if not digest.shape[0] or not has.any():
        return np.zeros(n, np.uint64), has
    return digest[winner(digest, eligible, rank, order_word()), np.arange(n)], has


def permutation(
    digest: np.ndarray, has: np.ndarray, s1: np.uint64, s2: np.uint64, block: int = BLOCK
) -> np.ndarray:
    """Row indices: within each block, the rows with a digest sorted by their keyed score.

    Rows without a digest keep their places; the result depends on the rows
    alone and on their block, so a batch of a multiple of ``block`` rows gives
    the same order as the whole table.
    """
    out = np.arange(len(digest))
    at = np.flatnonzero(has)
    if len(at) < 2:
        return out
    score = scores(digest[at], s1, s2)
    out[at] = at[np.lexsort((score, at // block))]
    return out


def order_pairs(digest: np.ndarray, has: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(earlier, later) row digests of disjoint pairs of a leak, in leak order, no digest twice."""
    at = np.flatnonzero(has)
    _, first = np.unique(digest[at], return_index=True)
    rows = at[np.sort(first)]
    m = len(rows) // 2 * 2
    return digest[rows[0:m:2]], digest[rows[1:m:2]]


def order_agreements(
    earlier: np.ndarray, later: np.ndarray, words: np.ndarray, chunk: int = 64
) -> np.ndarray:
    """Per candidate (rows of ``words``: s1, s2), the pairs its scores put in the leak's order."""
    agree = np.zeros(len(words), np.int64)
    if not len(earlier):
        return agree
    for lo in range(0, len(words), chunk):
        w = words[lo : lo + chunk]
        a = scores(earlier[None, :], w[:, :1], w[:, 1:])
        b = scores(later[None, :], w[:, :1], w[:, 1:])
        agree[lo : lo + chunk] = (a < b).sum(axis=1)
    return agree


def normalize_dates(values: pa.Array, view: ch.View) -> None:
    """Give ``YYYY/M/D[ h:mm[:ss]]`` values the hashes of their ISO form (see above)."""
    if not len(values) or values.null_count == len(values):
        return
    _, data = utf8_bytes(values)
    if not np.count_nonzero(data == _SLASH):
        return
    m = pc.extract_regex(values, _DATE_RE)
    ok = np.asarray(pc.fill_null(pc.is_valid(m), False).to_numpy(zero_copy_only=False), bool)
    if not ok.any():
        return
    m = m.filter(pa.array(ok))

    def part(name: str) -> pa.Array:
        return pc.utf8_lpad(pc.struct_field(m, name), width=2, padding="0")

    date = pc.binary_join_element_wise(pc.struct_field(m, "y"), part("m"), part("d"), "-")
    hh = pc.struct_field(m, "hh")
    clock = pc.binary_join_element_wise(part("hh"), pc.struct_field(m, "mm"), ":")
    timed = pc.binary_join_element_wise(date, clock, " ")
    iso = pc.if_else(pc.equal(pc.utf8_length(hh), 0), date, timed)
    h1, h2, digits = (x.copy() for x in view.compressed())
    n1, n2, nd = compress(iso)
    h1[ok], h2[ok], digits[ok] = n1, n2, nd
    view.hashes = (h1, h2, digits)
