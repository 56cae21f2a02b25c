"""RFC 6962 Merkle trees (section 2.1), parametrized by hash algorithm.

The ledger uses SM3 (GB/T 32905, SEC-9 national algorithms); the tests also
run SHA-256 so the certificate-transparency reference vectors apply.

- leaf hash   = H(0x00 || data)
- node hash   = H(0x01 || left || right)
- MTH({})     = H("")
- MTH(D[n])   = node(MTH(D[0:k]), MTH(D[k:n])), k the largest power of 2 < n

Trees are built level by level (``build_levels``), so the root of every
prefix size (each checkpoint) is read off in O(log n) once the levels exist.
Inclusion and consistency proofs and their verifiers follow RFC 9162 2.1.3
and 2.1.4.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from functools import cache

from cryptography.hazmat.primitives import hashes

HashFn = Callable[[bytes], bytes]

DEFAULT_ALGORITHM = "sm3"

_CRYPTOGRAPHY = {"sm3": hashes.SM3, "sha256": hashes.SHA256}


@cache
def hash_function(algorithm: str = DEFAULT_ALGORITHM) -> HashFn:
    """Return ``bytes -> digest`` for ``algorithm`` ("sm3" or "sha256")."""
    name = algorithm.lower()
    if name not in _CRYPTOGRAPHY:
        raise ValueError(f"unsupported hash algorithm: {algorithm}")
    try:
        hashlib.new(name)
    except ValueError:  # an OpenSSL without SM3 in hashlib: use cryptography
        cls = _CRYPTOGRAPHY[name]

        def digest(data: bytes) -> bytes:
            h = hashes.Hash(cls())
            h.update(data)
            return h.finalize()

        return digest

    def fast(data: bytes) -> bytes:
        return hashlib.new(name, data).digest()

    return fast


def leaf_hash(data: bytes, algorithm: str = DEFAULT_ALGORITHM) -> bytes:
    return hash_function(algorithm)(b"\x00" + data)


def node_hash(left: bytes, right: bytes, algorithm: str = DEFAULT_ALGORITHM) -> bytes:
    return hash_function(algorithm)(b"\x01" + left + right)


def empty_root(algorithm: str = DEFAULT_ALGORITHM) -> bytes:
    return hash_function(algorithm)(b"")


def _split(n: int) -> int:
    """The largest power of two strictly smaller than ``n`` (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def build_levels(leaves: Sequence[bytes], algorithm: str = DEFAULT_ALGORITHM) -> list[list[bytes]]:
    """Hashes of every perfect subtree: ``levels[j][i]`` covers leaves
    ``[i * 2**j, (i + 1) * 2**j)``. Built bottom-up in one pass per level."""
    h = hash_function(algorithm)
    levels = [list(leaves)]
    current = levels[0]
    while len(current) > 1:
        current = [h(b"\x01" + current[i] + current[i + 1]) for i in range(0, len(current) - 1, 2)]
        levels.append(current)
    return levels


def root_from_levels(
    levels: list[list[bytes]], size: int, algorithm: str = DEFAULT_ALGORITHM
) -> bytes:
    """MTH of the first ``size`` leaves, read off prebuilt ``levels``.

    The RFC 6962 tree of ``size`` leaves is the right fold of its perfect
    "peaks", one per set bit of ``size``, largest (leftmost) first."""
    if size == 0:
        return empty_root(algorithm)
    if size > len(levels[0]):
        raise ValueError(f"tree size {size} exceeds {len(levels[0])} leaves")
    h = hash_function(algorithm)
    peaks: list[bytes] = []
    offset = 0
    for bit in range(size.bit_length() - 1, -1, -1):
        if size & (1 << bit):
            peaks.append(levels[bit][offset >> bit])
            offset += 1 << bit
    root = peaks[-1]
    for peak in reversed(peaks[:-1]):
        root = h(b"\x01" + peak + root)
    return root


def peaks_from_levels(levels: list[list[bytes]], size: int) -> list[bytes]:
    """The perfect subtrees ("peaks") of the first ``size`` leaves, largest first:
    with them a tree grows by new leaves without its old ones (``extend_peaks``)."""
    peaks, offset = [], 0
    for bit in range(size.bit_length() - 1, -1, -1):
        if size & (1 << bit):
            peaks.append(levels[bit][offset >> bit])
            offset += 1 << bit
    return peaks


def extend_peaks(
    peaks: Sequence[bytes], size: int, leaves: Sequence[bytes], algorithm: str = DEFAULT_ALGORITHM
) -> list[bytes]:
    """The peaks of the tree of ``size`` leaves with ``leaves`` appended: a binary
    counter, each new leaf merging equal-sized peaks on the right. O(k log n)."""
    h = hash_function(algorithm)
    stack = [(p, 1 << bit) for p, bit in zip(peaks, _bits(size), strict=True)]
    for leaf in leaves:
        node, width = leaf, 1
        while stack and stack[-1][1] == width:
            left, _ = stack.pop()
            node, width = h(b"\x01" + left + node), width * 2
        stack.append((node, width))
    return [p for p, _ in stack]


def _bits(size: int) -> list[int]:
    return [b for b in range(size.bit_length() - 1, -1, -1) if size & (1 << b)]


def root_from_peaks(peaks: Sequence[bytes], algorithm: str = DEFAULT_ALGORITHM) -> bytes:
    """MTH from a tree's peaks: their right fold (RFC 6962 2.1)."""
    if not peaks:
        return empty_root(algorithm)
    h = hash_function(algorithm)
    root = peaks[-1]
    for peak in reversed(peaks[:-1]):
        root = h(b"\x01" + peak + root)
    return root


def prefixed_hasher(prefix: bytes, algorithm: str = DEFAULT_ALGORITHM) -> HashFn:
    """``data -> H(prefix || data)`` with the prefix absorbed once (hashlib's ``copy``):
    a quarter faster per call than hashing the concatenation, for the many small
    leaves and nodes a whole-ledger verification hashes."""
    name = algorithm.lower()
    try:
        start = hashlib.new(name)
    except ValueError:  # no SM3 in this hashlib: the portable function
        h = hash_function(algorithm)
        return lambda data: h(prefix + data)
    start.update(prefix)

    def digest(data: bytes) -> bytes:
        running = start.copy()
        running.update(data)
        return running.digest()

    return digest


class Accumulator:
    """A tree grown one leaf hash at a time, holding only its peaks (one per set bit
    of its size): O(log n) memory for any size, one node hash per leaf on average.
    ``root()`` is the RFC 6962 root of the leaves so far."""

    def __init__(self, algorithm: str = DEFAULT_ALGORITHM) -> None:
        self.algorithm = algorithm
        self.size = 0
        self.peaks: list[bytes] = []
        self._node = prefixed_hasher(b"\x01", algorithm)

    def add(self, leaf: bytes) -> None:
        node, size, peaks = leaf, self.size, self.peaks
        while size & 1:  # equal-sized peaks merge, as a binary counter carries
            node = self._node(peaks.pop() + node)
            size >>= 1
        peaks.append(node)
        self.size += 1

    def root(self) -> bytes:
        return root_from_peaks(self.peaks, self.algorithm)


def tree_root(leaf_hashes: Sequence[bytes], algorithm: str = DEFAULT_ALGORITHM) -> bytes:
    """MTH over already-hashed leaves (RFC 6962 2.1)."""
    if not leaf_hashes:
        return empty_root(algorithm)
    return root_from_levels(build_levels(leaf_hashes, algorithm), len(leaf_hashes), algorithm)


def _subtree(leaves: Sequence[bytes], algorithm: str) -> bytes:
    return tree_root(leaves, algorithm)


def inclusion_proof(
    leaf_hashes: Sequence[bytes], index: int, algorithm: str = DEFAULT_ALGORITHM
) -> list[bytes]:
    """Audit path PATH(m, D[n]) for leaf ``index`` in the tree of all ``leaf_hashes``."""
    n = len(leaf_hashes)
    if not 0 <= index < n:
        raise ValueError(f"leaf index {index} outside tree of size {n}")
    if n == 1:
        return []
    k = _split(n)
    if index < k:
        return inclusion_proof(leaf_hashes[:k], index, algorithm) + [
            _subtree(leaf_hashes[k:], algorithm)
        ]
    return inclusion_proof(leaf_hashes[k:], index - k, algorithm) + [
        _subtree(leaf_hashes[:k], algorithm)
    ]


def verify_inclusion(
    leaf: bytes,
    index: int,
    size: int,
    proof: Sequence[bytes],
    root: bytes,
    algorithm: str = DEFAULT_ALGORITHM,
) -> bool:
    """RFC 9162 2.1.3.2: does ``proof`` place ``leaf`` (a leaf hash) at ``index``?"""
    if index >= size or index < 0:
        return False
    h = hash_function(algorithm)
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = h(b"\x01" + p + r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = h(b"\x01" + r + p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def consistency_proof(
    leaf_hashes: Sequence[bytes], old_size: int, algorithm: str = DEFAULT_ALGORITHM
) -> list[bytes]:
    """PROOF(m, D[n]): shows the tree of ``old_size`` leaves is a prefix of all ``leaf_hashes``."""
    n = len(leaf_hashes)
    if not 0 < old_size <= n:
        raise ValueError(f"old size {old_size} outside 1..{n}")
    return _subproof(leaf_hashes, old_size, True, algorithm)


def _subproof(leaves: Sequence[bytes], m: int, complete: bool, algorithm: str) -> list[bytes]:
    n = len(leaves)
    if m == n:
        return [] if complete else [_subtree(leaves, algorithm)]
    k = _split(n)
    if m <= k:
        return _subproof(leaves[:k], m, complete, algorithm) + [_subtree(leaves[k:], algorithm)]
    return _subproof(leaves[k:], m - k, False, algorithm) + [_subtree(leaves[:k], algorithm)]


def verify_consistency(
    old_size: int,
    new_size: int,
    old_root: bytes,
    new_root: bytes,
    proof: Sequence[bytes],
    algorithm: str = DEFAULT_ALGORITHM,
) -> bool:
    """RFC 9162 2.1.4.2: is the tree ``old_root`` of ``old_size`` a prefix of ``new_root``?"""
    if old_size < 1 or old_size > new_size:
        return False
    if old_size == new_size:
        return not proof and old_root == new_root
    if not proof:
        return False
    h = hash_function(algorithm)
    path = list(proof)
    if old_size & (old_size - 1) == 0:  # exact power of two
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = h(b"\x01" + c + fr)
            sr = h(b"\x01" + c + sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = h(b"\x01" + sr + c)
        fn >>= 1
        sn >>= 1
    return fr == old_root and sr == new_root and sn == 0
