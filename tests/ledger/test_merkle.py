"""RFC 6962 trees against the certificate-transparency reference vectors (SHA-256),
and the same code with SM3 for the ledger."""

from __future__ import annotations

import pytest

from gongshu.ledger import merkle

# certificate-transparency merkle test data: the 8 leaves and MTH of D[0:n].
CT_LEAVES = [
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
]
CT_ROOTS = {
    1: "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    2: "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    3: "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    4: "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    5: "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    6: "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    7: "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    8: "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
}
# (leaf index, tree size, audit path)
CT_INCLUSION = [
    (0, 1, []),
    (
        0,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        [
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (
        1,
        5,
        [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
]
# (old size, new size, consistency proof)
CT_CONSISTENCY = [
    (1, 1, []),
    (
        1,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        [
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
]

SHA = "sha256"


@pytest.fixture(scope="module")
def leaves() -> list[bytes]:
    return [merkle.leaf_hash(bytes.fromhex(d), SHA) for d in CT_LEAVES]


def _hex(items: list[bytes]) -> list[str]:
    return [i.hex() for i in items]


def test_empty_tree_is_hash_of_nothing() -> None:
    assert merkle.tree_root([], SHA).hex() == (
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    )


@pytest.mark.parametrize("size", sorted(CT_ROOTS))
def test_roots_match_ct_vectors(leaves: list[bytes], size: int) -> None:
    assert merkle.tree_root(leaves[:size], SHA).hex() == CT_ROOTS[size]


def test_every_prefix_root_is_read_off_one_build(leaves: list[bytes]) -> None:
    levels = merkle.build_levels(leaves, SHA)
    assert {n: merkle.root_from_levels(levels, n, SHA).hex() for n in CT_ROOTS} == CT_ROOTS


def _naive_root(leaves: list[bytes], algorithm: str) -> bytes:
    """RFC 6962 2.1 written literally, recursively."""
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return merkle.node_hash(
        _naive_root(leaves[:k], algorithm), _naive_root(leaves[k:], algorithm), algorithm
    )


def test_level_build_matches_literal_definition_for_many_sizes() -> None:
    sm3_leaves = [merkle.leaf_hash(str(i).encode()) for i in range(70)]
    levels = merkle.build_levels(sm3_leaves)
    for n in range(1, 71):
        assert merkle.root_from_levels(levels, n) == _naive_root(sm3_leaves[:n], "sm3"), n


@pytest.mark.parametrize(("index", "size", "path"), CT_INCLUSION)
def test_inclusion_proofs_match_ct_vectors(
    leaves: list[bytes], index: int, size: int, path: list[str]
) -> None:
    proof = merkle.inclusion_proof(leaves[:size], index, SHA)
    assert _hex(proof) == path
    root = bytes.fromhex(CT_ROOTS[size])
    assert merkle.verify_inclusion(leaves[index], index, size, proof, root, SHA)


def test_inclusion_proof_rejects_wrong_leaf_or_index(leaves: list[bytes]) -> None:
    proof = merkle.inclusion_proof(leaves, 5, SHA)
    root = bytes.fromhex(CT_ROOTS[8])
    assert not merkle.verify_inclusion(leaves[4], 5, 8, proof, root, SHA)
    assert not merkle.verify_inclusion(leaves[5], 4, 8, proof, root, SHA)
    assert not merkle.verify_inclusion(leaves[5], 5, 8, proof[:-1], root, SHA)
    assert not merkle.verify_inclusion(leaves[5], 8, 8, proof, root, SHA)


def test_every_inclusion_proof_verifies(leaves: list[bytes]) -> None:
    for size in range(1, 9):
        root = bytes.fromhex(CT_ROOTS[size])
        for index in range(size):
            proof = merkle.inclusion_proof(leaves[:size], index, SHA)
            assert merkle.verify_inclusion(leaves[index], index, size, proof, root, SHA)


@pytest.mark.parametrize(("old", "new", "path"), CT_CONSISTENCY)
def test_consistency_proofs_match_ct_vectors(
    leaves: list[bytes], old: int, new: int, path: list[str]
) -> None:
    proof = merkle.consistency_proof(leaves[:new], old, SHA)
    assert _hex(proof) == path
    old_root, new_root = bytes.fromhex(CT_ROOTS[old]), bytes.fromhex(CT_ROOTS[new])
    assert merkle.verify_consistency(old, new, old_root, new_root, proof, SHA)


def test_every_consistency_proof_verifies_and_a_rewrite_does_not(leaves: list[bytes]) -> None:
    for new in range(1, 9):
        for old in range(1, new + 1):
            proof = merkle.consistency_proof(leaves[:new], old, SHA)
            assert merkle.verify_consistency(
                old, new, bytes.fromhex(CT_ROOTS[old]), bytes.fromhex(CT_ROOTS[new]), proof, SHA
            ), (old, new)
    rewritten = list(leaves)
    rewritten[1] = merkle.leaf_hash(b"forged", SHA)
    forged_root = merkle.tree_root(rewritten, SHA)
    proof = merkle.consistency_proof(rewritten, 6, SHA)
    assert not merkle.verify_consistency(6, 8, bytes.fromhex(CT_ROOTS[6]), forged_root, proof, SHA)


def test_sm3_is_the_national_standard_digest() -> None:
    digest = merkle.hash_function("sm3")(b"abc").hex()
    assert digest == "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
    # the ledger's trees use SM3 by default and differ from the SHA-256 tree
    sm3_leaves = [merkle.leaf_hash(bytes.fromhex(d)) for d in CT_LEAVES]
    assert merkle.tree_root(sm3_leaves).hex() != CT_ROOTS[8]
    assert len(merkle.tree_root(sm3_leaves)) == 32


def test_unknown_algorithm_is_refused() -> None:
    with pytest.raises(ValueError):
        merkle.hash_function("md5")
