"""``gapbench cache info`` and ``gapbench cache prune``: what the response cache holds, and trimming it.

The library does the work (:mod:`gapbench.runner.cache_prune`); prune while no run uses the cache.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from gapbench.cli.options import FormatOpt, OutputFormat

CacheOpt = Annotated[Path | None, typer.Option(
    "--cache", metavar="PATH", help="the cache file or its directory (default: <out>/cache, as `gapbench run` uses)")]
CacheOutOpt = Annotated[Path, typer.Option(
    "--out", "-o", metavar="DIR", help="the run output directory whose cache is meant (<out>/cache)")]


def _path(cache: Path | None, out: Path) -> Path:
    from gapbench.runner.cache import default_cache_dir

    return cache if cache is not None else default_cache_dir(out)


def _when(t: float | None) -> str:
    return "n/a" if t is None else dt.datetime.fromtimestamp(t, dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


def _size(n: int) -> str:
    for unit, div in (("GB", 10**9), ("MB", 10**6), ("kB", 10**3)):
        if n >= div:
            return f"{n / div:.1f} {unit}"
    return f"{n} B"


def register(app: typer.Typer, score_app: typer.Typer, compare_app: typer.Typer) -> None:
    cache_app = typer.Typer(help="The response cache: what it holds (info) and trimming it (prune).")
    app.add_typer(cache_app, name="cache")

    @cache_app.command("info")
    def info_cmd(cache: CacheOpt = None, out: CacheOutOpt = Path("gapbench-out"),
                 fmt: FormatOpt = OutputFormat.table) -> None:
        """Size of the cache file, entries per model fingerprint, oldest and newest use (UTC)."""
        from gapbench.runner.cache_prune import cache_info

        info = cache_info(_path(cache, out))
        if fmt == OutputFormat.json:
            sys.stdout.write(json.dumps(info.to_json()) + "\n")
            return
        from rich.table import Table

        from gapbench.cli.render import console, err_console

        table = Table(title=f"{info.path}: {_size(info.file_bytes)}, {info.entries} entries", title_justify="left")
        for col in ("model fingerprint", "entries", "bytes", "oldest use (UTC)", "newest use (UTC)"):
            table.add_column(col)
        for m in info.models:
            table.add_row(m.fingerprint, str(m.entries), _size(m.bytes), _when(m.oldest_used), _when(m.newest_used))
        console().print(table)
        if info.legacy_entries:
            err_console().print(f"{info.legacy_entries} entries of the first cache schema (never read; "
                                "any prune drops them)", markup=False)

    @cache_app.command("prune")
    def prune_cmd(
        older_than: Annotated[str | None, typer.Option(
            "--older-than", metavar="AGE", help="delete entries unused for AGE: 30d, 12h, 2w, 90m, 3600s")] = None,
        max_size: Annotated[str | None, typer.Option(
            "--max-size", metavar="SIZE", help="then delete least recently used entries until the file fits: "
            "2GB, 500MB, 1GiB")] = None,
        model: Annotated[str | None, typer.Option(
            "--model", "-m", metavar="FINGERPRINT_OR_NAME",
            help="only this model's entries (a fingerprint, a unique prefix of one, or a model name/URI)")] = None,
        dry_run: Annotated[bool, typer.Option("--dry-run", help="say what would be deleted; delete nothing")] = False,
        cache: CacheOpt = None,
        out: CacheOutOpt = Path("gapbench-out"),
        fmt: FormatOpt = OutputFormat.table,
    ) -> None:
        """Delete cache entries, least recently used first, then VACUUM. Run it while no run uses the cache."""
        from gapbench.errors import InputError
        from gapbench.runner.cache_prune import match_fingerprints, parse_age, parse_size, prune_cache

        if older_than is None and max_size is None and model is None:
            raise InputError(None, "cache prune", "at least one of --older-than, --max-size, --model")
        path = _path(cache, out)
        report = prune_cache(
            path, older_than_s=None if older_than is None else parse_age(older_than),
            max_bytes=None if max_size is None else parse_size(max_size),
            fingerprints=None if model is None else match_fingerprints(path, model), dry_run=dry_run)
        if fmt == OutputFormat.json:
            sys.stdout.write(json.dumps(report.to_json()) + "\n")
        else:
            from gapbench.cli.render import console

            verb = "would delete" if report.dry_run else "deleted"
            console().print(f"{report.path}: {verb} {report.deleted} entries, kept {report.kept}; "
                            f"{_size(report.bytes_before)} -> {_size(report.bytes_after)}", markup=False)
        from gapbench.cli.render import print_notes

        print_notes(report.notes)
