"""Hugging Face ``datasets`` on disk, built here with the real ``datasets`` library, read with pyarrow."""
from __future__ import annotations

import io
import json

import numpy as np
import pytest
import soundfile as sf

from gapbench.core.task import get_task
from gapbench.data.hf_datasets import hf_asr, hf_image_classification, is_hf_dataset
from gapbench.data.speech import asr_dataset
from gapbench.data.vision_files import imagefolder
from gapbench.errors import InputError

datasets = pytest.importorskip("datasets", reason="the tests build datasets with the `datasets` library (test extra)")


def tone(seconds: float, f: float, sr: int) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return (0.3 * np.sin(2 * np.pi * f * t)).astype(np.float32)


def encoded(x: np.ndarray, sr: int, fmt: str = "WAV", **kw) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, x, sr, format=fmt, **kw)
    return buf.getvalue()


def audio_ds(cells: list[dict], texts: list[str], text_name: str = "sentence", audio=None, **more):
    cols = {"audio": cells, text_name: texts, **more}
    return datasets.Dataset.from_dict(cols).cast_column("audio", audio or datasets.Audio())


@pytest.fixture(scope="module")
def clips():
    return [tone(0.3, 300, 16000), tone(0.2, 500, 16000).reshape(-1, 1).repeat(2, axis=1), tone(0.25, 700, 16000)]


def test_save_to_disk_and_parquet_give_the_decoded_audio_and_text(tmp_path, clips):
    cells = [{"bytes": encoded(clips[0], 16000), "path": "a.wav"},
             {"bytes": encoded(clips[1], 16000, "FLAC"), "path": "b.flac"},
             {"bytes": encoded(clips[2], 16000, "OGG", subtype="VORBIS"), "path": "c.ogg"}]
    ds = audio_ds(cells, ["one", "two", "three"], id=["u1", "u2", "u3"])
    ds.save_to_disk(str(tmp_path / "disk"))
    ds.to_parquet(str(tmp_path / "d.parquet"))
    for path in (tmp_path / "disk", tmp_path / "d.parquet", tmp_path / "disk" / "data-00000-of-00001.arrow"):
        assert is_hf_dataset(path)
        samples = list(asr_dataset(path))
        assert [s.id for s in samples] == ["u1", "u2", "u3"]
        assert [s.reference for s in samples] == ["one", "two", "three"]
        for s, cell in zip(samples, cells):
            want, sr = sf.read(io.BytesIO(cell["bytes"]), dtype="float32", always_2d=False)
            assert s.input.sample_rate == sr == 16000
            np.testing.assert_array_equal(s.input.samples, want)
        assert samples[1].input.channels == 2 and samples[0].meta["row"] == 0
    assert not is_hf_dataset(tmp_path)


def test_text_column_auto_detected_or_given_and_split_of_a_dataset_dict(tmp_path, clips):
    cells = [{"bytes": encoded(c, 16000), "path": None} for c in clips[:2]]
    dd = datasets.DatasetDict({
        "train": audio_ds(cells, ["a", "b"], text_name="normalized_text", transcription=["x", "y"]),
        "test": audio_ds(cells[:1], ["c"], text_name="transcription"),
    })
    dd.save_to_disk(str(tmp_path / "dd"))
    assert [s.reference for s in asr_dataset(tmp_path / "dd", split="test")] == ["c"]
    # both names present: the first of TEXT_COLUMNS's order (transcription) before normalized_text
    assert [s.reference for s in asr_dataset(tmp_path / "dd", split="train")] == ["x", "y"]
    assert [s.reference for s in asr_dataset(tmp_path / "dd", split="train", text_column="normalized_text")] \
        == ["a", "b"]
    assert [s.id for s in asr_dataset(tmp_path / "dd", split="train")] == ["row0", "row1"]
    with pytest.raises(InputError, match=r"dd: expected a split among train, test \(data option split=NAME\)"):
        asr_dataset(tmp_path / "dd")
    # the option through the task, as `--data-option text_column=normalized_text` passes it
    task = get_task("asr").with_data(tmp_path / "dd", split="train", text_column="normalized_text")
    assert [s.reference for s in task.samples()] == ["a", "b"]
    with pytest.raises(InputError, match="a Hugging Face dataset for the data option 'text_column'"):
        (tmp_path / "m.jsonl").write_text("{}\n")
        asr_dataset(tmp_path / "m.jsonl", text_column="t")


def test_declared_sampling_rate_resamples_with_soxr_and_says_so_once(tmp_path, capsys):
    import soxr

    from gapbench.data import images

    images._SAID.discard("hf-resample-22050-16000")
    x = tone(0.5, 440, 22050)
    cells = [{"bytes": encoded(x, 22050), "path": None}] * 2
    audio_ds(cells, ["a", "b"], audio=datasets.Audio(sampling_rate=16000)).save_to_disk(str(tmp_path / "d"))
    samples = list(asr_dataset(tmp_path / "d"))
    want = soxr.resample(sf.read(io.BytesIO(cells[0]["bytes"]), dtype="float32")[0], 22050, 16000, quality="HQ")
    assert samples[0].input.sample_rate == 16000
    np.testing.assert_allclose(samples[0].input.samples, want, rtol=0, atol=1e-7)
    assert capsys.readouterr().err.count("resampled to 16000 Hz") == 1


def test_audio_from_a_path_relative_to_the_dataset(tmp_path, clips, monkeypatch):
    sf.write(tmp_path / "x.wav", clips[0], 16000)
    monkeypatch.chdir(tmp_path)  # datasets itself resolves the path against the working directory
    ds = datasets.Dataset.from_dict({"audio": [{"bytes": None, "path": "x.wav"}], "text": ["hi"]})
    ds.cast_column("audio", datasets.Audio(decode=False)).to_parquet(str(tmp_path / "p.parquet"))
    monkeypatch.chdir(tmp_path.parent)
    (s,) = list(asr_dataset(tmp_path / "p.parquet"))
    np.testing.assert_array_equal(s.input.samples, sf.read(tmp_path / "x.wav", dtype="float32")[0])


@pytest.mark.parametrize("case,match", [
    ("junk", r"d: row 1: expected audio soundfile can read .* in column 'audio'"),
    ("empty", r"d: row 1: expected a non-empty audio clip, got '0 samples'"),
    ("null_text", r"d: row 1: expected a transcript string in column 'sentence', got 'null'"),
    ("null_audio", r"d: row 1: expected audio bytes or a path in column 'audio'"),
])
def test_bad_rows_are_one_line_naming_the_dataset_and_row(tmp_path, clips, case, match):
    good = {"bytes": encoded(clips[0], 16000), "path": None}
    bad = {"junk": {"bytes": b"not audio at all", "path": None},
           "empty": {"bytes": encoded(np.zeros(0, np.float32), 16000), "path": None},
           "null_audio": None}.get(case, good)
    texts = ["a", None if case == "null_text" else "b"]
    audio_ds([good, bad], texts).save_to_disk(str(tmp_path / "d"))
    samples = iter(asr_dataset(tmp_path / "d"))
    next(samples)
    with pytest.raises(InputError, match=match):
        next(samples)


def test_missing_columns_name_the_columns_found(tmp_path, clips):
    audio_ds([{"bytes": encoded(clips[0], 16000), "path": None}], ["a"], text_name="words").save_to_disk(
        str(tmp_path / "d"))
    with pytest.raises(InputError, match=r"d: expected a column named one of text, sentence.* \(or the data option "
                                         r"text_column=NAME\); columns: audio, words"):
        asr_dataset(tmp_path / "d")
    with pytest.raises(InputError, match=r"expected a column 'nope' \(audio_column\)"):
        hf_asr(tmp_path / "d", audio_column="nope", text_column="words")
    with pytest.raises(InputError, match="expected an Image column"):
        imagefolder(str(tmp_path / "d"))


def _png(arr: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()


def test_image_classification_with_class_label_names(tmp_path):
    rng = np.random.default_rng(0)
    arrs = [rng.integers(0, 255, (8, 6, 3), dtype=np.uint8) for _ in range(3)] + [
        rng.integers(0, 255, (5, 7), dtype=np.uint8)]
    ds = datasets.Dataset.from_dict({"img": [{"bytes": _png(a), "path": None} for a in arrs], "fine_label": [2, 0, 1, 2]})
    ds = ds.cast_column("img", datasets.Image()).cast_column(
        "fine_label", datasets.ClassLabel(names=["cat", "dog", "emu"]))
    ds.save_to_disk(str(tmp_path / "d"))
    ds.to_parquet(str(tmp_path / "d.parquet"))
    for path in (tmp_path / "d", tmp_path / "d.parquet"):
        task = get_task("imagefolder").with_data(path)
        samples = list(task.samples())
        assert [s.reference for s in samples] == [2, 0, 1, 2]
        assert [s.meta["class"] for s in samples] == ["emu", "cat", "dog", "emu"]
        for s, a in zip(samples[:3], arrs):
            np.testing.assert_array_equal(s.input, a)
        np.testing.assert_array_equal(samples[3].input, np.repeat(arrs[3][:, :, None], 3, axis=2))  # grey -> RGB


def test_image_labels_as_strings_and_bad_rows(tmp_path):
    a = np.zeros((4, 4, 3), np.uint8)
    ds = datasets.Dataset.from_dict({"image": [{"bytes": _png(a), "path": None}, {"bytes": b"junk", "path": None},
                                               {"bytes": _png(a), "path": None}],
                                     "label": ["zebra", "ant", None]}).cast_column("image", datasets.Image())
    ds.save_to_disk(str(tmp_path / "d"))
    samples = hf_image_classification(tmp_path / "d")
    assert samples[0].reference == 1 and samples[0].meta["class"] == "zebra"
    with pytest.raises(InputError, match=r"d: row 1: expected a readable image in column 'image'"):
        samples[1]
    with pytest.raises(InputError, match=r"d: row 2: expected a class label in 0\.\.1 in column 'label', got 'null'"):
        samples[2]
    with pytest.raises(InputError, match="no --labels for a Hugging Face dataset"):
        imagefolder(str(tmp_path / "d"), labels=str(tmp_path / "l.txt"))


def test_cli_run_on_a_parquet_asr_set_with_a_data_option(tmp_path, capsys, clips):
    import jiwer

    from gapbench.cli import main

    cells = [{"bytes": encoded(c, 16000), "path": None} for c in clips]
    refs = ["one two", "three", "four five six"]
    audio_ds(cells, ["x", "y", "z"], text_name="text", words=refs).to_parquet(str(tmp_path / "d.parquet"))
    (tmp_path / "m.py").write_text("def f(inputs):\n    return ['one two three' for _ in inputs]\n")
    capsys.readouterr()
    code = main(["run", "asr", "--data", str(tmp_path / "d.parquet"), "--data-option", "text_column=words",
                 "--model", f"python:{tmp_path / 'm.py'}:f", "--no-cache", "--out", str(tmp_path / "o"),
                 "--store", f"sqlite:///{tmp_path / 's.db'}", "--format", "json", "--no-ci"])
    assert code == 0
    doc = json.loads(capsys.readouterr().out)
    wer = doc["results"][0]["metrics"]["wer"]["value"]
    assert wer == pytest.approx(jiwer.wer(refs, ["one two three"] * 3))
    assert main(["run", "asr", "--data", str(tmp_path / "d.parquet"), "--data-option", "colour=red",
                 "--no-cache", "--out", str(tmp_path / "o")]) != 0
    assert "a task whose data set takes 'colour'" in capsys.readouterr().err


def test_cli_run_imagefolder_on_a_saved_dataset_dict(tmp_path, capsys):
    from gapbench.cli import main

    rng = np.random.default_rng(1)
    labels = [0, 2, 1, 0, 0]
    cells = [{"bytes": _png(rng.integers(0, 255, (6, 6, 3), dtype=np.uint8)), "path": None} for _ in labels]
    ds = datasets.Dataset.from_dict({"image": cells, "label": labels}).cast_column("image", datasets.Image())
    ds = ds.cast_column("label", datasets.ClassLabel(names=["a", "b", "c"]))
    datasets.DatasetDict({"validation": ds, "train": ds.select([0])}).save_to_disk(str(tmp_path / "dd"))
    # a model that always answers class 0: top-1 is the share of class-0 rows of the validation split
    (tmp_path / "m.py").write_text("def f(inputs):\n    return [[0.7, 0.2, 0.1] for _ in inputs]\n")
    capsys.readouterr()
    assert main(["run", "imagefolder", "--data", str(tmp_path / "dd"), "--data-option", "split=validation",
                 "--model", f"python:{tmp_path / 'm.py'}:f", "--no-cache", "--no-ci", "--out", str(tmp_path / "o"),
                 "--store", f"sqlite:///{tmp_path / 's.db'}", "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["dataset"]["n_samples"] == 5
    assert doc["results"][0]["metrics"]["top1"]["value"] == pytest.approx(labels.count(0) / len(labels))


def test_a_hub_repository_of_parquet_shards(tmp_path, clips):
    """A dataset repository as cloned from the Hub: ``data/<split>-NNNNN-of-NNNNN.parquet`` shards read
    in order, ``<config>/<split>/NNNN.parquet`` (refs/convert/parquet), config folders sharing a split."""
    cells = [{"bytes": encoded(c, 16000), "path": None} for c in clips]
    train = audio_ds(cells, ["one", "two", "three"], id=["u1", "u2", "u3"])
    test = audio_ds(cells[:1], ["four"], id=["u4"])
    repo = tmp_path / "repo"
    (repo / "data").mkdir(parents=True)
    (repo / "README.md").write_text("---\nconfigs: [...]\n---\n")
    (repo / ".git" / "lfs").mkdir(parents=True)
    train.select([0, 1]).to_parquet(str(repo / "data" / "train-00000-of-00002.parquet"))
    train.select([2]).to_parquet(str(repo / "data" / "train-00001-of-00002.parquet"))
    test.to_parquet(str(repo / "data" / "test-00000-of-00001.parquet"))
    train.select([2]).to_parquet(str(repo / "data" / "train-clean-100-00000-of-00001.parquet"))  # LibriSpeech's
    test.to_parquet(str(repo / ".git" / "lfs" / "x-00000-of-00001.parquet"))  # git's own files are not data
    assert is_hf_dataset(repo)
    got = list(asr_dataset(repo, split="train"))
    assert [s.id for s in got] == ["u1", "u2", "u3"] and [s.reference for s in got] == ["one", "two", "three"]
    np.testing.assert_array_equal(got[2].input.samples, sf.read(io.BytesIO(cells[2]["bytes"]), dtype="float32")[0])
    assert [s.reference for s in asr_dataset(repo, split="test")] == ["four"]
    assert [s.id for s in asr_dataset(repo, split="train-clean-100")] == ["u3"]
    with pytest.raises(InputError, match=r"repo: expected a split among test, train, train-clean-100 \(data option"):
        asr_dataset(repo)
    converted = tmp_path / "converted" / "default" / "validation"
    converted.mkdir(parents=True)
    train.select([0]).to_parquet(str(converted / "0000.parquet"))
    train.select([1, 2]).to_parquet(str(converted / "0001.parquet"))
    assert [s.id for s in asr_dataset(tmp_path / "converted")] == ["u1", "u2", "u3"]  # the one split, unasked
    configs = tmp_path / "configs"
    for name, ds in (("clean", train), ("other", test)):
        (configs / name).mkdir(parents=True)
        ds.to_parquet(str(configs / name / "test-00000-of-00001.parquet"))
    with pytest.raises(InputError, match="a split among clean/test, other/test"):
        asr_dataset(configs)
    assert [s.id for s in asr_dataset(configs, split="other/test")] == ["u4"]
    assert [s.id for s in asr_dataset(configs / "clean")] == ["u1", "u2", "u3"]


def test_parquet_media_is_read_a_row_group_at_a_time(tmp_path, clips, monkeypatch):
    """Text and ids are read whole; the audio column stays on disk and comes a row group at a time,
    the same samples as the whole file read at once."""
    import pyarrow.parquet as pq

    from gapbench.data.hf_datasets import open_hf

    cells = [{"bytes": encoded(c, 16000), "path": None} for c in clips] * 3
    ds = audio_ds(cells, [f"t{i}" for i in range(9)], id=[f"u{i}" for i in range(9)])
    whole = tmp_path / "whole.parquet"
    ds.to_parquet(str(whole))
    grouped = tmp_path / "grouped.parquet"
    pq.write_table(pq.read_table(str(whole)), str(grouped), row_group_size=2)  # 5 groups, metadata kept
    assert pq.ParquetFile(str(grouped)).metadata.num_row_groups == 5
    t = open_hf(grouped)
    assert "audio" not in t.table.column_names and t.media is not None and t.media.columns == ["audio"]
    reads = []
    real = pq.ParquetFile.read_row_group
    monkeypatch.setattr(pq.ParquetFile, "read_row_group", lambda self, g, **kw: reads.append(g) or real(self, g, **kw))
    got = list(asr_dataset(grouped))
    assert reads == [0, 1, 2, 3, 4]  # each group once, in order
    ref = datasets.Dataset.from_parquet(str(whole)).cast_column("audio", datasets.Audio(decode=False))
    assert [s.id for s in got] == ref["id"] and [s.reference for s in got] == ref["sentence"]
    for s, cell in zip(got, ref["audio"]):
        np.testing.assert_array_equal(s.input.samples, sf.read(io.BytesIO(cell["bytes"]), dtype="float32")[0])
    with pytest.raises(InputError, match="text or numbers in column 'audio'"):
        asr_dataset(grouped, text_column="audio")
