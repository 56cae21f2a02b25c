"""Recipient watermarks on delivered rows and tracing of leaked files (issue 4 item 5).

``embed`` hides one bit in each carrier cell of a delivery (see
``watermark_channels``: low-order digit parity of numerics on their grid,
seconds parity of date-times, 3 vs 4 stars in an open-ended mask run). Which
bit a cell carries is decided by

    slot  = mix(SM4_Ka(compress(anchor canonical value) ^ tweak(anchor column)) ^ salt(t))
    bit_r = top bit of mix(mix(slot ^ s1_r) + s2_r)

where ``Ka = HKDF-SM3(key, "gongshu/watermark/anchor")`` and
``(s1_r, s2_r) = HMAC-SM3(HKDF-SM3(key, "gongshu/watermark/recipient"),
recipient|delivery|entry)``. The *anchor* of cell (row, t) is t's own
canonical value when it is distinctive (four digits or more, channel
stripped); otherwise the value, among the row's distinctive canonical
values, with the highest keyed score for t (rendezvous hashing): a dropped
column only loses the cells it anchored, because the winner among the
surviving columns is unchanged when it survives. Rows are thus
re-identified from their own content, whatever the row order, the subset or
the column order; nothing depends on the batch a row was delivered in, so
the egress door can call ``embed`` batch by batch.

``attribute`` (in ``watermark_trace``) reads every carrier bit of the leaked
table, merges the cells that share a slot (majority), and for each candidate
counts agreements. For a
delivery that is not the source, its bits are independent fair coins, so the
count is Binomial(n, 1/2); the p-value is that exact upper tail. A candidate
is attributed only when its p-value is at most ``FAMILY_ALPHA / len(candidates)``
(Bonferroni), so the chance that any innocent delivery is named is at most
``FAMILY_ALPHA`` = 1e-7 per trace.

The SM4 block function is the per-value PRF because HMAC-SM3 costs about
3 µs per call from Python (1,000,000 rows x 5 anchor columns would take
15 s); SM4-ECB through OpenSSL handles the same in a fraction of a second.
With ``reorder`` (the egress door, unless the caller asked for a sort) the
row order is a channel too, within blocks of 8 rows (``watermark_rows``): it
survives any column drop, so a leaker who drops every cell carrier is still
traced while the rows keep their order.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from functools import cached_property, lru_cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from gongshu.protect import watermark_channels as ch
from gongshu.protect import watermark_marks as marks
from gongshu.protect import watermark_rows as rows_
from gongshu.protect import watermark_text as text_view
from gongshu.protect import watermark_typed as typed
from gongshu.protect.crypto import derive_key, hmac_sm3_keyed
from gongshu.protect.errors import InvalidParameter

FAMILY_ALPHA = 1e-7
_KEY_LIKE = ("id", "_id", "编号", "代码", "序号", "code", "_no")
_TOP = np.uint64(63)
_NEXT = np.uint64(62)
_ONE = np.uint64(1)


@dataclass(frozen=True)
class Mark:
    """What the egress door stores for each delivery."""

    recipient: str
    delivery_id: str
    entry_id: int


class _Keys:
    def __init__(self, key: bytes) -> None:
        if not key:
            raise InvalidParameter("watermark", "key", "水印密钥不能为空")
        anchor = derive_key(key, "gongshu/watermark/anchor", 16)
        self._sm4 = Cipher(algorithms.SM4(anchor), modes.ECB())
        self._recipient = hmac_sm3_keyed(derive_key(key, "gongshu/watermark/recipient"))

    def prf(self, h1: np.ndarray, h2: np.ndarray) -> np.ndarray:
        blocks = np.stack([h1, h2], axis=1).astype(">u8").tobytes()
        enc = self._sm4.encryptor()  # one per call: a cached _Keys is shared by threads
        out = enc.update(blocks) + enc.finalize()
        return np.frombuffer(out, dtype=">u8").reshape(-1, 2)[:, 0].astype(np.uint64)

    def words(self, mark: Mark) -> tuple[np.uint64, np.uint64]:
        msg = f"{mark.recipient}\x1f{mark.delivery_id}\x1f{mark.entry_id}".encode()
        d = self._recipient(msg)
        return np.uint64(int.from_bytes(d[:8], "big")), np.uint64(int.from_bytes(d[8:16], "big"))


def _keys(key: bytes) -> _Keys:
    """The derived keys of ``key``: two HKDF runs and an SM4 schedule, once per instance key."""
    if not key:
        return _Keys(key)  # (refused)
    return _derived(bytes(key))  # (a bytearray or memoryview is not hashable)


@lru_cache(maxsize=16)
def _derived(key: bytes) -> _Keys:
    return _Keys(key)


def _bits(slots: np.ndarray, s1: np.ndarray, s2: np.ndarray) -> np.ndarray:
    """Recipient-keyed 64-bit words per slot; broadcasts (k, 1) salts over (n,) slots."""
    return ch.mix(ch.mix(slots ^ s1) + s2)


def _flat(col: pa.ChunkedArray | pa.Array) -> pa.Array:
    if isinstance(col, pa.ChunkedArray):
        return col.combine_chunks() if col.num_chunks != 1 else col.chunk(0)
    return col


@dataclass
class _Column:
    """A column as its distinct values (then one null) and, per row, its value's position.

    Everything that depends on a value alone (its text view, canonical form,
    keyed digest, the marked alternatives) is computed once per distinct value
    and gathered to the rows with ``rows``: a column of 65,536 rows usually
    holds a few thousand distinct masked values. A column of mostly distinct
    values keeps one value per row (``index`` is the identity).
    """

    values: pa.Array
    index: np.ndarray
    view: ch.View | None
    per_row: bool = False

    def rows(self, per_value: np.ndarray) -> np.ndarray:
        return per_value[self.index]


DISTINCT_SHARE = 0.5  # above this share of distinct values, work per row instead


def reads_per_row(t: pa.DataType) -> bool:
    """Numbers and zone-less times are read arithmetically, per row (watermark_typed)."""
    return (
        pa.types.is_integer(t)
        or (pa.types.is_decimal(t) and t.bit_width == 128)
        or (pa.types.is_timestamp(t) and not t.tz)
    )


def _column(arr: pa.Array | pa.ChunkedArray, *, encode: bool = True) -> _Column:
    arr = _flat(arr)
    n = len(arr)
    encoded = None
    if pa.types.is_dictionary(arr.type):
        encoded = arr
    elif n and encode and not reads_per_row(arr.type):
        try:
            candidate = pc.dictionary_encode(arr)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            candidate = None
        if candidate is not None and len(candidate.dictionary) <= DISTINCT_SHARE * n:
            encoded = candidate
    if encoded is None:
        values, index, weights = arr, np.arange(n), None
    else:
        dictionary = encoded.dictionary
        m = len(dictionary)
        values = pa.concat_arrays([dictionary, pa.nulls(1, dictionary.type)])
        index = _np_index(encoded.indices, m)
        weights = np.bincount(index, minlength=m + 1)
    view = typed.view(values, weights)
    if view is None:
        text = ch.render(values)
        view = None if text is None else text_view.view(text, ch.kinds_for(values.type), weights)
        if view is not None and pa.types.is_string(values.type):
            rows_.normalize_dates(values, view)  # a spreadsheet's 1997/5/10 still anchors
    return _Column(values, index, view, per_row=encoded is None)


def _np_index(indices: pa.Array, null_at: int) -> np.ndarray:
    if indices.null_count:
        indices = pc.fill_null(indices, null_at)
    return np.asarray(indices.to_numpy(zero_copy_only=False), np.int64)


def _decoded(arr: pa.Array | pa.ChunkedArray) -> pa.Array:
    arr = _flat(arr)
    return arr.dictionary_decode() if pa.types.is_dictionary(arr.type) else arr


class _Anchors:
    """Keyed anchor digests of every column, and the slot of each (row, target column)."""

    def __init__(self, cols: dict[str, _Column], keys: _Keys, n: int) -> None:
        self.names = list(cols)
        self._cols = cols
        self.digest = np.zeros((len(cols), n), np.uint64)
        self.eligible = np.zeros((len(cols), n), bool)
        self.rank = np.zeros((len(cols), n), np.int8)  # digits, capped (the row order's anchor)
        anchoring = []
        for i, name in enumerate(self.names):
            col = cols[name]
            # only distinctive values (four digits or more) anchor a row
            counts = col.view.digit_counts()
            ok = (counts >= ch.ANCHOR_DIGITS) & col.view.present
            self.eligible[i] = col.rows(ok)
            self.rank[i] = col.rows(np.minimum(counts, rows_.RANK_CAP))
            if np.count_nonzero(ok):
                anchoring.append((i, ok))
        if not anchoring:
            return
        # the columns' hashes in one batch, then one SM4 pass over all their distinctive
        # values (ECB: the blocks are independent)
        ch.compress_views([cols[self.names[i]].view for i, _ in anchoring])
        h1s, h2s = [], []
        for i, ok in anchoring:
            h1, h2, _ = cols[self.names[i]].view.compressed()
            h1s.append(h1[ok] ^ ch.name_word("anchor", self.names[i]))
            h2s.append(h2[ok])
        digests = keys.prf(np.concatenate(h1s), np.concatenate(h2s))
        lo = 0
        for i, ok in anchoring:
            digest = np.zeros(len(ok), np.uint64)
            hi = lo + np.count_nonzero(ok)
            digest[ok] = digests[lo:hi]
            lo = hi
            self.digest[i] = cols[self.names[i]].rows(digest)

    def row_digest(self) -> tuple[np.ndarray, np.ndarray]:
        """(digest, has one) per row: what the row order is keyed on (``watermark_rows``)."""
        return rows_.row_digest(self.digest, self.eligible, self.rank)

    @cached_property
    def value(self) -> np.ndarray:
        """Unkeyed digests of every cell's canonical value, to compare with an original."""
        ch.compress_views([col.view for col in self._cols.values()])
        value = np.zeros(self.digest.shape, np.uint64)
        for i, name in enumerate(self.names):
            col = self._cols[name]
            h1, h2, _ = col.view.compressed()
            value[i] = col.rows(ch.mix(h1 ^ ch.name_word("value", name)) ^ h2)
        return value

    def slots(
        self, target: str, *, other: bool = True
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
        """(slot, has an anchor, anchor column, best other column) per row for ``target``.

        A distinctive value anchors itself (it survives any column drop that
        leaves it); other cells go to the rendezvous winner among the row's
        distinctive values (computed only for them, unless ``other`` is asked).
        """
        n = self.digest.shape[1]
        own = self.names.index(target) if target in self.names else None
        if own is not None and not other:
            # only the rows the target's own value cannot anchor
            rows = np.flatnonzero(~self.eligible[own])
            winner = np.full(n, own, np.intp)
            if len(rows):
                winner[rows] = self._rendezvous(target, rows)[0]
            runner = None
        else:
            winner, runner = self._rendezvous(target, slice(None), own)
            if own is not None:
                winner = np.where(self.eligible[own], own, winner)
            runner = runner if other else None
        ok = self.eligible.any(axis=0)
        chosen = self.digest[winner, np.arange(n)]
        slot = ch.mix(chosen ^ ch.name_word("slot", target))
        return slot, ok, winner, runner

    def _rendezvous(
        self, target: str, rows: slice | np.ndarray, own: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Per row, the column with the highest keyed score among those whose values have
        the most digits (``watermark_rows.winner``), and the same among the columns other
        than ``own`` (no column eligible: column 0)."""
        word = ch.name_word("rendezvous", target)
        digest, eligible, rank = self.digest[:, rows], self.eligible[:, rows], self.rank[:, rows]
        winner = rows_.winner(digest, eligible, rank, word)
        if own is None:
            return winner, winner
        eligible = eligible.copy()
        eligible[own] = False
        return winner, rows_.winner(digest, eligible, rank, word)


def _columns(table: pa.Table, per_row: Collection[str] = ()) -> dict[str, _Column]:
    out: dict[str, _Column] = {}
    for name in table.column_names:
        col = _column(table.column(name), encode=name not in per_row)
        if col.view is not None:
            out[name] = col
    return out


def _key_name(name: str) -> bool:
    lowered = name.lower()
    return lowered == "id" or any(lowered.endswith(s) for s in _KEY_LIKE)


def _key_like(name: str, arr: pa.Array) -> bool:
    """Integer identifiers (by name, or all distinct and dense) must never move by one."""
    if _key_name(name):
        return True
    values = np.asarray(pc.drop_null(arr).to_numpy(zero_copy_only=False), dtype=np.float64)
    if values.size < 50:
        return False
    span = values.max() - values.min() + 1
    return len(np.unique(values)) == values.size and span <= 2 * values.size


def embed(
    table: pa.Table,
    mark: Mark,
    key: bytes,
    *,
    protected: Collection[str] = (),
    per_row: Collection[str] = (),
    masked: Collection[str] = (),
    reorder: bool = False,
) -> pa.Table:
    """The same rows with ``mark``'s fingerprint hidden in their carrier cells (SHR-5).

    Deterministic for (table, mark, key); row count unchanged, and the schema
    too, except that dictionary-encoded columns come back decoded;
    ``protected`` columns and integer identifiers are not touched (they still
    serve as anchors). ``masked`` names the columns the caller masked: their
    mask runs of any length carry bits (elsewhere only runs of 3-4 stars after
    a visible character do: a footnote star is not a mask). With ``reorder``
    the rows of each block of ``watermark_rows.BLOCK`` are put in the order
    the recipient's keyed scores give (the row-order channel); without it the
    order is unchanged. A row's marks depend on the row alone (and its block),
    so the result is the same whether the table is embedded whole or batch by
    batch (batches of a multiple of ``BLOCK`` rows). ``per_row`` names columns
    known to hold mostly distinct values (the caller has tried): they are not
    dictionary-encoded again. The result does not depend on it.
    """
    schema = pa.schema(
        [
            f.with_type(f.type.value_type) if pa.types.is_dictionary(f.type) else f
            for f in table.schema
        ]
    )
    if table.num_rows == 0:
        return pa.Table.from_arrays([_decoded(c) for c in table.columns], schema=schema)
    keys = _keys(key)
    s1, s2 = keys.words(mark)
    cols = _columns(table, per_row)
    anchors = _Anchors(cols, keys, table.num_rows)
    out = []
    for name, field_ in zip(table.column_names, schema, strict=True):
        arr = _decoded(table.column(name))
        col = cols.get(name)
        if name in protected or col is None:
            out.append(arr)
            continue
        key_like = pa.types.is_integer(field_.type) and _key_like(name, arr)
        writable = marks.writable(field_.type, col.view, key_like, name in masked)
        if not writable.any():
            out.append(arr)
            continue
        slot, ok, _, _ = anchors.slots(name, other=False)
        word = _bits(slot, s1, s2)
        want = (word >> _TOP).astype(np.int8)
        down = ((word >> _NEXT) & _ONE).astype(bool)
        change = col.rows(writable) & ok & (col.rows(col.view.bit) != want)
        out.append(_marked(col, writable, change, down) if change.any() else arr)
    marked = pa.Table.from_arrays(out, schema=schema)
    if reorder:
        order = rows_.permutation(*anchors.row_digest(), s1, s2)
        if (order != np.arange(len(order))).any():
            marked = marked.take(pa.array(order))
    return marked


def _marked(col: _Column, writable: np.ndarray, change: np.ndarray, down: np.ndarray) -> pa.Array:
    """Rows in ``change`` take their value's marked form (one step up, or down where ``down``)."""
    m = len(col.values)
    v = col.view
    want = (1 - v.bit).astype(np.int8)  # a changed cell carries the other bit
    if col.per_row:  # one value per row: change the rows in place
        return marks.write(col.values, v, change, want, down)
    choice = np.where(change, np.where(down, 2, 1), 0)
    forms = [col.values]
    for step in (1, 2):
        used = np.zeros(m, bool)
        used[col.index[choice == step]] = True
        used &= writable
        forms.append(
            marks.write(col.values, v, used, want, np.full(m, step == 2))
            if used.any()
            else col.values
        )
    return pc.take(pa.concat_arrays(forms), pa.array(col.index + m * choice))
