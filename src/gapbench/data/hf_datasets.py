"""Hugging Face ``datasets`` saved on disk, read with pyarrow: audio (``asr``) and image classification.

``--data`` may be

* a ``Dataset.save_to_disk`` directory (``state.json`` + ``data-*.arrow`` shards + ``dataset_info.json``),
* a ``DatasetDict.save_to_disk`` directory (``dataset_dict.json`` + one such directory per split:
  pick one with the data option ``split=NAME``; a single split is taken without asking),
* one ``.arrow`` file (the IPC stream format ``datasets`` writes, or the IPC file format),
* one ``.parquet`` file (``Dataset.to_parquet``, or a Hub repository's parquet shard), or
* a Hub dataset repository as cloned (or one of its config folders): parquet shards named
  ``<split>-NNNNN-of-NNNNN.parquet`` (``push_to_hub``'s ``data/`` layout) or ``<split>/NNNN.parquet``
  (the ``refs/convert/parquet`` branch); a split's shards are read in name order, ``split=NAME``
  picks one, a single split is taken without asking, and a split name found in several config
  folders asks for the config folder as ``--data``.

Why not ``datasets.load_from_disk``: from ``datasets`` 4 on, decoding an ``Audio`` column needs
torchcodec (a torch-matched build), and it would resample with its own code. The storage of both
``Audio`` and ``Image`` features is a plain ``struct<bytes: binary, path: string>`` column, so this
module reads the raw column with pyarrow and decodes it itself: audio with soundfile (the reader
of :mod:`gapbench.data.speech`: wav, flac, ogg, mp3), images with Pillow (the reader of
:mod:`gapbench.data.images`, with its conversions). Features (``Audio(sampling_rate=...)``,
``ClassLabel(names=...)``) come from the schema's ``huggingface`` metadata or ``dataset_info.json``.

* Audio is returned at its file's rate, as the other speech loaders do (adapters resample). When
  the ``Audio`` feature declares a ``sampling_rate`` (``cast_column("audio", Audio(16000))``),
  ``datasets`` would hand that rate to the user, so we resample to it with soxr (HQ) and say so
  once on stderr. An entry with no bytes is read from its ``path`` (absolute, or relative to the
  data set's directory).
* Columns are found by feature type (the one ``Audio`` / ``Image`` column; the ``ClassLabel``
  column) or by common names (:data:`TEXT_COLUMNS`, :data:`LABEL_COLUMNS`); data options
  ``audio_column=``, ``text_column=``, ``image_column=``, ``label_column=`` override.
* Class names: the ``ClassLabel`` names; a string label column becomes the sorted distinct
  strings; a plain integer column keeps its integers (named by themselves).
* Sample ids: an ``id`` column (:data:`ID_COLUMNS`) when its values are unique, else ``row<N>``.

Every problem is one :class:`~gapbench.errors.InputError` naming the data set and the row: a
missing column, a null or undecodable cell, empty audio, a missing label.
"""
from __future__ import annotations

import io
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from gapbench.core.media import Audio
from gapbench.core.sample import Sample
from gapbench.data.images import LazySamples, _say_once
from gapbench.data.parquet_media import ParquetMedia, is_media
from gapbench.errors import InputError

HF_SUFFIXES = (".arrow", ".parquet")
_SHARD = re.compile(r"^(?P<split>[A-Za-z0-9_.-]+?)-\d+-of-\d+\.parquet$")
_NUMBERED = re.compile(r"^\d+\.parquet$")
TEXT_COLUMNS = ("text", "sentence", "transcription", "normalized_text", "transcript", "raw_text",
                "normalized_transcription", "sentences")
LABEL_COLUMNS = ("label", "labels", "fine_label", "coarse_label", "class", "category")
ID_COLUMNS = ("id", "utt_id", "audio_id", "segment_id", "key", "image_id")


@dataclass(frozen=True)
class HFTable:
    """A split read as one pyarrow table, its feature declarations and where it came from."""

    table: Any  # pyarrow.Table: every column (Arrow: memory-mapped), or Parquet's small ones
    features: dict[str, Any]
    where: str  # the path (and split) for error messages
    root: Path  # the directory relative media paths are resolved against
    media: ParquetMedia | None = None  # Parquet's media columns, read a row group at a time

    @property
    def columns(self) -> list[str]:
        return list(self.table.column_names) + (self.media.columns if self.media is not None else [])

    def values(self, column: str) -> list[Any]:
        """A small column's values (text, labels, ids) as Python."""
        if self.media is not None and column in self.media.columns:
            raise InputError(self.where, None, f"text or numbers in column {column!r}", "binary data")
        return self.table.column(column).to_pylist()

    def cell(self, column: str, row: int) -> Any:
        """One cell as Python, from wherever its column is kept."""
        if self.media is not None and column in self.media.columns:
            return self.media.cell(column, row)
        return self.table.column(column)[row].as_py()


def is_hf_dataset(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` looks like a ``datasets`` export (see the module docstring)."""
    p = Path(path)
    if p.is_file():
        return p.suffix.lower() in HF_SUFFIXES
    return p.is_dir() and (any((p / f).is_file() for f in ("state.json", "dataset_dict.json"))
                           or bool(_hub_shards(p)))


def _parquet_files(root: Path, depth: int = 3, give_up_after: int = 64) -> list[Path]:
    """``.parquet`` files up to ``depth`` folders down, hidden folders (``.git``) skipped. A folder
    whose first ``give_up_after`` files include no parquet file is left at that (an ImageNet class
    folder, say): asking whether an image folder is a Hub repository must not list every image."""
    out: list[Path] = []
    try:
        entries = os.scandir(root)
    except OSError:
        return out
    with entries:
        seen_files = 0
        for e in entries:
            if e.name.startswith("."):
                continue
            if e.is_dir(follow_symlinks=True):
                if depth > 1:
                    out += _parquet_files(Path(e.path), depth - 1, give_up_after)
            elif e.name.endswith(".parquet"):
                out.append(Path(e.path))
            else:
                seen_files += 1
                if seen_files >= give_up_after and not out:
                    break
    return out


def _hub_shards(root: Path) -> dict[str, list[Path]]:
    """A Hub repository's parquet shards by split name (see the module docstring), or {}.

    The key is ``split`` or, when the split is found under several config folders, ``config/split``."""
    found: dict[tuple[str, str], list[Path]] = {}
    for f in sorted(_parquet_files(root)):
        m = _SHARD.match(f.name)
        if m:
            split, config_dir = m.group("split"), f.parent
        elif _NUMBERED.match(f.name) and f.parent != root:
            split, config_dir = f.parent.name, f.parent.parent
        else:
            continue
        config = "" if config_dir in (root, root / "data") else config_dir.relative_to(root).as_posix()
        found.setdefault((config, split), []).append(f)
    names = [split for _, split in found]
    return {(split if names.count(split) == 1 else f"{config}/{split}"): files
            for (config, split), files in found.items()}


def _pyarrow() -> Any:
    try:
        import pyarrow as pa
    except ImportError:  # pragma: no cover - pyarrow comes with the [hf-data] extra
        raise InputError(None, "--data", "pyarrow installed to read Hugging Face datasets "
                         "(pip install 'gapbench[hf-data]')") from None
    return pa


def _read_arrow(path: Path) -> Any:
    pa = _pyarrow()
    try:
        with pa.memory_map(str(path)) as src:
            try:
                return pa.ipc.open_stream(src).read_all()
            except pa.ArrowInvalid:
                src.seek(0)
                return pa.ipc.open_file(src).read_all()
    except (pa.ArrowInvalid, OSError) as exc:
        raise InputError(path, None, "an Arrow IPC file (stream or file format)", str(exc).splitlines()[0]) from None


def _open_parquet(files: list[Path], where: str, root: Path) -> HFTable:
    """Parquet shards of one split: small columns read whole, media columns by row group
    (:mod:`gapbench.data.parquet_media`)."""
    pa = _pyarrow()
    import pyarrow.parquet as pq

    tables, media_cols = [], None
    for f in files:
        try:
            schema = pq.read_schema(str(f))
            cols = [fld.name for fld in schema if not is_media(fld.type)]
            media_cols = media_cols if media_cols is not None else [n for n in schema.names if n not in cols]
            tables.append(pq.read_table(str(f), columns=cols))
        except (pa.ArrowInvalid, OSError) as exc:
            raise InputError(f, None, "a Parquet file", str(exc).splitlines()[0]) from None
    table = tables[0] if len(tables) == 1 else pa.concat_tables(tables, promote_options="default")
    features = _schema_features(pq.read_schema(str(files[0])))
    return HFTable(table, features, where, root, ParquetMedia(files, media_cols) if media_cols else None)


def _schema_features(table_or_schema: Any) -> dict[str, Any]:
    schema = getattr(table_or_schema, "schema", table_or_schema)
    meta = (schema.metadata or {}).get(b"huggingface")
    if not meta:
        return {}
    try:
        return dict(json.loads(meta).get("info", {}).get("features") or {})
    except (ValueError, AttributeError):
        return {}


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(path, None, "a JSON file written by datasets' save_to_disk", str(exc)) from None


def open_hf(data: str | os.PathLike[str], split: str | None = None) -> HFTable:
    """The table of a ``datasets`` export (one split of a ``DatasetDict``: ``split``)."""
    path = Path(data).expanduser()
    if path.is_file():
        if split is not None:
            raise InputError(path, None, "no split option for a single .arrow/.parquet file", split)
        if path.suffix.lower() == ".parquet":
            return _open_parquet([path], str(path), path.parent)
        table = _read_arrow(path)
        return HFTable(table, _schema_features(table), str(path), path.parent)
    if (path / "dataset_dict.json").is_file():
        splits = [str(s) for s in _read_json(path / "dataset_dict.json").get("splits", [])]
        if split is None and len(splits) == 1:
            split = splits[0]
        if split not in splits:
            raise InputError(path, None, f"a split among {', '.join(splits)} (data option split=NAME)", split)
        return open_hf(path / split)
    if not (path / "state.json").is_file() and (shards := _hub_shards(path)):
        if split is None and len(shards) == 1:
            split = next(iter(shards))
        if split not in shards:
            raise InputError(path, None, f"a split among {', '.join(shards)} (data option split=NAME)", split)
        return _open_parquet(shards[split], f"{path} (split {split})", path)
    if split is not None:
        raise InputError(path, None, "no split option for a single saved Dataset", split)
    state = _read_json(path / "state.json")
    files = [path / f["filename"] for f in state.get("_data_files", [])]
    if not files:
        raise InputError(path / "state.json", None, "at least one data file in '_data_files'")
    pa = _pyarrow()
    tables = [_read_arrow(f) for f in files]
    table = tables[0] if len(tables) == 1 else pa.concat_tables(tables)
    info = path / "dataset_info.json"
    features = _read_json(info).get("features") or {} if info.is_file() else {}
    return HFTable(table, dict(features) or _schema_features(table), str(path), path)


def _feature_type(feature: Any) -> str | None:
    return feature.get("_type") if isinstance(feature, dict) else None


def pick_column(t: HFTable, given: str | None, feature_type: str | None, names: tuple[str, ...],
                option: str) -> str:
    """The column ``given``, else the one of ``feature_type``, else the first of ``names`` present."""
    cols = t.columns
    if given is not None:
        if given not in cols:
            raise InputError(t.where, None, f"a column {given!r} ({option}); columns: {', '.join(cols)}")
        return given
    typed = [c for c in cols if feature_type and _feature_type(t.features.get(c)) == feature_type]
    if len(typed) == 1:
        return typed[0]
    found = next((n for n in names if n in cols), None)
    if found is None:
        what = f"an {feature_type} column" if feature_type else f"a column named one of {', '.join(names)}"
        raise InputError(t.where, None, f"{what} (or the data option {option}=NAME); columns: {', '.join(cols)}")
    return found


def _media_bytes(t: HFTable, cell: Any, row: int, column: str, what: str) -> tuple[bytes | None, Path | None]:
    """``(bytes, None)`` or ``(None, path)`` of a ``struct<bytes, path>`` (or plain path string) cell."""
    if isinstance(cell, str):
        cell = {"bytes": None, "path": cell}
    if isinstance(cell, (bytes, bytearray)):
        return bytes(cell), None
    if not isinstance(cell, dict) or (cell.get("bytes") is None and not cell.get("path")):
        raise InputError(t.where, f"row {row}", f"{what} bytes or a path in column {column!r}",
                         "null" if cell is None else cell)
    if cell.get("bytes") is not None:
        return bytes(cell["bytes"]), None
    p = Path(cell["path"]).expanduser()
    if not p.is_absolute() and not p.is_file():
        p = t.root / p
    if not p.is_file():
        raise InputError(t.where, f"row {row}", f"a {what} file at the path in column {column!r}", str(p))
    return None, p


def _ids(t: HFTable) -> list[str]:
    for name in ID_COLUMNS:
        if name in t.table.column_names:
            values = [str(v) for v in t.values(name)]
            if None not in values and len(set(values)) == len(values):
                return values
    return [f"row{i}" for i in range(t.table.num_rows)]


def decode_audio(t: HFTable, cell: Any, row: int, column: str) -> Audio:
    """One audio cell as float32 :class:`Audio` (soundfile; see the module docstring for rates)."""
    import soundfile as sf

    data, path = _media_bytes(t, cell, row, column, "audio")
    try:
        samples, sr = sf.read(io.BytesIO(data) if data is not None else str(path), dtype="float32",
                              always_2d=False)
    except Exception as exc:  # noqa: BLE001 - soundfile raises LibsndfileError, RuntimeError, ...
        raise InputError(t.where, f"row {row}", f"audio soundfile can read (wav/flac/ogg/mp3) in column {column!r}",
                         str(exc).splitlines()[0] if str(exc) else type(exc).__name__) from None
    if samples.shape[0] == 0:
        raise InputError(t.where, f"row {row}", "a non-empty audio clip", "0 samples")
    target = (t.features.get(column) or {}).get("sampling_rate") if isinstance(t.features.get(column), dict) else None
    if target and int(target) != int(sr):
        import soxr

        _say_once(f"hf-resample-{sr}-{target}", f"audio at {sr} Hz is resampled to {int(target)} Hz "
                  "(the data set's Audio feature sampling_rate; soxr HQ)")
        samples = soxr.resample(samples, sr, int(target), quality="HQ").astype(np.float32)
        sr = int(target)
    return Audio(np.ascontiguousarray(samples), int(sr))


def hf_asr(data: str | os.PathLike[str], split: str | None = None, audio_column: str | None = None,
           text_column: str | None = None) -> LazySamples:
    """ASR samples from a ``datasets`` export: audio decoded lazily, the text column as reference."""
    t = open_hf(data, split)
    audio_col = pick_column(t, audio_column, "Audio", ("audio",), "audio_column")
    text_col = pick_column(t, text_column, None, TEXT_COLUMNS, "text_column")
    texts = t.values(text_col)
    ids = _ids(t)

    def make(i: int) -> Sample:
        text = texts[i]
        if not isinstance(text, str):
            raise InputError(t.where, f"row {i}", f"a transcript string in column {text_col!r}",
                             "null" if text is None else text)
        audio = decode_audio(t, t.cell(audio_col, i), i, audio_col)
        return Sample(ids[i], audio, text, {"duration": audio.duration, "sample_rate": audio.sample_rate, "row": i})

    return LazySamples(t.table.num_rows, make)


def class_names(t: HFTable, column: str) -> tuple[list[int | None], list[str]]:
    """Label indices per row (None when null) and the class names (see the module docstring)."""
    feature = t.features.get(column)
    values = t.values(column)
    if _feature_type(feature) == "ClassLabel" and feature.get("names"):
        return values, [str(n) for n in feature["names"]]
    if all(v is None or isinstance(v, str) for v in values):
        names = sorted({v for v in values if v is not None})
        index = {n: k for k, n in enumerate(names)}
        return [None if v is None else index[v] for v in values], names
    if all(v is None or (isinstance(v, int) and not isinstance(v, bool)) for v in values):
        top = max((v for v in values if v is not None), default=-1)
        return values, [str(k) for k in range(top + 1)]
    raise InputError(t.where, None, f"integer, string or ClassLabel labels in column {column!r}",
                     type(next(v for v in values if v is not None)).__name__)


def hf_image_classification(data: str | os.PathLike[str], split: str | None = None,
                            image_column: str | None = None, label_column: str | None = None) -> LazySamples:
    """Image classification samples from a ``datasets`` export (reference: the class index)."""
    from gapbench.data.images import read_image

    t = open_hf(data, split)
    image_col = pick_column(t, image_column, "Image", ("image", "img", "pixel_values"), "image_column")
    label_col = pick_column(t, label_column, "ClassLabel", LABEL_COLUMNS, "label_column")
    labels, names = class_names(t, label_col)
    ids = _ids(t)

    def make(i: int) -> Sample:
        label = labels[i]
        if label is None or not 0 <= label < len(names):
            raise InputError(t.where, f"row {i}", f"a class label in 0..{len(names) - 1} in column {label_col!r}",
                             "null" if label is None else label)
        raw, path = _media_bytes(t, t.cell(image_col, i), i, image_col, "image")
        try:
            arr = read_image(io.BytesIO(raw) if raw is not None else path, f"row {i}")
        except InputError as exc:
            raise InputError(t.where, f"row {i}", f"a readable image in column {image_col!r}", exc.got) from None
        return Sample(ids[i], arr, int(label), {"class": names[label], "row": i})

    return LazySamples(t.table.num_rows, make)


def pyarrow_version() -> dict[str, str]:
    """What reads the table, for the run document's dataset generator."""
    return {"pyarrow": _pyarrow().__version__}
