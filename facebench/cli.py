"""The ``facebench`` command line. Each command parses its options, calls one library function and
prints; all logic lives in importable modules (tested without the CLI). A user mistake ends in
one line on stderr naming the file and the problem, and exit code 2 — never a traceback."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from facebench import __version__
from facebench.errors import FacebenchError

DEFAULT_DATA = Path("data/default")   # where `facebench prepare` with no input writes


def _int_list(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise click.BadParameter(f"expected comma-separated integers, got {text!r}") from None
    if not values or any(v <= 0 for v in values):
        raise click.BadParameter(f"expected positive integers, got {text!r}")
    return values


class UserError(click.ClickException):
    """A FacebenchError on its way out: ``error: <file>: <problem>`` on stderr, exit code 2."""

    exit_code = 2

    def show(self, file=None) -> None:  # noqa: D102 - click's signature
        click.echo(f"error: {self.message}", err=True)


class FacebenchGroup(click.Group):
    """Turns library errors about the user's input into one line and a non-zero exit."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except FacebenchError as err:
            raise UserError(str(err)) from None


@click.group(cls=FacebenchGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="facebench")
def cli() -> None:
    """facebench: facial landmark detection on very high resolution images (256 ... 4096 px).

    \b
    Typical session:
      facebench prepare                       # no input: synthesizes a studio capture, prepares it
      facebench run --method adc --res 512    # train, predict the test split, score -> runs/
      facebench report runs --out report      # tables, figures and index.html
    """


main = cli  # console-script entry point

# ---- commands (each: parse, call one library function, print) ---------------------------------
