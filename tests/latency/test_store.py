"""`gapbench latency` stores its run like every other run: JSON under --out first, then the store."""
from __future__ import annotations

import json

import typer
from typer.testing import CliRunner

ARGS = ["latency", "--task", "digits", "--limit", "30", "--min-queries", "30", "--min-duration", "0",
        "--warmup-queries", "2", "--no-early-stopping", "--format", "json"]


def _app() -> typer.Typer:
    from gapbench.cli import latency

    app = typer.Typer()
    latency.register(app, typer.Typer(), typer.Typer())
    app.command("noop")(lambda: None)  # a second command keeps `latency` a subcommand
    return app


def test_latency_run_is_written_and_stored(tmp_path):
    from gapbench.store import open_store

    url = f"sqlite:///{tmp_path / 'runs.db'}"
    res = CliRunner().invoke(_app(), [*ARGS, "--store", url, "--out", str(tmp_path / "out")])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    path = tmp_path / "out" / f"{doc['run_id']}.json"
    assert json.loads(path.read_text()) == doc
    with open_store(url) as store:
        got = store.get_run(doc["run_id"])
    assert got["kind"] == "latency" and got["latency"]["end_to_end"] == doc["latency"]["end_to_end"]
    assert got["results"][0]["metrics"]["top1"]["value"] == doc["results"][0]["metrics"]["top1"]["value"]
    assert doc["provenance"]["latency"]["clock"] == "time.perf_counter_ns" and doc["provenance"]["config_hash"]


def test_store_failure_names_the_json_already_written(tmp_path):
    from gapbench.store import StoreError

    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    res = CliRunner().invoke(_app(), [*ARGS, "--store", f"sqlite:///{blocker / 'runs.db'}",
                                      "--out", str(tmp_path / "out")])
    assert isinstance(res.exception, StoreError), res.output
    written = list((tmp_path / "out").glob("*.json"))
    assert len(written) == 1 and str(written[0]) in str(res.exception)
    assert "\n" not in str(res.exception)


def test_model_options_reach_the_adapter(tmp_path):
    """``--model-option`` (as in ``gapbench run``): the builtin digits model takes none, and says so."""
    from gapbench.errors import InputError

    res = CliRunner().invoke(_app(), [*ARGS, "--model-option", "device=cuda", "--store", str(tmp_path / "s.db"),
                                      "--out", str(tmp_path / "out")])
    assert isinstance(res.exception, InputError) and "take none" in str(res.exception)
    assert not (tmp_path / "out").exists()
