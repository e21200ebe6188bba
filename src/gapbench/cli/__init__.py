"""The ``gapbench`` command: a thin layer over the library.

Each area registers its commands from its own module (``register(app)``), and every module
imports heavy libraries inside the command body, so ``gapbench --help`` stays fast.
"""

from __future__ import annotations

import importlib
import sys

import typer


def _no_flag_metavar() -> None:
    """Typer >= 0.29 prints a ``<bool>`` type beside every flag (``--no-ci <bool>``) as if it took
    a value; flags take none, so show none."""
    from typer.core import TyperOption

    shown = TyperOption.display_type_rich

    def display_type_rich(self: TyperOption, ctx: typer.Context) -> str | None:
        return "" if getattr(self, "is_flag", False) and self.metavar is None else shown(self, ctx)

    TyperOption.display_type_rich = display_type_rich  # type: ignore[method-assign]


_no_flag_metavar()

app = typer.Typer(
    name="gapbench",
    help="Benchmark vision and speech models the way production sees them.\n\n"
    "With no command, gapbench runs its embedded default suite (offline) and prints the results table.",
    no_args_is_help=False,
    add_completion=False,
    pretty_exceptions_enable=False,
)
score_app = typer.Typer(
    help="Score existing predictions with the reference metric of their field, plus 95% CIs."
)
compare_app = typer.Typer(help="Paired bootstrap comparison of two systems on the same references.")


@app.callback(invoke_without_command=True)
def _root(
    ctx: typer.Context,
    debug: bool = typer.Option(False, "--debug", help="show full tracebacks instead of one-line errors"),
) -> None:
    """With no command, run the embedded default suite (offline) and print its results table."""
    if ctx.invoked_subcommand is None:
        from gapbench.cli.suite import run_default_suite

        raise typer.Exit(run_default_suite())


app.add_typer(score_app, name="score")
app.add_typer(compare_app, name="compare")

# Modules that add commands; each defines ``register(app, score_app, compare_app)``.
COMMAND_MODULES = (
    "gapbench.cli.score_text",
    "gapbench.cli.score_coco",
    "gapbench.cli.score_der",
    "gapbench.cli.score_arrays",
    "gapbench.cli.run",
    "gapbench.cli.latency",
    "gapbench.cli.runs",
    "gapbench.cli.cache",
    "gapbench.cli.compare_runs",
    "gapbench.cli.shifts",
    "gapbench.cli.spectro",
    "gapbench.cli.suite",
)


def _register_all() -> None:
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(app, score_app, compare_app)


_register_all()


def main(argv: list[str] | None = None) -> int:
    """Entry point: bad input and bad usage become one line on stderr (``--debug`` shows the
    traceback); nothing computed is lost, because every command writes its results first.

    As the process's entry (``argv`` None) it freezes what is alive before returning, so the
    interpreter's shutdown does not walk it (:func:`gapbench.core.gc_control.freeze_for_exit`)."""
    if argv is None:
        try:
            return _main(sys.argv[1:])
        finally:
            from gapbench.core.gc_control import freeze_for_exit

            freeze_for_exit()
    return _main(argv)


def _main(args: list[str]) -> int:
    from gapbench.core.registry import UnknownNameError
    from gapbench.errors import InputError, ModelError
    from gapbench.runner.cache import CacheError
    from gapbench.store import StoreError

    debug = "--debug" in args
    args = [a for a in args if a != "--debug"]
    try:
        code = app(args, prog_name="gapbench", standalone_mode=False)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except (InputError, UnknownNameError, ModelError, StoreError, CacheError, FileNotFoundError,
            IsADirectoryError, PermissionError) as exc:
        if debug:
            raise
        hint = " (or run with --no-cache)" if isinstance(exc, CacheError) else ""
        sys.stderr.write(f"gapbench: error: {_one_line(exc)}{hint}\n")
        return 2
    except Exception as exc:  # Typer's usage errors (vendored click): one line, not a box
        if not hasattr(exc, "format_message") or debug:
            raise
        where = getattr(getattr(exc, "ctx", None), "command_path", "gapbench")
        sys.stderr.write(f"gapbench: error: {exc.format_message()} (see '{where} --help')\n")
        return int(getattr(exc, "exit_code", 2))
    except KeyboardInterrupt:
        sys.stderr.write("gapbench: interrupted\n")
        return 130
    return code if isinstance(code, int) else 0


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, (FileNotFoundError, IsADirectoryError, PermissionError)) and exc.filename:
        return f"{exc.filename}: {exc.strerror or 'cannot be read'}"
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
