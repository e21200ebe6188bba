"""Build the spectrogram-reading corpus: audio, spectrogram and waveform PNGs, items, manifest.

Layout of a build directory::

    manifest.json        parameters, counts, per-file SHA-256, failures (word + reason)
    items.jsonl          one item per line (see :func:`item_record`); the four conditions are views of it
    audio/<word>.wav     16-bit mono at espeak-ng's rate (22,050 Hz)
    spectrogram/<word>.png, waveform/<word>.png

``seed`` decides the splits, distractor tie-breaks, the spoken member (debiased design) and the
option order, so a build is bit-reproducible: same parameters + same packages -> same bytes (the
manifest's checksums show it). Speech comes from the one espeak-ng source,
:func:`gapbench.speech.tts.synthesize_pcm`, which speaks every word on a fresh library instance, so
a word's audio (and pictures) depend on the word, the voice and the seed alone -- not on the
number of workers, the chunking or what was spoken before. Words are synthesised and rendered in
``workers`` forked processes (espeak-ng's globals are process-wide, so processes, not threads); a
TTS failure is recorded with its reason and the build continues without that item.
"""
from __future__ import annotations

import hashlib
import json
import os
import wave
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from gapbench.spectro.distractors import DESIGNS, SPLITS, arrange, assign_split, option_sets
from gapbench.spectro.phonemes import PED_KINDS, ipa_string, ped, segments
from gapbench.spectro.render import RenderParams, indexed_png_bytes, spectrogram_levels, waveform_levels

LABELS = "ABCDEFGH"
DEFAULT_VOICE = "en-us"
DEFAULT_RATE = 150  # words per minute: espeak-ng's default is 175; a little slower for isolated words
DEFAULT_PITCH = 50  # espeak-ng's 0..99 scale, its default
BUILD_VERSION = 3  # bump when the item format or a rule changes: cached builds are then rebuilt
# 2: every word synthesised by a fresh espeak-ng instance (speech.tts); items carry their ``unit``


@dataclass(frozen=True)
class BuildParams:
    """Every choice that decides a build's bytes (hashed to name a cached build)."""

    words: int = 4068
    pool: int = 20000  # wordfreq words the distractors come from
    seed: int = 0
    design: str = "debiased"
    voice: str = DEFAULT_VOICE
    rate: int = DEFAULT_RATE
    pitch: int = DEFAULT_PITCH
    ped: str = "levenshtein"
    split_fractions: tuple[float, float, float] = (0.8, 0.1, 0.1)
    exclude: tuple[str, ...] = ()
    word_list: tuple[str, ...] = ()  # explicit words instead of the frequency list
    audio_dir: str | None = None  # natural speech: a folder of recorded words instead of TTS (recorded_words)
    unit: str = "word"  # word, or phone / diphone items (gapbench.spectro.units): an easier curriculum
    render: RenderParams = field(default_factory=RenderParams)

    def __post_init__(self) -> None:
        if self.design not in DESIGNS:
            raise ValueError(f"design must be one of {', '.join(DESIGNS)}, got {self.design!r}")
        if self.ped not in PED_KINDS:
            raise ValueError(f"ped must be one of {', '.join(PED_KINDS)}, got {self.ped!r}")
        from gapbench.spectro.units import UNITS

        if self.unit not in UNITS:
            raise ValueError(f"unit must be one of {', '.join(UNITS)}, got {self.unit!r}")
        if self.unit != "word" and self.audio_dir:
            raise ValueError("--audio-dir holds recorded words: use it with --unit word")
        if self.words < 1 and not self.word_list and not self.audio_dir:
            raise ValueError(f"words must be >= 1, got {self.words}")

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["render"] = self.render.to_json()
        d["version"] = BUILD_VERSION
        return d

    def digest(self) -> str:
        return hashlib.blake2b(json.dumps(self.to_json(), sort_keys=True).encode(), digest_size=8).hexdigest()


def _wav_bytes(samples: Any, rate: int) -> bytes:
    import io

    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(samples.astype("<i2").tobytes())
    return buf.getvalue()


def read_wav(path: str | os.PathLike[str]) -> tuple[Any, int]:
    """``(int16 samples, rate)`` of a build's WAV file."""
    import numpy as np

    with wave.open(str(path), "rb") as w:
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2"), w.getframerate()


def recorded_words(audio_dir: str | os.PathLike[str]) -> dict[str, str]:
    """Natural speech: word -> audio file of a folder of recorded words.

    The transcript is ``transcripts.tsv`` (``file<TAB>word`` per line) when present, else each
    file's name (``water.wav`` says "water"). WAV, FLAC and OGG are read (soundfile).
    """
    from gapbench.errors import InputError

    root = Path(audio_dir)
    if not root.is_dir():
        raise InputError(str(root), None, "a folder of recorded words")
    tsv = root / "transcripts.tsv"
    out: dict[str, str] = {}
    if tsv.is_file():
        for n, line in enumerate(tsv.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            parts = line.split("\t")
            if len(parts) != 2 or not (root / parts[0]).is_file():
                raise InputError(str(tsv), n, "'file<TAB>word' naming a file of the folder", line)
            out.setdefault(parts[1].strip().lower(), str(root / parts[0]))
        return out
    for f in sorted(root.iterdir()):
        if f.suffix.lower() in (".wav", ".flac", ".ogg"):
            out.setdefault(f.stem.lower(), str(f))
    return out


def _recording(path: str) -> tuple[Any, int]:
    import numpy as np
    import soundfile as sf

    data, sr = sf.read(path, dtype="float64", always_2d=True)
    mono = data.mean(axis=1)
    return np.clip(np.round(mono * 32767), -32768, 32767).astype(np.int16), int(sr)


def synthesize_word(word: str, voice: str = DEFAULT_VOICE, rate: int = DEFAULT_RATE,
                    pitch: int = DEFAULT_PITCH, unit: str = "word") -> tuple[Any, int]:
    """``word`` spoken by espeak-ng: ``(int16 samples, 22,050 Hz)``, exactly as synthesised (seed 0).

    For ``unit`` phone / diphone, ``word`` is a unit id (``B-AA``) spoken through espeak's phoneme input.
    """
    from gapbench.speech.tts import Voice, synthesize_pcm

    if unit != "word":
        from gapbench.spectro.units import espeak_text

        return synthesize_pcm(espeak_text(word), Voice(voice, int(rate), int(pitch)), seed=0, phonemes=True)
    return synthesize_pcm(word, Voice(voice, int(rate), int(pitch)), seed=0)


def render_word(word: str, out: str, voice: str, rate: int, pitch: int, render: RenderParams,
                recording: str | None = None, unit: str = "word") -> tuple[str, dict[str, str] | None, str | None]:
    """Synthesise (or read ``recording``) and render one word into ``out``: ``(word, {relpath: sha256}, error)``."""
    try:
        samples, sr = _recording(recording) if recording else synthesize_word(word, voice, rate, pitch, unit)
        files = {
            f"audio/{word}.wav": _wav_bytes(samples, sr),
            f"spectrogram/{word}.png": indexed_png_bytes(spectrogram_levels(samples, render), render.colormap,
                                                         render.png_compress_level),
            f"waveform/{word}.png": indexed_png_bytes(waveform_levels(samples, render), render.colormap,
                                                      render.png_compress_level),
        }
    except Exception as exc:  # noqa: BLE001 - recorded per word, the build continues
        return word, None, f"{type(exc).__name__}: {exc}"
    sums = {}
    for rel, data in files.items():
        (Path(out) / rel).write_bytes(data)
        sums[rel] = hashlib.sha256(data).hexdigest()
    return word, sums, None


def _render_chunk(args: tuple[list[str], str, str, int, int, RenderParams, dict[str, str], str]
                  ) -> list[tuple[str, dict[str, str] | None, str | None]]:
    words, out, voice, rate, pitch, render, recordings, unit = args
    return [render_word(w, out, voice, rate, pitch, render, recordings.get(w), unit) for w in words]


CHUNK = 32  # words per task sent to a worker (bytes do not depend on it: every word is synthesised fresh)


def _warm() -> None:
    """Import librosa and run its lazy first call once, so forked workers do not each pay ~2 s."""
    import numpy as np

    from gapbench.spectro.render import spectrogram_db

    spectrogram_db(np.zeros(256, dtype=np.int16))


def _pool(workers: int) -> Any:
    """Worker processes: forks of this (warmed) process where the platform allows, else spawned."""
    import multiprocessing as mp

    method = "fork" if "fork" in mp.get_all_start_methods() else "spawn"
    return mp.get_context(method).Pool(max(1, workers))


def _run_chunks(jobs: list[Any], workers: int) -> Iterator[list[tuple[str, dict[str, str] | None, str | None]]]:
    """Rendered chunks in job order: in this process for one worker (same bytes), else a pool."""
    _warm()
    if workers <= 1:
        yield from map(_render_chunk, jobs)
        return
    with _pool(workers) as pool:
        yield from pool.imap(_render_chunk, jobs)


def plan_items(params: BuildParams) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    """The items (without files) and the words that could not become items, with reasons."""
    from gapbench.spectro.words import candidate_words

    failures: list[dict[str, str]] = []
    if params.unit != "word":
        return _plan(params, *_unit_vocab(params, failures), failures)
    vocab = candidate_words(max(params.pool, params.words), exclude=params.exclude)
    given = params.word_list
    if params.audio_dir:  # natural speech: items and distractors are the recorded words (any may be spoken)
        given = tuple(recorded_words(params.audio_dir))
        vocab = []
    if given:
        items_words = []
        for w in given:
            if segments(w) is None:
                failures.append({"word": w, "reason": "no pronunciation in cmudict"})
            else:
                items_words.append(w.lower())
        vocab = list(dict.fromkeys(items_words + vocab))
    else:
        items_words = vocab[: params.words]
    seg = {w: s for w in vocab if (s := segments(w)) is not None}
    return _plan(params, items_words, vocab, seg, None, failures)


def _unit_vocab(params: BuildParams, failures: list[dict[str, str]]) -> tuple[list[str], list[str], dict, Any]:
    """Phone / diphone items: ``(item ids, candidate ids, segments, distance)``."""
    from gapbench.spectro.units import phones_of, unit_distance_matrix, unit_segments, unit_vocabulary

    vocab = unit_vocabulary(params.unit, params.pool)
    items_words = []
    for u in params.word_list or vocab[: params.words]:
        phones = phones_of(u)
        if phones is None or len(phones) != (1 if params.unit == "phone" else 2):
            failures.append({"word": u, "reason": f"not a {params.unit} (ARPAbet phones joined by '-')"})
        else:
            items_words.append("-".join(phones))
    vocab = list(dict.fromkeys(items_words + vocab))
    return items_words, vocab, {u: unit_segments(u) for u in vocab}, unit_distance_matrix


def _plan(params: BuildParams, items_words: list[str], vocab: list[str], seg: dict[str, tuple[str, ...]],
          distance: Any, failures: list[dict[str, str]]) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    split_of = {w: assign_split(w, params.seed, params.split_fractions) for w in vocab}
    items: list[dict[str, Any]] = []
    for split in SPLITS:
        mine = [w for w in items_words if split_of[w] == split]
        pool = [w for w in vocab if split_of[w] == split]
        for w, s in zip(mine, option_sets(mine, pool, seg, seed=params.seed, workers=2, distance=distance)):
            if s is None:
                failures.append({"word": w, "reason": f"fewer than 3 distractors in the {split} pool"})
                continue
            target, order = arrange(s, params.design, params.seed)
            spoken = s.words[target]
            words = [s.words[j] for j in order]
            segs = [s.segments[j] for j in order]
            answer = order.index(target)
            items.append({
                "id": f"{split}-{len(items):05d}-{spoken}", "split": split, "word": spoken, "set_word": s.word,
                "options": words, "options_ipa": [ipa_string(x) for x in segs],
                "options_segments": [list(x) for x in segs],
                "answer": LABELS[answer], "peds": [ped(x, s.segments[target], params.ped) for x in segs],
                "audio": f"audio/{spoken}.wav", "spectrogram": f"spectrogram/{spoken}.png",
                "waveform": f"waveform/{spoken}.png", "voice": "recorded" if params.audio_dir else params.voice,
                "unit": params.unit,
            })
    return items, failures


def build(params: BuildParams, out: str | os.PathLike[str], *, workers: int = 2,
          on_progress: Callable[[int], None] | None = None) -> dict[str, Any]:
    """Build into ``out`` (created); returns the manifest (also written to ``out/manifest.json``)."""
    out = Path(out)
    for sub in ("audio", "spectrogram", "waveform"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    items, failures = plan_items(params)
    spoken = sorted({it["word"] for it in items})
    checksums: dict[str, str] = {}
    bad: dict[str, str] = {}
    chunks = [spoken[i:i + CHUNK] for i in range(0, len(spoken), CHUNK)]
    recordings = recorded_words(params.audio_dir) if params.audio_dir else {}
    jobs = [(c, str(out), params.voice, params.rate, params.pitch, params.render, recordings, params.unit)
            for c in chunks]
    for chunk in _run_chunks(jobs, workers):
        for word, sums, err in chunk:
            if err is not None:
                bad[word] = err
            else:
                checksums.update(sums or {})
        if on_progress:
            on_progress(len(chunk))
    failures += [{"word": w, "reason": f"TTS/rendering failed: {r}"} for w, r in sorted(bad.items())]
    items = [it for it in items if it["word"] not in bad]
    lines = "".join(json.dumps(it, ensure_ascii=False, sort_keys=True) + "\n" for it in items)
    (out / "items.jsonl").write_text(lines, encoding="utf-8")
    checksums["items.jsonl"] = hashlib.sha256(lines.encode()).hexdigest()
    manifest = {
        "benchmark": "spectro (Loakman, Lin & James 2025, arXiv 2511.13225)",
        "params": params.to_json(), "engine": _engine_versions(), "items": len(items),
        "splits": {s: sum(it["split"] == s for it in items) for s in SPLITS},
        "failures": failures, "files": dict(sorted(checksums.items())),
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return manifest


def _engine_versions() -> dict[str, str]:
    """What decides the bytes of a build: the synthesis engine and the PNG encoder."""
    from importlib.metadata import version

    from gapbench.speech.tts import generator_versions

    return {**generator_versions(), "isal": version("isal")}


def default_build_root() -> Path:
    from gapbench.runner.cache import default_cache_dir

    return default_cache_dir() / "spectro"


def cached_build(params: BuildParams, root: str | os.PathLike[str] | None = None, *, workers: int = 1,
                 show_progress: bool = True) -> Path:
    """A build for ``params`` under the cache (built once, with a progress bar; reused after)."""
    from gapbench.core.progress import progress

    where = Path(root) if root is not None else default_build_root()
    out = where / params.digest()
    if (out / "manifest.json").is_file():
        return out
    tmp = where / f".{params.digest()}.{os.getpid()}"
    n = len(params.word_list) or (len(recorded_words(params.audio_dir)) if params.audio_dir else params.words)
    with progress(n if show_progress else None, f"building spectro corpus ({n} words)") as advance:
        build(params, tmp, workers=workers, on_progress=advance)
    try:
        os.replace(tmp, out)
    except OSError:  # another process finished first: use its build
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
    return out


def load_items(data: str | os.PathLike[str], split: str | None = None) -> list[dict[str, Any]]:
    """The items of a build directory, optionally of one split (bad lines: one InputError)."""
    from gapbench.errors import InputError

    path = Path(data) / "items.jsonl"
    if not path.is_file():
        raise InputError(str(path), None, "a spectro build (run `gapbench spectro build` first)")
    if split is not None and split not in SPLITS:
        raise InputError(None, "split", f"one of {', '.join(SPLITS)}", split)
    items = []
    need = ("id", "split", "word", "options", "options_ipa", "answer", "peds", "audio", "spectrogram", "waveform")
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            it = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(str(path), n, "a JSON object per line", exc.msg) from None
        missing = [k for k in need if not isinstance(it, dict) or k not in it]
        if missing:
            raise InputError(str(path), n, f"an item with fields {', '.join(need)}", f"missing {missing[0]!r}")
        if split is None or it["split"] == split:
            items.append(it)
    return items


def verify(data: str | os.PathLike[str]) -> list[str]:
    """Files whose SHA-256 differs from the manifest (empty when the build is intact)."""
    root = Path(data)
    manifest = json.loads((root / "manifest.json").read_text())
    bad = []
    for rel, digest in manifest["files"].items():
        p = root / rel
        if not p.is_file() or hashlib.sha256(p.read_bytes()).hexdigest() != digest:
            bad.append(rel)
    return bad


__all__: Sequence[str] = ("BuildParams", "build", "cached_build", "load_items", "plan_items", "read_wav", "verify")
