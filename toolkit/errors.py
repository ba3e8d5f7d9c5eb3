"""One exception hierarchy and one exit-code table for the whole toolkit.

Library code raises these; only the CLI turns them into exit codes, through ``exit_code_for``.
Every message is written for the person who has to fix the input: it names the file, line,
component or record and says what to do.
"""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    """Process exit codes, documented in README's table; each outcome has its own number."""

    OK = 0
    PROBLEMS_FOUND = 1
    USAGE = 2
    INTERNAL = 70


class SftkError(Exception):
    """Base of every error the toolkit reports to a user."""

    exit_code: ExitCode = ExitCode.INTERNAL

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n  hint: {self.hint}"


class UsageError(SftkError):
    """Bad command-line usage or a bad argument value."""

    exit_code = ExitCode.USAGE


class ConfigError(SftkError):
    """sftk.toml, a spec file or a metadata folder cannot be used as written."""

    exit_code = ExitCode.USAGE


class TemplateError(ConfigError):
    """A Jinja template failed to load or render; the message names the template and line."""


class PluginError(SftkError):
    """A plugin misbehaved in a way that stops the command (a failed import is only reported)."""

    exit_code = ExitCode.USAGE


def exit_code_for(error: BaseException) -> ExitCode:
    """The single mapping from an exception to the process exit code."""
    if isinstance(error, SftkError):
        return error.exit_code
    return ExitCode.INTERNAL
