"""The ``gapbench`` command: a thin layer over the library.

Each area registers its commands from its own module (``register(app)``), and every module
imports heavy libraries inside the command body, so ``gapbench --help`` stays fast.
"""

from __future__ import annotations

import importlib
import sys

import typer

app = typer.Typer(
    name="gapbench",
    help="Benchmark vision and speech models the way production sees them.",
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
        from gapbench.suite import run_default_suite

        raise typer.Exit(run_default_suite())


app.add_typer(score_app, name="score")
app.add_typer(compare_app, name="compare")

# Modules that add commands; each defines ``register(app, score_app, compare_app)``.
COMMAND_MODULES = (
    "gapbench.cli.score_text",
    "gapbench.cli.score_coco",
    "gapbench.cli.score_der",
    "gapbench.cli.score_arrays",
    "gapbench.cli.run_cmd",
    "gapbench.cli.suite_cmd",
)


def _register_all() -> None:
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:  # an area not built yet must not break the rest
            if exc.name != name:
                raise
            continue
        module.register(app, score_app, compare_app)


_register_all()


def main(argv: list[str] | None = None) -> int:
    """Entry point: bad input becomes one line on stderr (``--debug`` shows the traceback)."""
    from gapbench.core.registry import UnknownNameError
    from gapbench.errors import InputError

    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    args = [a for a in args if a != "--debug"]
    try:
        app(args, prog_name="gapbench", standalone_mode=True)  # usage errors: Typer's own message
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except (InputError, UnknownNameError, FileNotFoundError, IsADirectoryError) as exc:
        if debug:
            raise
        sys.stderr.write(f"gapbench: error: {_one_line(exc)}\n")
        return 2
    return 0


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, (FileNotFoundError, IsADirectoryError)) and exc.filename:
        return f"{exc.filename}: {exc.strerror or 'cannot be read'}"
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
