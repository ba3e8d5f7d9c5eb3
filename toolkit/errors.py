"""One exception hierarchy and one exit-code table for the whole toolkit.

Library code raises these; only the CLI turns them into exit codes, through ``exit_code_for``.
Every message is written for the person who has to fix the input: it names the file, line,
component or record and says what to do.
"""

from __future__ import annotations

import enum
import errno
from collections.abc import Sequence


class ExitCode(enum.IntEnum):
    """Process exit codes, documented in README's table; each outcome has its own number."""

    OK = 0
    PROBLEMS_FOUND = 1  # offline validation found problems
    USAGE = 2  # bad command line, sftk.toml, spec or template
    DEPLOY_FAILED = 3  # the org refused the deploy (components or tests failed)
    PARTIAL_SUCCESS = 4  # a sandbox deploy without rollbackOnError kept some components
    COVERAGE_BELOW_GATE = 5  # deployed or validated, but coverage is under the project's bar
    TIMED_OUT = 6  # the deploy is still running in the org (wait limit, or a report on it)
    CANCELED = 7  # the deploy was canceled
    PREFLIGHT_FAILED = 8  # the org is not fit for the deploy (edition, permissions, limits)
    ORG_UNREACHABLE = 9  # could not connect, authenticate or talk to the org
    NOT_PROVEN = 10  # production refused: this package was not deployed to a sandbox first
    SNAPSHOT_INVALID = 11  # a snapshot failed its integrity check and was refused
    ROLLBACK_UNVERIFIED = 12  # a rollback ran, but the org does not match the snapshot
    RECORDS_FAILED = 13  # a sync ran to its end, but some records were dead-lettered
    API_GUARD_STOPPED = 14  # a sync stopped before spending its share of the daily API requests
    SOURCE_FAILED = 15  # a sync source could not be read (file, server, credentials)
    INTERNAL = 70  # a bug in sftk
    INTERRUPTED = 130  # Ctrl-C; a deploy being waited for keeps running in the org (resume it)


class SftkError(Exception):
    """Base of every error the toolkit reports to a user."""

    exit_code: ExitCode = ExitCode.INTERNAL

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n  hint: {self.hint}"

    def add_context(self, message: str, hint: str) -> None:
        """Say where the command stood when this happened (a deploy already in the org, a
        rollback half done) and what to do next; the error keeps its kind and exit code."""
        self.message = f"{self.message}\n  {message}"
        self.hint = hint if not self.hint else f"{hint}; {self.hint}"


class UsageError(SftkError):
    """Bad command-line usage or a bad argument value."""

    exit_code = ExitCode.USAGE


class ConfigError(SftkError):
    """sftk.toml, a spec file or a metadata folder cannot be used as written."""

    exit_code = ExitCode.USAGE


class ConfigProblems(ConfigError):
    """Several problems of the input found in one reading, reported at once so that a person
    fixes them in one pass instead of one per run. ``problems`` holds each, with its hint."""

    def __init__(self, problems: Sequence[ConfigError]) -> None:
        self.problems = tuple(problems)
        lines = [f"{len(self.problems)} problems:"]
        for problem in self.problems:
            lines.append(f"  {problem.message}")
            if problem.hint:
                lines.append(f"    hint: {problem.hint}")
        super().__init__("\n".join(lines))


def combined(problems: Sequence[ConfigError]) -> ConfigError | None:
    """One error for ``problems`` (None when there are none): the problem itself when there is
    one, else all of them, lists of problems flattened."""
    flat = [
        p
        for found in problems
        for p in (found.problems if isinstance(found, ConfigProblems) else (found,))
    ]
    if len(flat) <= 1:
        return flat[0] if flat else None
    return ConfigProblems(flat)


class TemplateError(ConfigError):
    """A Jinja template failed to load or render; the message names the template and line."""


class PluginError(SftkError):
    """A plugin misbehaved in a way that stops the command (a failed import is only reported)."""

    exit_code = ExitCode.USAGE


class SourceError(SftkError):
    """A sync source cannot be read: a file that is missing or truncated, a server that is
    down or refuses the credentials. Plugins raise it from ``SourceSpec.read``; the stream
    stops there, keeping what it loaded, and the other streams still run."""

    exit_code = ExitCode.SOURCE_FAILED


class PluginChecksFailed(SftkError):
    """A plugin's preflight check failed: nothing was synced."""

    exit_code = ExitCode.PREFLIGHT_FAILED


class SnapshotInvalid(SftkError):
    """A snapshot's files do not match the hashes written with it: it is not used."""

    exit_code = ExitCode.SNAPSHOT_INVALID

    def __init__(self, message: str) -> None:
        super().__init__(
            message,
            hint="restore the snapshot folder from a backup copy, or choose another snapshot",
        )


class CoverageGateMissed(SftkError):
    """A validation under the project's coverage gate asked to be quick-deployed."""

    exit_code = ExitCode.COVERAGE_BELOW_GATE


class NotProven(SftkError):
    """A production deploy of a package no sandbox of the project has taken."""

    exit_code = ExitCode.NOT_PROVEN


class OrgError(SftkError):
    """Talking to an org failed: connection, authentication, or an API error the org returned.

    ``code`` is Salesforce's error code (INVALID_SESSION_ID, UNABLE_TO_LOCK_ROW, ...) or a
    transport condition (``CONNECTION``, ``TIMEOUT``, ``HTTP_503``) so callers can decide from
    a table whether to retry; ``status`` is the HTTP status when there was one."""

    exit_code = ExitCode.ORG_UNREACHABLE

    def __init__(
        self, message: str, *, code: str, status: int | None = None, hint: str | None = None
    ) -> None:
        super().__init__(message, hint=hint)
        self.code = code
        self.status = status


# What the machine refused, not a mistake of sftk: a path it may not write or read, a full disk.
_ENVIRONMENT_ERRNOS = frozenset(
    {errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
)


def environment_error(error: BaseException) -> SftkError | None:
    """An error no code of sftk worded yet, when it is the machine refusing a file: said as
    such, naming the file, instead of as a bug in sftk."""
    if not isinstance(error, OSError) or error.errno not in _ENVIRONMENT_ERRNOS:
        return None
    where = f"{error.filename}: " if error.filename else ""
    return ConfigError(
        f"{where}{error.strerror}",
        hint="check the permissions of that path and the free disk space, then run the "
        "command again",
    )


def exit_code_for(error: BaseException) -> ExitCode:
    """The single mapping from an exception to the process exit code."""
    if isinstance(error, SftkError):
        return error.exit_code
    return ExitCode.INTERNAL
