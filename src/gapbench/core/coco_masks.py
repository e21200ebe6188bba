"""Checks for COCO segmentation masks, so a malformed mask never reaches the engine.

The engines (pycocotools, faster-coco-eval) decode an RLE without checking it: a ``size`` that
is not the image's, or ``counts`` whose runs do not add up to ``height * width``, make them read
or write past the mask (a wrong number, or a crash). We decode the run lengths ourselves, with
the exact semantics of pycocotools' ``rleFrString`` (``maskApi.c``):

* each run is a little-endian group of 5-bit chunks stored as characters ``'0'``..``'o'``
  (``48 + chunk``, bit ``0x20`` = "more chunks follow", bit ``0x10`` of the last chunk = sign);
* runs after the third are stored as the difference to the run two places before.

A string is valid when every character is in range, the last group is complete, every run is
non-negative and the runs sum to ``height * width``. :func:`bad_rle_strings` checks many strings
at once with NumPy (cheap even for 10^5 masks); :func:`rle_runs` is the plain-Python decoder used
to say *what* is wrong with one string (and as the reference in the tests).
"""
from __future__ import annotations

from collections.abc import Sequence

MAX_GROUP = 7  # 7 chunks = 35 bits: more than any run of a real image needs


def rle_runs(counts: str) -> list[int]:
    """Run lengths of a compressed COCO RLE string; ``ValueError`` saying what is wrong."""
    runs: list[int] = []
    p, n = 0, len(counts)
    while p < n:
        x = k = 0
        more = True
        while more:
            if p >= n:
                raise ValueError("the string ends inside a run (its last character has the 0x20 bit)")
            c = ord(counts[p]) - 48
            if not 0 <= c < 64:
                raise ValueError(f"character {counts[p]!r} at position {p} is not in '0'..'o'")
            x |= (c & 0x1F) << (5 * k)
            more = bool(c & 0x20)
            p += 1
            k += 1
            if k > MAX_GROUP:
                raise ValueError(f"a run longer than {MAX_GROUP} characters ending near position {p}")
            if not more and c & 0x10:
                x -= 1 << (5 * k)
        if len(runs) > 2:
            x += runs[-2]
        if x < 0:
            raise ValueError(f"run {len(runs)} is negative ({x})")
        runs.append(x)
    return runs


def rle_problem(counts: str, total: int) -> str | None:
    """Why ``counts`` is not a valid RLE of ``total`` pixels, or ``None``."""
    try:
        runs = rle_runs(counts)
    except ValueError as exc:
        return str(exc)
    if sum(runs) != total:
        return f"its runs sum to {sum(runs)} pixels, not height*width = {total}"
    return None


def bad_rle_strings(strings: Sequence[str], totals: Sequence[int]) -> list[int]:
    """Indices of the strings that are not valid RLEs of ``totals[i]`` pixels (vectorised)."""
    import numpy as np

    n = len(strings)
    if n == 0:
        return []
    bufs = [s.encode("utf-8", "surrogatepass") for s in strings]
    lens = np.fromiter((len(b) for b in bufs), dtype=np.int64, count=n)
    bad = np.zeros(n, dtype=bool)
    data = np.frombuffer(b"".join(bufs), dtype=np.uint8).astype(np.int64) - 48
    owner = np.repeat(np.arange(n), lens)
    out_of_range = (data < 0) | (data > 63)
    bad[owner[out_of_range]] = True
    data[out_of_range] = 0
    if data.size == 0:
        return [int(i) for i in np.flatnonzero(bad | (np.asarray(totals) != 0))]
    more = (data & 0x20) != 0
    nonempty = lens > 0
    last_char = (np.cumsum(lens) - 1)[nonempty]
    bad[np.flatnonzero(nonempty)[more[last_char]]] = True  # string ends inside a group
    ends = ~more
    ends[last_char] = True  # keep every group inside its string
    gend = np.flatnonzero(ends)
    gstart = np.concatenate(([0], gend[:-1] + 1))
    glen = gend - gstart + 1
    bad[owner[gstart[glen > MAX_GROUP]]] = True
    k = np.minimum(np.arange(data.size) - np.repeat(gstart, glen), MAX_GROUP - 1)
    x = np.add.reduceat((data & 0x1F) << (5 * k), gstart)
    x -= np.where((data[gend] & 0x10) != 0, np.int64(1) << (5 * np.minimum(glen, MAX_GROUP)), 0)
    gowner = owner[gstart]
    per = np.bincount(gowner, minlength=n)
    first = np.cumsum(per) - per  # index of each string's first run
    m = np.arange(gowner.size) - np.repeat(first, per)  # run index within its string
    odd = (m % 2) == 1
    # run m > 2 adds run m - 2: a running sum along the odd runs, and along the even runs from 2
    cs_odd = np.cumsum(np.where(odd, x, 0))
    cs_even = np.cumsum(np.where(~odd & (m >= 2), x, 0))
    base = np.repeat(first[per > 0], per[per > 0])
    runs = np.where(m == 0, x, np.where(odd, cs_odd - cs_odd[base], cs_even - cs_even[base]))
    bad[gowner[runs < 0]] = True
    total = np.zeros(n, dtype=np.int64)
    total[per > 0] = np.add.reduceat(runs, first[per > 0])
    bad |= total != np.asarray(totals, dtype=np.int64)
    return [int(i) for i in np.flatnonzero(bad)]
