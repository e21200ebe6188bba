"""Sweeps: the --shift grammar, the degradation summary (paired drops, AUC, CE/mCE, SNR curve),
determinism across thread counts, resuming a killed sweep, and skipped samples."""
from __future__ import annotations

import json
import textwrap

import numpy as np
import pytest

from gapbench.core.registry import UnknownNameError
from gapbench.core.task import Target, TaskSpec
from gapbench.errors import InputError
from gapbench.metrics import intervals
from gapbench.runner.cache import ResponseCache
from gapbench.runner.local import run_task
from gapbench.runner.sweep import ALEXNET_CLEAN_ERROR, ALEXNET_ERRORS, parse_cells, parse_severities
from gapbench.shifts.image import IMAGENET_C_MAIN


def digits_task(name: str = "digits-sweep-test") -> TaskSpec:
    return TaskSpec(name=name, type="image-classification",
                    dataset=Target("gapbench.data.embedded:sklearn_digits", {"split": "test"}),
                    metrics=(Target("gapbench.metrics.topk:TopKAccuracy", {"k": [1, 5]}),), num_classes=10)


# ---- grammar -------------------------------------------------------------------------------------


def test_grammar_families_levels_groups_and_sweeps() -> None:
    cells = parse_cells(["gaussian_noise,contrast"], "1,3")
    assert [(c.shift, c.severity) for c in cells] == [("none", None), ("gaussian_noise", 1), ("gaussian_noise", 3),
                                                       ("contrast", 1), ("contrast", 3)]
    assert cells[1].params == {"sigma": 0.08}  # the ladder's parameters are recorded
    assert len(parse_cells(["imagenet-c"], "2")) == 1 + 15
    assert {c.shift for c in parse_cells(["imagenet-c"], "2")[1:]} == set(IMAGENET_C_MAIN)
    assert len(parse_cells(["fog"])) == 1 + 5  # neither parameters nor severities: the whole ladder
    sweep = parse_cells(["noise:kind=pink,snr=20,10,-5"])[1:]
    assert [c.severity for c in sweep] == [20, 10, -5] and all(c.swept == "snr" for c in sweep)
    assert sweep[0].params["kind"] == "pink" and sweep[0].params["snr"] == 20
    fixed = parse_cells(["noise:kind=brown,snr=7"])[1]
    assert fixed.severity is None and fixed.params["snr"] == 7
    assert len(parse_cells(["contrast", "contrast", "none"], "1")) == 2  # repeats and 'none' add nothing
    assert parse_severities("2-4") == (2, 3, 4)


@pytest.mark.parametrize(("shifts", "severities", "pattern"), [
    (["gausian_noise"], None, "did you mean 'gaussian_noise'"),
    (["noise:snrr=5"], None, "did you mean 'snr'"),
    (["noise:kind=white,pink,snr=5,0"], None, "at most one parameter with several values"),
    (["noise:snr=nan"], None, "finite"),
    (["noise:kind=purple"], None, "one of white"),
    (["contrast"], "0-6", "levels in 1-5"),
    (["noise:5"], None, "name=value"),
])
def test_grammar_errors_are_one_line(shifts, severities, pattern) -> None:
    with pytest.raises((InputError, UnknownNameError), match=pattern) as ei:
        parse_cells(shifts, severities)
    assert "\n" not in str(ei.value)


# ---- summary ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sweep_run():
    return run_task(digits_task(), "builtin:digits-logreg", cells=parse_cells(["contrast", "gaussian_noise"]),
                    cache=False, bootstrap=200, seed=1)


def test_summary_drops_with_paired_intervals(sweep_run) -> None:
    summary = sweep_run.document.summary
    assert summary["metric"] == "top1" and summary["higher_is_better"] is True
    clean = sweep_run.cells[0]
    hits_clean = clean.states[0].hits()[1].astype(float)
    for cell, row in zip(sweep_run.cells[1:], summary["cells"]):
        assert (row["shift"], row["severity"]) == (cell.cell.shift, cell.cell.severity)
        assert row["drop"] == pytest.approx(clean.metrics["top1"].value - cell.metrics["top1"].value)
        hits = cell.states[0].hits()[1].astype(float)
        # the same resamples for both cells: the interval of (cell - clean), flipped into a drop
        test = intervals.paired_bootstrap(lambda c, h=hits: c @ h / c.sum(1), lambda c: c @ hits_clean / c.sum(1),
                                      len(hits), 200, 1)
        assert row["drop_ci95"] == pytest.approx([-test.ci95[1], -test.ci95[0]])
        assert row["n_paired"] == 450
    contrast = [r for r in summary["cells"] if r["shift"] == "contrast"]
    assert contrast[-1]["drop"] > contrast[0]["drop"] > 0  # contrast 5 hurts more than contrast 1


def test_summary_auc_and_corruption_error(sweep_run, tmp_path) -> None:
    summary = sweep_run.document.summary
    clean = summary["clean"]
    for fam in ("contrast", "gaussian_noise"):
        vals = [r["value"] for r in summary["cells"] if r["shift"] == fam]
        xs, ys = np.arange(6.0), np.array([clean, *vals])
        expected = float(np.sum((xs[1:] - xs[:-1]) * (ys[1:] + ys[:-1]) / 2)) / 5
        assert summary["families"][fam]["auc"] == pytest.approx(expected)
        assert summary["families"][fam]["mean"] == pytest.approx(np.mean(vals))
    errors = {f: np.mean([1 - r["value"] for r in summary["cells"] if r["shift"] == f]) for f in ("contrast",
                                                                                                 "gaussian_noise")}
    assert summary["mean_error"] == pytest.approx(np.mean(list(errors.values())))  # no baseline: unnormalised
    from gapbench.runner.sweep import sweep_summary

    with_alexnet = sweep_summary(sweep_run.cells, bootstrap=50, seed=0, ci=True, baseline="alexnet")
    ce = {f: errors[f] / ALEXNET_ERRORS[f] for f in errors}
    assert with_alexnet["corruption_error"] == pytest.approx(ce)
    assert with_alexnet["mce"] == pytest.approx(np.mean(list(ce.values())))
    rce = {f: (errors[f] - (1 - clean)) / (ALEXNET_ERRORS[f] - ALEXNET_CLEAN_ERROR) for f in errors}
    assert with_alexnet["relative_mce"] == pytest.approx(np.mean(list(rce.values())))
    base = tmp_path / "base.json"
    base.write_text(json.dumps({"clean": 0.1, "corruptions": {"contrast": [0.2, 0.3, 0.4, 0.5, 0.6]}}))
    user = sweep_summary(sweep_run.cells, bootstrap=50, seed=0, ci=True, baseline=str(base))
    assert user["corruption_error"] == pytest.approx({"contrast": errors["contrast"] / 0.4})
    assert any("gaussian_noise: not in baseline" in n for n in user["notes"])


# ---- determinism, resume, skips ----------------------------------------------------------------------


class Counting:
    def __init__(self, crash_after: int | None = None) -> None:
        self.crash_after, self.calls = crash_after, 0

    def __call__(self, batch):
        if self.crash_after is not None and self.calls >= self.crash_after:
            raise RuntimeError("model crashed")
        self.calls += 1
        return [np.concatenate([np.asarray(x, dtype=float).sum(axis=0), [0.5, 0.25]]) for x in batch]


def test_shifted_inputs_do_not_depend_on_threads(tmp_path) -> None:
    cells = parse_cells(["gaussian_noise,impulse_noise"], "3")
    runs = [run_task(digits_task(), Counting(), cells=cells, limit=64, cache=False, workers=w, batch_size=b)
            for w, b in ((0, 64), (3, 5))]
    for a, b in zip(runs[0].cells, runs[1].cells):
        assert a.states[0].table().tolist() == b.states[0].table().tolist()


def test_killed_sweep_resumes_with_only_the_missing_work(tmp_path) -> None:
    cells = parse_cells(["contrast"], "2,4")
    cache = tmp_path / "cache"
    model = Counting(crash_after=4)  # 2 batches clean + 2 of the first shifted cell
    with pytest.raises(Exception, match="model crashed"):
        run_task(digits_task(), model, cells=cells, limit=60, batch_size=30, cache=cache)
    with ResponseCache(cache) as rc:
        assert rc.count() == 120
    model.crash_after, model.calls = None, 0
    resumed = run_task(digits_task(), model, cells=cells, limit=60, batch_size=30, cache=cache)
    assert model.calls == 2  # only the last cell's two batches
    fresh = run_task(digits_task(), Counting(), cells=cells, limit=60, batch_size=30, cache=False)
    assert resumed.document.to_json()["summary"] == fresh.document.to_json()["summary"]


def test_samples_a_shift_cannot_take_are_skipped_or_counted() -> None:
    cells = parse_cells(["fog"], "1")  # fog needs at least 32x32; digits are 8x8
    with pytest.raises(InputError, match=r"sample digits-\d+"):
        run_task(digits_task(), "builtin:digits-logreg", cells=cells, limit=20, cache=False)
    skip = run_task(digits_task(), "builtin:digits-logreg", cells=cells, limit=20, cache=False, on_error="skip")
    fog = skip.document.results[1].to_json()
    assert fog["n_skipped"] == 20 and fog["skipped"][0]["sample_id"].startswith("digits-")
    assert fog["metrics"] == {} and skip.document.summary["cells"][0]["n_skipped"] == 20
    count = run_task(digits_task(), "builtin:digits-logreg", cells=cells, limit=20, cache=False, on_error="count")
    assert count.document.results[1].metrics["top1"].value == 0.0  # each scored as an error


# ---- speech: the SNR-vs-WER curve ------------------------------------------------------------------------

ASR_DATA = textwrap.dedent('''
    import numpy as np
    from gapbench.core.media import Audio
    from gapbench.core.sample import Sample

    def tones():
        t = np.arange(16000) / 16000.0
        return [Sample(f"u{k}", Audio((0.3 * np.sin(2 * np.pi * (200 + 40 * k) * t)).astype(np.float32), 16000),
                       "one two three four") for k in range(12)]

    def asr(batch):
        """Hears the words that survive: one fewer for every 5 dB of noise below 30 dB SNR."""
        out = []
        for a in batch:
            x = a.samples.astype(float)
            t = np.arange(len(x)) / a.sample_rate
            f = np.fft.rfftfreq(len(x), 1 / a.sample_rate)
            spec = np.abs(np.fft.rfft(x)) ** 2
            peak = spec.max()
            noise = (spec.sum() - spec[spec > 0.5 * peak].sum()) + 1e-12
            snr = 10 * np.log10(spec[spec > 0.5 * peak].sum() / noise)
            keep = int(np.clip(np.floor((snr + 5) / 8), 0, 4))
            out.append(" ".join(["one", "two", "three", "four"][:keep]))
        return out
''')


def test_snr_curve_and_the_snr_where_wer_doubles(tmp_path) -> None:
    (tmp_path / "asr_toy.py").write_text(ASR_DATA)
    task = TaskSpec(name="asr-toy", type="asr", dataset=Target("asr_toy.py:tones", base_dir=str(tmp_path)),
                    metrics=(Target("gapbench.metrics.wer:WERMetric"),))
    res = run_task(task, f"python:{tmp_path / 'asr_toy.py'}:asr", cells=parse_cells(["noise:snr=30,20,10,0,-5"]),
                   cache=False, bootstrap=50)
    curve = res.document.summary["snr_curve"]
    assert curve["snr_db"] == [30.0, 20.0, 10.0, 0.0, -5.0]
    assert curve["value"] == sorted(curve["value"])  # WER rises as SNR falls
    from gapbench.shifts.audio_summary import snr_at_doubling

    assert curve["snr_at_doubling_db"] == snr_at_doubling(curve["snr_db"], curve["value"], curve["clean"])
    fam = res.document.summary["families"]["noise"]
    assert fam["auc_over"] == "snr from -5 to 30"
    for entry in res.document.to_json()["results"]:  # every cell carries its own latency block
        lat = entry["latency"]
        assert lat["rtfx"] > 0 and lat["rtf"] == pytest.approx(1 / lat["rtfx"])
        assert set(lat["stages"]) == {"decode", "shift", "preprocess", "inference", "postprocess", "transport"}
