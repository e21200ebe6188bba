"""gapbench's overhead over a plain decoding loop: pocketsphinx on the embedded ``asr-words``.

Two whole processes, each timed from start to exit, alternated ``--repeat`` times:

* ``gapbench``: ``run_task("asr-words", "pocketsphinx-words", cache=False, batch_size=32)``
  (pipeline, metrics with a bootstrap interval, latency bookkeeping);
* ``plain``: load the same corpus and model, ``predict(preprocess(x))`` in batches of 32, jiwer.

Prints the medians and the ratio gapbench / plain (the issue's target: <= 1.05).

    PYTHONPATH=src python benchmarks/speech_overhead.py [--repeat 3]
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

GAPBENCH = """
from gapbench.runner.local import run_task
run_task("asr-words", "pocketsphinx-words", cache=False, batch_size=32, show_progress=False)
"""
PLAIN = """
import jiwer
from gapbench.models.registry import load_model
from gapbench.speech.corpus import asr_words
samples = list(asr_words())
model = load_model("pocketsphinx-words")
hyps = []
for i in range(0, len(samples), 32):
    hyps += model.predict([model.preprocess(s.input) for s in samples[i:i + 32]])
jiwer.wer([s.reference for s in samples], [h or "" for h in hyps])
"""


def timed(code: str) -> float:
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True)
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    timed(PLAIN)  # build the corpus cache once, outside the timings
    g, p = [], []
    for _ in range(args.repeat):
        g.append(timed(GAPBENCH))
        p.append(timed(PLAIN))
    mg, mp = statistics.median(g), statistics.median(p)
    print(f"asr-words x pocketsphinx-words, {args.repeat} runs: gapbench {mg:.2f} s, plain loop {mp:.2f} s, "
          f"ratio {mg / mp:.3f}")


if __name__ == "__main__":
    main()
