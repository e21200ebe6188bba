"""Speech data sets on disk, for the generic ``asr`` and ``diarization`` tasks (``--data PATH``).

ASR formats (``format="auto"`` picks by what ``PATH`` is):

* **LibriSpeech** layout: a directory searched recursively for ``*.trans.txt`` (``<utt-id> TEXT``
  per line); each utterance's audio is ``<utt-id>.flac`` (or ``.wav``) beside its transcript.
* **Common Voice** TSV: a ``.tsv`` file with a header that has ``path`` and ``sentence``
  columns; clips are looked up in ``clips/`` next to the TSV, then next to the TSV itself.
* **Manifest** (NeMo style): ``.jsonl`` / ``.json``, one JSON object per line with
  ``audio_filepath`` and ``text`` (optional ``duration``, and ``offset`` in seconds, which cut a
  segment); relative paths are relative to the manifest's directory.
* **Kaldi** data directory: ``wav.scp`` (``<recording-id> <path>``; piped commands are refused)
  and ``text`` (``<utt-id> TEXT``), optional ``segments`` (``<utt-id> <recording-id> <start> <end>``).
* **Hugging Face datasets** (``hf``): a ``save_to_disk`` directory or an ``.arrow`` / ``.parquet``
  file with an audio column, read by :mod:`gapbench.data.hf_datasets` (data options ``split=``,
  ``audio_column=``, ``text_column=``; the text column is found among common names otherwise).

Diarization (:func:`diarization_dataset`): a directory of audio files with RTTM files of the same
stem (``a.wav`` + ``a.rttm``), or one RTTM file whose file ids name audio files in its directory;
or ``--annotations X.rttm`` with ``--data`` a directory of audio or a list of audio paths. A UEM
(``--uem X.uem``, or ``X.uem`` found beside ``X.rttm``) limits scoring to its regions exactly as
pyannote.metrics' ``uem=`` does.

Audio is read lazily, one sample at a time, with soundfile (wav, flac, ogg, mp3), at its own
sample rate and channel count: adapters resample and down-mix (pocketsphinx and the diarizer:
soxr to 16 kHz, channels averaged). Errors are one line naming the file and the record (line
number or utterance id): missing audio, unreadable or zero-length audio, missing transcripts,
ids that do not join, non-UTF-8 text.
"""
from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from gapbench.core.media import Audio
from gapbench.core.predictions import SpeakerTurns
from gapbench.core.sample import Sample
from gapbench.data.textfile import read_lines, read_text
from gapbench.errors import InputError

AUDIO_EXTS = (".wav", ".flac", ".ogg", ".mp3", ".opus")
ASR_FORMATS = ("auto", "librispeech", "commonvoice", "manifest", "kaldi", "hf")


@dataclass(frozen=True)
class Entry:
    """One utterance before its audio is read: where the audio is, which part, the reference."""

    id: str
    audio: Path
    reference: Any
    where: str  # the file and record that declared it, for error messages
    offset: float = 0.0
    duration: float | None = None


class SpeechDataset:
    """Entries read eagerly (cheap), audio read lazily as samples are iterated.

    ``generator`` says what the data is (format and path) for the run document's dataset info.
    """

    def __init__(self, entries: list[Entry], fmt: str, path: str,
                 make_reference: Callable[[Any], Any] = lambda r: r) -> None:
        self.entries = entries
        self.generator = {"format": fmt, "path": os.path.abspath(path)}
        self._ref = make_reference

    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self) -> Iterator[Sample]:
        for e in self.entries:
            audio = load_audio(e.audio, e.where, e.offset, e.duration)
            yield Sample(e.id, audio, self._ref(e.reference),
                         {"duration": audio.duration, "audio_path": str(e.audio), "sample_rate": audio.sample_rate})


def load_audio(path: Path, where: str, offset: float = 0.0, duration: float | None = None) -> Audio:
    """Read (a segment of) an audio file as float32; one-line errors naming the record and the file."""
    import soundfile as sf

    if not path.is_file():
        raise InputError(where, None, f"an audio file at {path}", "no such file")
    try:
        info = sf.info(str(path))
        start = int(round(offset * info.samplerate))
        stop = None if duration is None else start + int(round(duration * info.samplerate))
        data, sr = sf.read(str(path), start=start, stop=stop, dtype="float32", always_2d=False)
    except Exception as exc:  # noqa: BLE001 - soundfile raises LibsndfileError, RuntimeError, ...
        raise InputError(f"{where} ({path})", None, "audio soundfile can read (wav/flac/ogg/mp3)",
                         str(exc).splitlines()[0] if str(exc) else type(exc).__name__) from None
    if data.shape[0] == 0:
        raise InputError(f"{where} ({path})", None, "a non-empty audio clip", "0 samples")
    return Audio(np.ascontiguousarray(data), int(sr))


def _id_text_lines(path: Path) -> list[tuple[int, str, str]]:
    """``(line, id, text)`` of a ``<id> TEXT`` file (LibriSpeech transcripts, Kaldi ``text``)."""
    out = []
    for i, line in enumerate(read_lines(path), 1):
        if not line.strip():
            continue
        parts = line.split(maxsplit=1)
        if len(parts) < 2:
            raise InputError(path, i, "'<utterance-id> <transcript>'", line)
        out.append((i, parts[0], parts[1].strip()))
    return out


def librispeech(root: str | os.PathLike[str]) -> SpeechDataset:
    """LibriSpeech layout under ``root``."""
    root = Path(root)
    entries: list[Entry] = []
    for trans in sorted(root.rglob("*.trans.txt")):
        for line, uid, text in _id_text_lines(trans):
            audio = next((trans.parent / f"{uid}{ext}" for ext in (".flac", ".wav")
                          if (trans.parent / f"{uid}{ext}").is_file()), trans.parent / f"{uid}.flac")
            entries.append(Entry(uid, audio, text, f"{trans}: line {line}"))
    if not entries:
        raise InputError(root, None, "a LibriSpeech-style directory with *.trans.txt transcripts")
    return SpeechDataset(entries, "librispeech", str(root))


def commonvoice(tsv: str | os.PathLike[str]) -> SpeechDataset:
    """A Common Voice TSV (``path`` and ``sentence`` columns)."""
    tsv = Path(tsv)
    reader = csv.DictReader(io.StringIO(read_text(tsv)), delimiter="\t", quoting=csv.QUOTE_NONE)
    cols = reader.fieldnames or []
    if "path" not in cols or "sentence" not in cols:
        raise InputError(tsv, 1, "a header with 'path' and 'sentence' columns", cols)
    entries = []
    for i, row in enumerate(reader, 2):
        rel, text = row.get("path"), row.get("sentence")
        if not rel or text is None:
            raise InputError(tsv, i, "a 'path' and a 'sentence' value", row)
        audio = tsv.parent / "clips" / rel
        if not audio.is_file() and (tsv.parent / rel).is_file():
            audio = tsv.parent / rel
        entries.append(Entry(Path(rel).stem, audio, text, f"{tsv}: line {i}"))
    return SpeechDataset(entries, "commonvoice", str(tsv))


def _number(v: Any, file: Path, line: int, key: str) -> float | None:
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not np.isfinite(v) or v < 0:
        raise InputError(file, line, f"'{key}' as a number of seconds >= 0", v)
    return float(v)


def manifest(path: str | os.PathLike[str]) -> SpeechDataset:
    """A NeMo-style JSONL manifest (``audio_filepath``, ``text``, optional ``duration``/``offset``)."""
    path = Path(path)
    entries = []
    for i, line in enumerate(read_lines(path), 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(path, i, "one JSON object per line", exc.msg) from None
        if not isinstance(rec, dict) or not isinstance(rec.get("audio_filepath"), str) \
                or not isinstance(rec.get("text"), str):
            raise InputError(path, i, "an object with string 'audio_filepath' and 'text'", line.strip())
        audio = Path(rec["audio_filepath"])
        audio = audio if audio.is_absolute() else path.parent / audio
        offset = _number(rec.get("offset"), path, i, "offset") or 0.0
        duration = _number(rec.get("duration"), path, i, "duration") if "offset" in rec else None
        uid = str(rec.get("id") or rec.get("utt_id") or f"{audio.stem}-{i}")
        entries.append(Entry(uid, audio, rec["text"], f"{path}: line {i}", offset, duration))
    if not entries:
        raise InputError(path, None, "at least one manifest line")
    return SpeechDataset(entries, "manifest", str(path))


def kaldi(root: str | os.PathLike[str]) -> SpeechDataset:
    """A Kaldi data directory (``wav.scp``, ``text``, optional ``segments``)."""
    root = Path(root)
    scp, text_file, seg_file = root / "wav.scp", root / "text", root / "segments"
    for f in (scp, text_file):
        if not f.is_file():
            raise InputError(root, None, f"a Kaldi data directory with {f.name}", "missing")
    wavs: dict[str, tuple[Path, int]] = {}
    for i, rid, rest in _id_text_lines(scp):
        if rest.endswith("|"):
            raise InputError(scp, i, "a file path (piped commands are not run)", rest)
        p = Path(rest)
        wavs[rid] = (p if p.is_absolute() else root / p, i)
    texts = {uid: (t, i) for i, uid, t in _id_text_lines(text_file)}
    entries = []
    if seg_file.is_file():
        for i, line in enumerate(read_lines(seg_file), 1):
            f = line.split()
            if not f:
                continue
            if len(f) != 4:
                raise InputError(seg_file, i, "'<utt-id> <recording-id> <start> <end>'", line)
            uid, rid = f[0], f[1]
            try:
                start, end = float(f[2]), float(f[3])
            except ValueError:
                raise InputError(seg_file, i, "start and end as numbers of seconds", f[2:]) from None
            if not (0 <= start < end):
                raise InputError(seg_file, i, "0 <= start < end", f[2:])
            if rid not in wavs:
                raise InputError(seg_file, i, f"a recording id listed in {scp.name}", rid)
            if uid not in texts:
                raise InputError(seg_file, i, f"an utterance id listed in {text_file.name}", uid)
            entries.append(Entry(uid, wavs[rid][0], texts[uid][0], f"{seg_file}: line {i}", start, end - start))
    else:
        for uid, (t, i) in texts.items():
            if uid not in wavs:
                raise InputError(text_file, i, f"an utterance id listed in {scp.name} (no segments file)", uid)
            entries.append(Entry(uid, wavs[uid][0], t, f"{scp}: line {wavs[uid][1]}"))
    return SpeechDataset(entries, "kaldi", str(root))


def detect_asr_format(path: Path) -> str:
    """The ASR format of ``path`` (see the module docstring)."""
    from gapbench.data.hf_datasets import is_hf_dataset

    if is_hf_dataset(path):
        return "hf"
    if path.is_dir():
        if (path / "wav.scp").is_file():
            return "kaldi"
        if next(path.rglob("*.trans.txt"), None) is not None:
            return "librispeech"
        raise InputError(path, None, "a Kaldi dir (wav.scp), a LibriSpeech dir (*.trans.txt) or a datasets "
                         "save_to_disk dir (state.json / dataset_dict.json)")
    if path.suffix.lower() == ".tsv":
        return "commonvoice"
    if path.suffix.lower() in (".jsonl", ".json"):
        return "manifest"
    raise InputError(path, None, "a directory, a .tsv (Common Voice), a .jsonl manifest or .arrow/.parquet")


def asr_dataset(data: str | os.PathLike[str] | None = None, format: str = "auto",  # noqa: A002
                split: str | None = None, audio_column: str | None = None,
                text_column: str | None = None) -> Any:
    """The generic ``asr`` task's data set: ``data`` is the path given with ``--data``; ``split``,
    ``audio_column`` and ``text_column`` are for Hugging Face datasets only."""
    if data is None:
        raise InputError("task asr", None, "a data set path (--data PATH)")
    path = Path(data).expanduser()
    if not path.exists():
        raise InputError(path, None, "an existing file or directory", "no such path")
    if format not in ASR_FORMATS:
        raise InputError(None, "format", f"one of {', '.join(ASR_FORMATS)}", format)
    fmt = detect_asr_format(path) if format == "auto" else format
    hf_options = {"split": split, "audio_column": audio_column, "text_column": text_column}
    if fmt == "hf":
        from gapbench.data.hf_datasets import hf_asr

        return hf_asr(path, **hf_options)
    given = sorted(k for k, v in hf_options.items() if v is not None)
    if given:
        raise InputError(path, None, f"a Hugging Face dataset for the data option {given[0]!r}", fmt)
    return {"librispeech": librispeech, "commonvoice": commonvoice, "manifest": manifest, "kaldi": kaldi}[fmt](path)


def _audio_for(directory: Path, stem: str) -> Path | None:
    return next((directory / f"{stem}{e}" for e in AUDIO_EXTS if (directory / f"{stem}{e}").is_file()), None)


def _rttm_files(path: Path) -> list[Path]:
    rttms = sorted(path.glob("*.rttm")) if path.is_dir() else [path]
    if not rttms or not rttms[0].is_file():
        raise InputError(path, None, "a directory with .rttm files or an .rttm file")
    return rttms


def _diarization_entries(data: str | os.PathLike[str] | None, annotations: str | os.PathLike[str] | None
                         ) -> tuple[list[Entry], list[Path]]:
    """The files to score and the RTTM files that declared them (see :func:`diarization_dataset`)."""
    from gapbench.data.rttm import read_rttm

    if data is None:
        raise InputError("task diarization", None, "a data set path (--data PATH)")
    path = Path(data).expanduser()
    entries = []
    if annotations is None:
        rttms = _rttm_files(path)
        for r in rttms:
            turns = read_rttm(r)
            for uri, ts in turns.items():
                audio = _audio_for(r.parent, uri) or (_audio_for(r.parent, r.stem) if len(turns) == 1 else None)
                if audio is None:
                    raise InputError(r, f"file {uri!r}", f"an audio file {uri}{{{','.join(AUDIO_EXTS)}}} beside it")
                entries.append(Entry(uri, audio, tuple((t.start, t.end, t.speaker) for t in ts), f"{r}: file {uri}"))
        return entries, rttms
    rttms = _rttm_files(Path(annotations).expanduser())
    turns: dict[str, list[Any]] = {}
    for r in rttms:
        for uri, ts in read_rttm(r).items():
            turns.setdefault(uri, []).extend(ts)
    if path.is_dir():
        for uri, ts in turns.items():
            audio = _audio_for(path, uri)
            if audio is None:
                raise InputError(path, f"file {uri!r} of {rttms[0].name}",
                                 f"an audio file {uri}{{{','.join(AUDIO_EXTS)}}}")
            entries.append(Entry(uri, audio, tuple((t.start, t.end, t.speaker) for t in ts), f"{path}: file {uri}"))
        return entries, rttms
    if not path.is_file():
        raise InputError(path, None, "a directory of audio files or a list of audio paths (one a line)")
    for i, line in enumerate(read_lines(path), 1):
        if not line.strip():
            continue
        audio = Path(line.strip()).expanduser()
        audio = audio if audio.is_absolute() else path.parent / audio
        ts = turns.get(audio.stem, [])
        entries.append(Entry(audio.stem, audio, tuple((t.start, t.end, t.speaker) for t in ts), f"{path}: line {i}"))
    if not entries:
        raise InputError(path, None, "at least one audio path")
    return entries, rttms


def diarization_uem(data: str | os.PathLike[str] | None = None, annotations: str | os.PathLike[str] | None = None,
                    uem: str | os.PathLike[str] | None = None) -> dict[str, list[tuple[float, float]]] | None:
    """The scored regions of every file of the data set, or None when there is no UEM.

    ``uem`` is the given file; otherwise ``X.uem`` beside each RTTM ``X.rttm`` (all of them or
    none). With a UEM every scored file needs an entry: a file without one is an error here, not a
    silently unscored or wholly scored file.
    """
    from gapbench.data.rttm import read_uem

    entries, rttms = _diarization_entries(data, annotations)
    if uem is not None:
        files = [Path(uem).expanduser()]
        if not files[0].is_file():
            raise InputError(files[0], None, "a UEM file (--uem)", "no such file")
    else:
        files = [r.with_suffix(".uem") for r in rttms if r.with_suffix(".uem").is_file()]
        if not files:
            return None
    regions: dict[str, list[tuple[float, float]]] = {}
    for f in files:
        for uri, rs in read_uem(f).items():
            regions.setdefault(uri, []).extend(rs)
    for e in entries:
        if e.id not in regions:
            raise InputError(files[0] if len(files) == 1 else ", ".join(map(str, files)), f"file {e.id!r}",
                             "a UEM line for every scored file")
    return {e.id: regions[e.id] for e in entries}


def diarization_dataset(data: str | os.PathLike[str] | None = None, annotations: str | os.PathLike[str] | None = None,
                        uem: str | os.PathLike[str] | None = None) -> SpeechDataset:
    """Audio + RTTM (+ UEM) for the generic ``diarization`` task.

    Without ``annotations``: ``data`` is a directory of ``X.<audio>`` with ``X.rttm``, or one RTTM
    naming audio beside it. With ``annotations`` (an RTTM file, or a directory of them): ``data`` is
    the directory holding the audio of every file id in the RTTM, or a list of audio paths, one a
    line (relative to the list; the file id is the stem; a listed file with no RTTM turn has an
    empty reference, as in pyannote.database protocols). The UEM (``uem``, or ``X.uem`` beside
    ``X.rttm``) is applied by the DER metric through :func:`diarization_uem`, which the task
    passes on as the metric's ``uem`` (see ``TaskSpec.with_data``).
    """
    entries, _ = _diarization_entries(data, annotations)
    if uem is not None:
        diarization_uem(data, annotations, uem)  # a bad --uem fails before any audio is decoded
    return SpeechDataset(entries, "rttm", str(Path(data).expanduser()), make_reference=SpeakerTurns)


def _diarization_metric_args(data: str | os.PathLike[str] | None = None,
                             annotations: str | os.PathLike[str] | None = None,
                             uem: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    regions = diarization_uem(data, annotations, uem)
    return {} if regions is None else {"uem": regions}


diarization_dataset.metric_args = _diarization_metric_args  # type: ignore[attr-defined]


def reader_versions() -> dict[str, str]:
    """What reads the audio (soundfile and its libsndfile): the run document's dataset generator."""
    import soundfile as sf

    return {"soundfile": sf.__version__, "libsndfile": sf.__libsndfile_version__}


asr_dataset.generator = reader_versions  # type: ignore[attr-defined]
diarization_dataset.generator = reader_versions  # type: ignore[attr-defined]
