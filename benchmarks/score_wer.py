"""Benchmark: gapbench ``score_wer`` / ``score_cer`` against jiwer, the library that does the alignment.

3,000 seeded utterances are built from the CMU ARCTIC prompts in tests/data/reference
(``wer/cmuarctic.data``) with synthetic ASR errors (substitutions, deletions, insertions, fillers,
casing, punctuation). In one run, best of ``--repeats``:

* ``none``: gapbench ``score_wer(pairs.jsonl, ci=False)`` vs reading the same JSONL +
  ``jiwer.process_words`` (and in memory: ``score_wer(refs=, hyps=)`` vs ``process_words``);
* ``whisper``: the same with the whisper normaliser on both sides; jiwer's side uses openai-whisper's
  own ``EnglishTextNormalizer`` when installed (loaded without ``whisper/__init__``), else the
  vendored copy;
* ``alignments=True`` (the per-utterance ``[ref, hyp, op]`` records) vs the same ``process_words``;
* the extra time of the 1,000-resample bootstrap CI on top of the no-CI score.

Targets: ratio <= 1.2x jiwer; CI adds < 0.1 s. The WER values are checked to be identical.
Run: ``.venv/bin/python benchmarks/score_wer.py [--n 3000] [--repeats 11]``.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import importlib.util
import json
import os
import random
import re
import sys
import tempfile
import time
import types
from collections.abc import Callable
from pathlib import Path

import jiwer

from gapbench.scoring.text import score_cer, score_wer

REPO = Path(__file__).resolve().parents[1]
FILLERS = ["um", "uh", "hmm", "like"]


def _prompts() -> list[str]:
    base = Path(os.environ.get("GAPBENCH_REFERENCE_DATA", REPO / "tests" / "data" / "reference"))
    text = (base / "wer" / "cmuarctic.data").read_text()
    return re.findall(r'^\( \S+ "(.*)" \)$', text, flags=re.M)


def make_pairs(n: int, seed: int = 0) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    prompts = _prompts()
    vocab = sorted({w.strip(",.;:!?").lower() for p in prompts for w in p.split()})
    pairs = []
    for _ in range(n):
        ref = rng.choice(prompts)
        words = ref.split()
        hyp: list[str] = []
        for w in words:
            r = rng.random()
            if r < 0.05:
                continue  # deletion
            if r < 0.12:
                hyp.append(rng.choice(vocab))  # substitution
            else:
                hyp.append(w if rng.random() < 0.7 else w.lower().strip(",.;:!?"))
            if rng.random() < 0.03:
                hyp.append(rng.choice(FILLERS + vocab[:50]))  # insertion
        pairs.append((ref, " ".join(hyp)))
    return pairs


def _real_whisper_normalizer() -> tuple[Callable[[str], str], str]:
    spec = importlib.util.find_spec("whisper")
    if spec is not None and spec.submodule_search_locations:
        location = list(spec.submodule_search_locations)[0]
        if (Path(location) / "normalizers" / "english.py").is_file():
            stub = types.ModuleType("whisper")
            stub.__path__ = [location]  # type: ignore[attr-defined]
            sys.modules.setdefault("whisper", stub)
            mod = importlib.import_module("whisper.normalizers.english")
            return mod.EnglishTextNormalizer(), "openai-whisper"
    from gapbench.text_normalizers.normalizers import EnglishTextNormalizer

    return EnglishTextNormalizer(), "vendored"


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "?"


def best_pair(
    a: Callable[[], object], b: Callable[[], object], repeats: int
) -> tuple[float, object, float, object]:
    """Best-of-``repeats`` times of ``a`` and ``b``, interleaved so load changes hit both alike."""
    ta, tb, ra, rb = [], [], None, None
    for _ in range(repeats):
        t = time.perf_counter()
        ra = a()
        ta.append(time.perf_counter() - t)
        t = time.perf_counter()
        rb = b()
        tb.append(time.perf_counter() - t)
    return min(ta), ra, min(tb), rb


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=3000)
    ap.add_argument("--repeats", type=int, default=11)
    args = ap.parse_args()
    pairs = make_pairs(args.n)
    refs, hyps = [r for r, _ in pairs], [h for _, h in pairs]
    whisper_norm, whisper_src = _real_whisper_normalizer()

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "pairs.jsonl"
        path.write_text(
            "".join(json.dumps({"id": f"u{i}", "ref": r, "hyp": h}) + "\n" for i, (r, h) in enumerate(pairs))
        )

        def read_jsonl() -> tuple[list[str], list[str]]:
            rows = [json.loads(line) for line in path.read_text().splitlines() if line]
            return [x["ref"] for x in rows], [x["hyp"] for x in rows]

        def jiwer_file(process: Callable, norm: Callable[[str], str] | None = None) -> Callable[[], object]:
            def run() -> object:
                r, h = read_jsonl()
                if norm is not None:
                    r, h = [norm(x) for x in r], [norm(x) for x in h]
                return process(r, h)

            return run

        cases = [
            (
                "wer none, in memory",
                lambda: score_wer(refs=refs, hyps=hyps, ci=False),
                lambda: jiwer.process_words(refs, hyps),
                "wer",
                "wer",
            ),
            (
                "wer none, + alignments",  # jiwer's process_words builds its alignments in any case
                lambda: score_wer(refs=refs, hyps=hyps, ci=False, alignments=True),
                lambda: jiwer.process_words(refs, hyps),
                "wer",
                "wer",
            ),
            (
                "wer none, from JSONL",
                lambda: score_wer(path, ci=False),
                jiwer_file(jiwer.process_words),
                "wer",
                "wer",
            ),
            (
                "cer none, from JSONL",
                lambda: score_cer(path, ci=False),
                jiwer_file(jiwer.process_characters),
                "cer",
                "cer",
            ),
            (
                "wer whisper, from JSONL",
                lambda: score_wer(path, normalizer="whisper", ci=False),
                jiwer_file(jiwer.process_words, whisper_norm),
                "wer",
                "wer",
            ),
        ]
        print(
            f"{args.n} utterances, {sum(len(r.split()) for r in refs)} reference words; "
            f"best of {args.repeats}; jiwer {_version('jiwer')};"
            f" whisper normaliser on jiwer's side: {whisper_src}"
        )
        print(f"{'case':<26} {'gapbench s':>11} {'jiwer s':>9} {'ratio':>7}  same value")
        for name, ours, theirs, key, attr in cases:
            t_ours, r_ours, t_theirs, r_theirs = best_pair(ours, theirs, args.repeats)
            same = r_ours.metrics[key].value == getattr(r_theirs, attr)  # type: ignore[union-attr]
            print(f"{name:<26} {t_ours:>11.4f} {t_theirs:>9.4f} {t_ours / t_theirs:>6.2f}x  {same}")

        t_ci, res, t_no, _ = best_pair(
            lambda: score_wer(refs=refs, hyps=hyps, bootstrap=1000, seed=0),
            lambda: score_wer(refs=refs, hyps=hyps, ci=False),
            args.repeats,
        )
        print(
            f"{'+ 1,000-resample CI':<26} {t_ci:>11.4f} {'':>9} {'':>7}  adds {t_ci - t_no:.4f} s "
            f"(CI {res.metrics['wer'].ci95[0]:.4f}-{res.metrics['wer'].ci95[1]:.4f})"
        )


if __name__ == "__main__":
    main()
