"""Benchmark: the spectro renderer (numpy -> colormap -> palette PNG, ISA-L) against matplotlib ``specshow``.

Both renderers run as whole processes on the same clips (espeak-ng words synthesised once and
saved to a temporary ``.npz``): each process imports what it needs, renders every clip to a PNG
file of the same size, and the wall time of the whole process is measured; the per-word time of
the render loop alone (after one warm-up clip, best of three passes) is printed too, as wall and
as CPU time of that process (on a shared machine the wall time includes waiting for a core). Then the whole build
(``gapbench.spectro.build.build``: word list, distractors, TTS, two PNGs per word, items for the
four conditions) is timed as a process for ``--words`` words (default all 4,068: the issue's
target is <= 60 s on a 2-core machine) with ``--workers`` processes. Besides the wall time it
prints the CPU seconds of the build process and its workers (user + system, from
``getrusage(RUSAGE_CHILDREN)``) and their share of the machine: on a machine shared with other
jobs the wall time is inflated, while CPU seconds / workers is what a quiet machine's wall time
approaches. The build's own phases are printed from inside the process (plan = word list +
distractors, render = synthesis + pictures + files).

Run: ``PYTHONPATH=src .venv/bin/python benchmarks/spectro_build.py [--clips 100] [--words 4068]``.
matplotlib is only needed here (``pip install matplotlib``); without it that row is skipped.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

OURS = r"""
import sys, time, numpy as np
from pathlib import Path
from gapbench.spectro.render import RenderParams, indexed_png_bytes, spectrogram_levels
npz = np.load(sys.argv[1]); out = Path(sys.argv[2]); p = RenderParams()
names = sorted(npz.files); clips = {n: npz[n] for n in names}  # in memory: the loop times rendering only
def render(y, path):
    path.write_bytes(indexed_png_bytes(spectrogram_levels(y, p), p.colormap, p.png_compress_level))
render(clips[names[0]], out / "w.png")
best = (float("inf"), float("inf"))
for _ in range(3):
    t, c = time.perf_counter(), time.process_time()
    for n in names:
        render(clips[n], out / f"{n}.png")
    best = min(best[0], time.perf_counter() - t), min(best[1], time.process_time() - c)
print(best[0] / len(names), best[1] / len(names))
"""

MPL = r"""
import sys, time, numpy as np
from pathlib import Path
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
import librosa, librosa.display
npz = np.load(sys.argv[1]); out = Path(sys.argv[2])
names = sorted(npz.files); clips = {n: npz[n] for n in names}  # in memory: the loop times rendering only
def render(y, path):
    db = librosa.amplitude_to_db(np.abs(librosa.stft(y / 32768.0, n_fft=128, hop_length=22)), ref=np.max, top_db=70)
    fig = plt.figure(figsize=(4.48, 2.24), dpi=100)
    ax = fig.add_axes([0, 0, 1, 1]); ax.set_axis_off()
    librosa.display.specshow(db, sr=22050, hop_length=22, ax=ax, cmap="viridis")
    fig.savefig(path); plt.close(fig)
render(clips[names[0]].astype(np.float32), out / "w.png")
best = (float("inf"), float("inf"))
for _ in range(3):
    t, c = time.perf_counter(), time.process_time()
    for n in names:
        render(clips[n].astype(np.float32), out / f"{n}.png")
    best = min(best[0], time.perf_counter() - t), min(best[1], time.process_time() - c)
print(best[0] / len(names), best[1] / len(names))
"""

BUILD = r"""
import sys, time
t0 = time.perf_counter()
import gapbench.spectro.build as b
plan = b.plan_items
def timed_plan(p):
    t = time.perf_counter(); out = plan(p); print(f"plan {time.perf_counter() - t:.2f}", file=sys.stderr); return out
b.plan_items = timed_plan
m = b.build(b.BuildParams(words=int(sys.argv[1])), sys.argv[2], workers=int(sys.argv[3]))
print(f"total {time.perf_counter() - t0:.2f}", file=sys.stderr)
print(m["items"])
"""


def run(code: str, *args: str) -> tuple[float, str]:
    wall, _, out, _ = run_measured(code, *args)
    return wall, out


def run_measured(code: str, *args: str) -> tuple[float, float, str, str]:
    """``(wall s, CPU s of the process and its children, last stdout line, stderr)``."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    res = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if res.returncode != 0:
        raise RuntimeError(res.stderr.strip().splitlines()[-1] if res.stderr.strip() else "failed")
    return wall, cpu, res.stdout.strip().splitlines()[-1], res.stderr


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clips", type=int, default=100)
    ap.add_argument("--words", type=int, default=4068)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    import numpy as np

    from gapbench.spectro.build import synthesize_word
    from gapbench.spectro.words import select_words

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        words = select_words(args.clips)
        np.savez(root / "clips.npz", **{w: synthesize_word(w)[0] for w in words})
        rows = {}
        for name, code in (("numpy->PNG (gapbench)", OURS), ("matplotlib specshow", MPL)):
            out = root / name.split()[0].replace(">", "")
            out.mkdir()
            try:
                wall, per = run(code, str(root / "clips.npz"), str(out))
            except RuntimeError as exc:
                print(f"{name}: skipped ({exc})")
                continue
            per_wall, per_cpu = map(float, per.split())
            rows[name] = (wall, per_wall, per_cpu)
            print(f"{name:24s} process {wall:6.2f} s for {args.clips} clips; render loop (best of 3) "
                  f"{per_wall * 1e3:7.2f} ms/word wall, {per_cpu * 1e3:7.2f} ms/word CPU")
        if len(rows) == 2:
            (w1, p1, c1), (w2, p2, c2) = rows.values()
            print(f"ratio (matplotlib / gapbench): whole process {w2 / w1:.1f}x, render loop {p2 / p1:.1f}x wall, "
                  f"{c2 / c1:.1f}x CPU (the CPU ratio is the one a busy machine does not distort)")
        wall, cpu, items, err = run_measured(BUILD, str(args.words), str(root / "build"), str(args.workers))
        phases = dict(ln.split() for ln in err.splitlines() if ln.startswith(("plan ", "total ")))
        load = os.getloadavg()[0]
        print(f"build {args.words} words with {args.workers} processes: {wall:.1f} s whole process "
              f"({wall / args.words * 1e3:.1f} ms/word, {items} items; plan {phases.get('plan', '?')} s); "
              f"CPU {cpu:.1f} s = {cpu / wall:.2f} cores busy of {os.cpu_count()} (load average {load:.1f}); "
              f"on {args.workers} idle cores ~{cpu / args.workers:.0f} s")
        print(json.dumps({"clips": args.clips, "words": args.words, "build_s": wall, "build_cpu_s": cpu,
                          "load_avg": load, **{k: {"process_s": v[0], "per_word_s": v[1], "per_word_cpu_s": v[2]}
                                               for k, v in rows.items()}}))

if __name__ == "__main__":
    main()
