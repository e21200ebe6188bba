"""pocketsphinx's noise floor on clean TTS audio: WER with the adapter's floor vs without.

Whole runs over the embedded corpora (built/cached as usual), same decoder settings, only
``floor`` differs (100 int16 LSB vs 0). Prints one line per corpus x mode and the ratio of WERs.

    PYTHONPATH=src python benchmarks/speech_floor.py [--limit N]
"""
from __future__ import annotations

import argparse
import time

import jiwer

from gapbench.models.pocketsphinx_asr import DEFAULT_FLOOR, PocketSphinxASR
from gapbench.speech import corpus
from gapbench.text_normalizers.normalizers import basic_normalize


def wer_of(model: PocketSphinxASR, samples: list) -> tuple[float, float]:
    t = time.perf_counter()
    hyps = model.predict([model.preprocess(s.input) for s in samples])
    dt = time.perf_counter() - t
    refs = [basic_normalize(s.reference) for s in samples]
    return jiwer.wer(refs, [basic_normalize(h) for h in hyps]), dt


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, default=None)
    args = ap.parse_args()
    setups = [("asr-digits", "jsgf", lambda f: PocketSphinxASR(corpus.DIGIT_WORDS, True, f)),
              ("asr-words", "jsgf", lambda f: PocketSphinxASR(corpus.frequent_words(60), False, f)),
              ("asr-digits", "lm", lambda f: PocketSphinxASR(None, True, f)),
              ("asr-words", "lm", lambda f: PocketSphinxASR(None, True, f))]
    for name, mode, make in setups:
        samples = list(corpus.load_corpus(name))[: args.limit]
        with_floor, t1 = wer_of(make(DEFAULT_FLOOR), samples)
        without, t0 = wer_of(make(0.0), samples)
        print(f"{name:11s} {mode:4s} n={len(samples):3d}  WER floor={DEFAULT_FLOOR:g}: {with_floor:.3f} ({t1:.1f} s)"
              f"  no floor: {without:.3f} ({t0:.1f} s)  ratio no-floor/floor: {without / max(with_floor, 1e-9):.2f}")


if __name__ == "__main__":
    main()
