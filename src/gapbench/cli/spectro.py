"""``gapbench spectro build | eval | export``: the "Seeing isn't Hearing" spectrogram-reading benchmark."""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from gapbench.cli.options import BootstrapOpt, FormatOpt, OutOpt, OutputFormat, StoreOpt

spectro_app = typer.Typer(help="Can a vision-language model read a word from its spectrogram? "
                               "(Loakman, Lin & James 2025): build the corpus, evaluate models, "
                               "export finetuning data.",
                          no_args_is_help=True)


def results_table(doc: dict[str, Any]) -> Any:
    """The paper-style table: condition x model, accuracy with 95% CI, mean PED, unparseable share."""
    from rich.markup import escape
    from rich.table import Table

    def cell(m: dict[str, Any] | None) -> str:
        if not m or m.get("value") is None:
            return "n/a"
        ci = m.get("ci95")
        return f"{m['value']:.3f}" + (f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else "")

    audit = doc.get("audit") or {}
    title = (f"spectro eval {doc['eval_id']} ({doc.get('design') or '?'} design, split {doc.get('split') or 'all'}"
             f"{', blank images' if doc.get('blank') else ''}); blind-rule audit: "
             f"{audit.get('accuracy', 0) or 0:.3f} vs chance {audit.get('chance') or 0:.3f}")
    table = Table(title=escape(title), title_justify="left")
    circ = any("circular_accuracy" in r["metrics"] for r in doc["results"])
    cols = ["condition", "model", "n", "accuracy [95% CI]"] + (["circular [95% CI]"] if circ else []) + \
        ["mean PED", "unparseable", "skipped"]
    for col in cols:
        table.add_column(col, justify="left" if col in ("condition", "model") else "right")
    for r in doc["results"]:
        m = r["metrics"]
        table.add_row(r["condition"], escape(r["model"]), str(r["n"]), cell(m.get("accuracy")),
                      *([cell(m.get("circular_accuracy"))] if circ else []),
                      cell(m.get("mean_ped")), cell(m.get("unparseable")), str(r["n_skipped"]))
    return table


def register(app: typer.Typer, score_app: typer.Typer, compare_app: typer.Typer) -> None:
    app.add_typer(spectro_app, name="spectro")

    @spectro_app.command("build")
    def spectro_build(
        out: Annotated[Path, typer.Option("--out", "-o", help="directory to build into")] = Path("spectro"),
        words: Annotated[int, typer.Option("--words", min=1, help="number of items (most frequent words; "
                                                                  "with --unit: phones / diphones)")] = 4068,
        pool: Annotated[int, typer.Option("--pool", min=100, help="wordfreq's top-N words the distractors "
                                                                  "come from")] = 20000,
        seed: Annotated[int, typer.Option("--seed", min=0, help="splits, tie-breaks, option order")] = 0,
        design: Annotated[str, typer.Option("--design", help="debiased (spoken word = random member of its "
                                                              "option set) or paper (as published)")] = "debiased",
        voice: Annotated[str, typer.Option("--voice", help="espeak-ng voice (en-us, en, en-029, en-us+f3...)")] \
        = "en-us",
        rate: Annotated[int, typer.Option("--rate", min=80, max=450, help="espeak-ng words per minute")] = 150,
        pitch: Annotated[int, typer.Option("--pitch", min=0, max=100, help="espeak-ng pitch 0..100")] = 50,
        ped: Annotated[str, typer.Option("--ped", help="levenshtein (segments) or panphon (feature-weighted)")]
        = "levenshtein",
        colormap: Annotated[str, typer.Option("--colormap", help="viridis, magma or gray")] = "viridis",
        width: Annotated[int, typer.Option("--width", min=16, help="figure width in pixels")] = 448,
        height: Annotated[int, typer.Option("--height", min=16, help="spectrogram height in pixels")] = 224,
        n_fft: Annotated[int, typer.Option("--n-fft", min=16, help="STFT window (paper: 128)")] = 128,
        hop: Annotated[int, typer.Option("--hop-length", min=1, help="STFT hop (paper: 22)")] = 22,
        top_db: Annotated[float, typer.Option("--top-db", min=1.0, help="dynamic range in dB (paper: 70)")] = 70.0,
        word_list: Annotated[Path | None, typer.Option("--word-list", help="one word per line instead of the "
                                                                            "frequency list")] = None,
        audio_dir: Annotated[Path | None, typer.Option("--audio-dir", help="natural speech: a folder of recorded "
                                                       "words (word.wav, or transcripts.tsv: file<TAB>word) "
                                                       "instead of TTS")] = None,
        unit: Annotated[str, typer.Option("--unit", help="word, or phone / diphone items (an easier curriculum: "
                                                         "single sounds, distractors by articulatory distance)")]
        = "word",
        workers: Annotated[int, typer.Option("--workers", min=1, help="processes")] = 2,
        fmt: FormatOpt = OutputFormat.table,
    ) -> None:
        """Audio, spectrogram and waveform PNGs, items and a checksummed manifest."""
        from gapbench.core.progress import progress
        from gapbench.errors import InputError
        from gapbench.spectro.build import BuildParams, build
        from gapbench.spectro.render import RenderParams

        wl: tuple[str, ...] = ()
        if word_list is not None:
            try:
                wl = tuple(w.strip() for w in word_list.read_text(encoding="utf-8").splitlines() if w.strip())
            except OSError as exc:
                raise InputError(str(word_list), None, "a readable text file", exc.strerror) from None
        try:
            render = RenderParams(n_fft=n_fft, hop_length=hop, top_db=top_db, width=width, height=height,
                                  colormap=colormap)
            params = BuildParams(words=words, pool=pool, seed=seed, design=design, voice=voice, rate=rate,
                                 pitch=pitch, ped=ped, word_list=wl, render=render,
                                 audio_dir=str(audio_dir) if audio_dir else None, unit=unit)
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from None
        with progress(None if audio_dir or unit != "word" else len(wl) or words, "synthesising and rendering") \
                as advance:
            manifest = build(params, out, workers=workers, on_progress=advance)
        summary = {k: manifest[k] for k in ("items", "splits", "failures")} | {"out": str(out)}
        if fmt == OutputFormat.json:
            sys.stdout.write(json.dumps(summary) + "\n")
            return
        from gapbench.cli.render import console, print_notes

        console().print(f"{manifest['items']} items in {out} (splits {manifest['splits']})")
        print_notes([f"{f['word']}: {f['reason']}" for f in manifest["failures"]][:20])

    @spectro_app.command("eval")
    def spectro_eval(
        model: Annotated[list[str], typer.Option("--model", "-m", help="model URI, repeatable: baseline:asr, "
                                                  "baseline:blind, baseline:chance, python:..., openai:..., hf:...")],
        data: Annotated[Path, typer.Option("--data", "-d", help="a build directory")] = Path("spectro"),
        condition: Annotated[list[str] | None, typer.Option(
            "--condition", "-c", help="graphemic-spec, graphemic-spec-wave, phonemic-spec, phonemic-spec-wave "
                                      "(repeatable; default all four)")] = None,
        split: Annotated[str | None, typer.Option("--split", help="train, dev or test (default: every item)")] = None,
        blank: Annotated[bool, typer.Option("--blank", help="blank-image ablation: same prompts, empty images")]
        = False,
        limit: Annotated[int | None, typer.Option("--limit", min=1, help="first N items per condition")] = None,
        hints: Annotated[bool, typer.Option("--hints", help="put a short spectrogram-reading guide in the prompt")]
        = False,
        circular: Annotated[bool, typer.Option("--circular", help="also ask every option rotation; "
                                                                  "circular_accuracy = right under all")] = False,
        scoring: Annotated[str, typer.Option("--scoring", help="generate (then extract the letter) or loglik "
                                                               "(hf: models: the most likely option text)")]
        = "generate",
        no_cache: Annotated[bool, typer.Option("--no-cache", help="do not reuse or store responses")] = False,
        save: Annotated[bool, typer.Option("--save", help="also save every run (JSON in --runs-dir, then the "
                                                          "store), grouped by the eval_id")] = False,
        store: StoreOpt = None,
        runs_dir: Annotated[Path, typer.Option("--runs-dir", help="where --save writes run JSON")] \
        = Path("gapbench-out"),
        bootstrap: BootstrapOpt = 1000,
        fmt: FormatOpt = OutputFormat.table,
        out: OutOpt = None,
    ) -> None:
        """Score models on every condition; the blind-rule audit is reported beside the results."""
        from gapbench.cli.render import console, emit
        from gapbench.spectro.eval import evaluate
        from gapbench.spectro.prompts import CONDITIONS

        try:
            doc, outcomes = evaluate(data, model, conditions=condition or CONDITIONS, split=split, blank=blank,
                                     limit=limit, cache=not no_cache, bootstrap=bootstrap, circular=circular,
                                     hints=hints, scoring=scoring)
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from None
        emit(doc, fmt, out, lambda: console().print(results_table(doc)))
        if save:
            from gapbench.cli.render import err_console
            from gapbench.spectro.eval import save_runs

            ids = save_runs(outcomes, store_url=store, out_dir=runs_dir)
            err_console().print(f"{len(ids)} runs of eval {doc['eval_id']} saved ({runs_dir}, store)", markup=False)

    @spectro_app.command("export")
    def spectro_export(
        out: Annotated[Path, typer.Option("--out", "-o", help="file to write")],
        fmt_: Annotated[str, typer.Option("--format", help="llava (JSON) or qwen-chat (JSON Lines)")] = "llava",
        data: Annotated[Path, typer.Option("--data", "-d", help="a build directory")] = Path("spectro"),
        condition: Annotated[str, typer.Option("--condition", "-c", help="which condition's prompt and images")]
        = "graphemic-spec",
        split: Annotated[str, typer.Option("--split", help="train, dev, test or all")] = "train",
        absolute: Annotated[bool, typer.Option("--absolute", help="absolute image paths")] = False,
    ) -> None:
        """Finetuning data in LLaVA or Qwen chat format (prompts identical to evaluation)."""
        from gapbench.cli.render import err_console
        from gapbench.spectro.export import export

        try:
            n = export(data, out, fmt_, condition=condition, split=None if split == "all" else split,
                       absolute=absolute)
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from None
        err_console().print(f"{n} examples written to {out}", markup=False)
