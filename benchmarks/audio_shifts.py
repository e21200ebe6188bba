"""Benchmark: every audio shift family at every level on a 10 s, 16 kHz mono speech-like clip.

Prints, per family and level, the best-of-``--repeats`` wall time of ``family.apply`` and the
x-real-time factor (clip seconds / wall seconds). Target: >= 200x real time for every family and
level; ``codec`` may fall below (libopus at its default complexity 10 and LAME are the cost, and
they are the codecs a deployment runs). Extra rows: noise kinds other than the ladder's white,
and MP3. For ``speed``, the ratio against ``sox in.wav out.wav speed F`` run as a whole process
(where sox is installed), with gapbench timed both in memory and with the same WAV read and write.

Run: ``PYTHONPATH=src .venv/bin/python benchmarks/audio_shifts.py [--seconds 10] [--repeats 5]``.
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from gapbench.core.media import Audio
from gapbench.shifts.audio import AUDIO_FAMILIES
from gapbench.shifts.audio_io import read_audio, write_audio
from gapbench.shifts.audio_noise import NoiseBank
from gapbench.shifts.audio_testsig import speechlike

TARGET_XRT = 200.0


def best(fn: Callable[[], object], repeats: int) -> float:
    fn()  # warm-up: imports, FFT plans, codec libraries
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--rate", type=int, default=16000)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    clip = speechlike(args.seconds, args.rate, seed=0)
    dur = clip.duration
    bank = NoiseBank([speechlike(3.0, args.rate, seed=s) for s in range(1, 8)])
    rows: list[tuple[str, str, float]] = []
    for name, fam in AUDIO_FAMILIES.items():
        for level in sorted(fam.ladder):
            params = fam.params_for(level)
            sec = best(lambda f=fam, p=params: f.apply(clip, None, p, 0), args.repeats)
            rows.append((name, str(level), sec))
    extras = {"noise pink": {"kind": "pink", "snr": 5.0}, "noise brown": {"kind": "brown", "snr": 5.0},
              "noise babble": {"kind": "babble", "snr": 5.0, "talkers": 7, "bank": bank},
              "noise ref=speech": {"kind": "white", "snr": 5.0, "ref": "speech"},
              "codec mp3": {"format": "mp3", "bitrate": 16.0}, "speed 0.9": {"factor": 0.9}}
    for label, params in extras.items():
        fam = AUDIO_FAMILIES[label.split()[0]]
        rows.append((label, "-", best(lambda f=fam, p=params: f.apply(clip, None, p, 0), args.repeats)))

    print(f"clip: {dur:.1f} s at {args.rate} Hz mono float32; best of {args.repeats}; "
          f"target >= {TARGET_XRT:.0f}x")
    print(f"{'family':<18} {'level':>5} {'seconds':>9} {'x real time':>12}")
    slow = []
    for name, level, sec in rows:
        xrt = dur / sec
        flag = "" if xrt >= TARGET_XRT else "  < target"
        if flag:
            slow.append(name)
        print(f"{name:<18} {level:>5} {sec:>9.4f} {xrt:>11.0f}x{flag}")
    if slow:
        print(f"below target: {', '.join(sorted(set(slow)))}"
              " (codec: libopus complexity 10 / LAME encode time, the library's own cost)")

    sox = shutil.which("sox")
    if sox is None:
        print("speed vs sox: skipped (sox not installed; apt package 'sox')")
        return
    with tempfile.TemporaryDirectory() as tmp:
        src, dst, ours = Path(tmp, "in.wav"), Path(tmp, "sox.wav"), Path(tmp, "ours.wav")
        pcm = Audio((clip.samples * 32767).astype("int16"), clip.sample_rate)
        write_audio(src, pcm)
        fam = AUDIO_FAMILIES["speed"]
        for factor in (0.9, 1.1):
            t_sox = best(lambda f=factor: subprocess.run([sox, "-V1", str(src), str(dst), "speed", str(f)],
                                                         check=True), args.repeats)

            def file_to_file(f: float = factor) -> None:
                audio, info = read_audio(src)
                write_audio(ours, fam.apply(audio, None, {"factor": f}, 0)[0], like=info)

            t_mem = best(lambda f=factor: fam.apply(pcm, None, {"factor": f}, 0), args.repeats)
            t_file = best(file_to_file, args.repeats)
            print(f"speed {factor}: sox process {t_sox:.4f} s; gapbench in memory {t_mem:.4f} s "
                  f"({t_sox / t_mem:.1f}x faster), file to file {t_file:.4f} s "
                  f"({t_sox / t_file:.1f}x faster)")


if __name__ == "__main__":
    main()
