"""The ``snntrace`` command line. Each command lives in ``snntrace/commands/<name>.py`` and loads on first use.

Exit codes are decided here and in the commands only: 0 ok / valid, 1 invalid trace or failed check, 2 unreadable
input or bad usage.
"""

from __future__ import annotations

import importlib
import importlib.util
import click

from snntrace._version import SPEC_VERSION, __version__
from snntrace.errors import SnntraceError

# command name -> "module:attribute" of its click command, imported only when the command runs.
COMMANDS = {
    "validate": "snntrace.commands.validate:command",
    "info": "snntrace.commands.info:command",
    "schema": "snntrace.commands.schema:command",
    "report": "snntrace.commands.report:command",
    "simulate": "snntrace.commands.simulate:command",
    "demo": "snntrace.commands.demo:command",
    "convert": "snntrace.commands.convert:command",
    "export": "snntrace.commands.export:command",
    "check": "snntrace.commands.check:command",
}


class TraceCliError(click.ClickException):
    """An snntrace error reported on the command line: its code, location and message; exit code 2."""

    exit_code = 2

    def __init__(self, error: SnntraceError):
        super().__init__(str(error))
        self.error = error


class LazyGroup(click.Group):
    """A click group whose subcommands (``commands``: name -> "module:attribute") are imported when invoked."""

    def __init__(self, *args, commands: dict[str, str] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.lazy_commands = COMMANDS if commands is None else commands

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(name for name in self.lazy_commands if self._available(name))

    def _available(self, name: str) -> bool:
        module = self.lazy_commands[name].split(":")[0]
        return importlib.util.find_spec(module) is not None

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except SnntraceError as exc:
            raise TraceCliError(exc) from exc

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in self.lazy_commands or not self._available(name):
            return None
        module_name, attribute = self.lazy_commands[name].split(":")
        return getattr(importlib.import_module(module_name), attribute)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="snntrace", message=f"%(prog)s %(version)s (trace format {SPEC_VERSION})")
def cli() -> None:
    """See what a spiking neural network simulation did: validate, convert and report on snntrace traces."""


def main() -> None:
    """Run the command line."""
    cli(prog_name="snntrace")
