from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

pytest.importorskip("espeakng_loader", reason="spectro needs the [spectro] extra")


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    from gapbench.cli import spectro

    app, score, compare = typer.Typer(), typer.Typer(), typer.Typer()
    spectro.register(app, score, compare)
    return app


@pytest.mark.slow
def test_build_eval_export(app: typer.Typer, tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "sp"
    r = runner.invoke(app, ["spectro", "build", "--words", "12", "--pool", "3000", "--out", str(out),
                            "--design", "paper", "--workers", "1", "--format", "json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["items"] == 12
    r = runner.invoke(app, ["spectro", "eval", "--data", str(out), "-m", "baseline:blind", "-m", "baseline:chance",
                            "-c", "graphemic-spec", "--no-cache", "--format", "json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert {x["model"] for x in doc["results"]} == {"baseline:blind", "baseline:chance"}
    for x in doc["results"]:
        assert set(x["metrics"]) == {"accuracy", "mean_ped", "unparseable"} and x["split"] == "all"
    store = tmp_path / "store.db"
    r = runner.invoke(app, ["spectro", "eval", "--data", str(out), "-m", "baseline:blind", "--no-cache",
                            "-c", "phonemic-spec", "--save", "--store", str(store), "--runs-dir", str(tmp_path / "runs")])
    assert r.exit_code == 0 and "blind-rule audit" in r.stdout
    runs = [json.loads(p.read_text()) for p in (tmp_path / "runs").glob("*.json")]
    assert len(runs) == 1 and runs[0]["spec"]["options"]["condition"] == "phonemic-spec"
    assert runs[0]["spec"]["options"]["eval_id"] in r.stdout and store.is_file()
    r = runner.invoke(app, ["spectro", "export", "--data", str(out), "--format", "qwen-chat", "--split", "all",
                            "--out", str(tmp_path / "q.jsonl")])
    assert r.exit_code == 0 and len((tmp_path / "q.jsonl").read_text().splitlines()) == 12


def test_bad_design_is_a_usage_error(app: typer.Typer, tmp_path: Path) -> None:
    r = CliRunner().invoke(app, ["spectro", "build", "--design", "fancy", "--out", str(tmp_path)])
    assert r.exit_code == 2


@pytest.mark.slow
def test_unit_build_and_scoring_option(app: typer.Typer, tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "di"
    r = runner.invoke(app, ["spectro", "build", "--unit", "diphone", "--words", "10", "--pool", "3000", "--out",
                            str(out), "--workers", "1", "--format", "json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["items"] == 10
    assert all(json.loads(ln)["unit"] == "diphone" for ln in (out / "items.jsonl").read_text().splitlines())
    r = runner.invoke(app, ["spectro", "eval", "--data", str(out), "-m", "baseline:blind", "-c", "phonemic-spec",
                            "--scoring", "loglik", "--no-cache", "--format", "json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["results"][0]["scoring"] == "generate"  # baselines answer as they always do
    r = runner.invoke(app, ["spectro", "eval", "--data", str(out), "-m", "openai:vlm", "--scoring", "loglik"])
    assert r.exit_code == 2 and "loglik needs local hf" in r.output
    r = runner.invoke(app, ["spectro", "build", "--unit", "syllable", "--out", str(tmp_path / "x")])
    assert r.exit_code == 2
