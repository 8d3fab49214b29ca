"""RFC 9162 §2.1 Merkle tree hashing: incremental appends, proofs and their verification.

Leaf hash ``SHA-256(0x00 ‖ leaf)``, interior node ``SHA-256(0x01 ‖ left ‖ right)``. The
tree of ``n`` leaves is represented by its *frontier*: the roots of the perfect subtrees
that the binary decomposition of ``n`` gives, largest (leftmost) first. Appending a leaf
merges equal-sized subtrees like a binary counter, so each append costs O(log n) hashes,
and every perfect subtree root it completes is reported, so a store can keep them and
answer proofs with O(log n) lookups.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()

_sha256 = hashlib.sha256


def leaf_hash(data: bytes) -> bytes:
    return _sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return _sha256(b"\x01" + left + right).digest()


# --- incremental tree ----------------------------------------------------------------


def append_leaf(frontier: list[bytes], size: int, leaf: bytes) -> list[tuple[int, int, bytes]]:
    """Append the leaf hash ``leaf`` to a tree of ``size`` leaves, in place.

    Returns the perfect subtrees completed as ``(level, index, hash)``: the leaf itself at
    level 0, then every subtree the append closes (the node covering leaves
    ``[index·2^level, (index+1)·2^level)``).
    """
    completed = [(0, size, leaf)]
    h = leaf
    level = 0
    while (size >> level) & 1:
        h = node_hash(frontier.pop(), h)
        level += 1
        completed.append((level, size >> level, h))
    frontier.append(h)
    return completed


def root_of(frontier: Sequence[bytes]) -> bytes:
    """The tree head of a frontier: fold the subtree roots from the right."""
    if not frontier:
        return EMPTY_ROOT
    root = frontier[-1]
    for h in reversed(frontier[:-1]):
        root = node_hash(h, root)
    return root


def pack(frontier: Sequence[bytes]) -> bytes:
    return b"".join(frontier)


def unpack(data: bytes | None) -> list[bytes]:
    data = data or b""
    return [bytes(data[i : i + HASH_SIZE]) for i in range(0, len(data), HASH_SIZE)]


# --- proofs from stored perfect subtrees ---------------------------------------------

NodeKey = tuple[int, int]  # (level, index)


def _largest_power_below(n: int) -> int:
    """The largest power of two strictly smaller than ``n`` (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def _perfect_parts(start: int, end: int) -> list[NodeKey]:
    """The aligned perfect subtrees MTH(D[start:end]) is built from, left to right."""
    parts = []
    while start < end:
        size = end - start
        if size & (size - 1) == 0 and start % size == 0:
            parts.append((size.bit_length() - 1, start >> (size.bit_length() - 1)))
            break
        k = _largest_power_below(size)
        parts.append(((k.bit_length() - 1), start >> (k.bit_length() - 1)))
        start += k
    return parts


def _path_ranges(m: int, start: int, end: int) -> list[tuple[int, int]]:
    """The subtree ranges of PATH(m, D[start:end]) (RFC 9162 §2.1.3.1), leaf first."""
    n = end - start
    if n <= 1:
        return []
    k = _largest_power_below(n)
    if m < k:
        return [*_path_ranges(m, start, start + k), (start + k, end)]
    return [*_path_ranges(m - k, start + k, end), (start, start + k)]


def _subproof_ranges(m: int, start: int, end: int, whole: bool) -> list[tuple[int, int]]:
    """The subtree ranges of SUBPROOF(m, D[start:end], b) (RFC 9162 §2.1.4.1)."""
    n = end - start
    if m == n:
        return [] if whole else [(start, end)]
    k = _largest_power_below(n)
    if m <= k:
        return [*_subproof_ranges(m, start, start + k, whole), (start + k, end)]
    return [*_subproof_ranges(m - k, start + k, end, False), (start, start + k)]


def inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of size {size}")
    return _path_ranges(index, 0, size)


def consistency_ranges(first: int, second: int) -> list[tuple[int, int]]:
    if not 0 < first <= second:
        raise ValueError(f"no consistency proof from size {first} to {second}")
    return _subproof_ranges(first, 0, second, True)


def nodes_needed(ranges: Iterable[tuple[int, int]]) -> set[NodeKey]:
    return {key for start, end in ranges for key in _perfect_parts(start, end)}


def hashes_for(
    ranges: Sequence[tuple[int, int]], lookup: Callable[[NodeKey], bytes]
) -> list[bytes]:
    """MTH of each range, from the stored perfect subtree roots."""
    out = []
    for start, end in ranges:
        parts = [lookup(key) for key in _perfect_parts(start, end)]
        h = parts[-1]
        for part in reversed(parts[:-1]):
            h = node_hash(part, h)
        out.append(h)
    return out


# --- verification (RFC 9162 §2.1.3.2 and §2.1.4.2) ------------------------------------


def root_from_inclusion_proof(index: int, size: int, leaf: bytes, proof: Sequence[bytes]) -> bytes:
    if index >= size:
        raise ValueError("leaf index beyond the tree")
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            raise ValueError("proof too long")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ValueError("proof too short")
    return r


def verify_inclusion(
    index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes
) -> bool:
    try:
        return root_from_inclusion_proof(index, size, leaf, proof) == root
    except ValueError:
        return False


def verify_consistency(
    first: int, second: int, first_root: bytes, second_root: bytes, proof: Sequence[bytes]
) -> bool:
    if first == second:
        return not proof and first_root == second_root
    if first == 0 or first > second or not proof:
        return False
    path = list(proof)
    if first & (first - 1) == 0:  # a power of two: the first root is the proof's start
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == first_root and sr == second_root
