"""The one error table: what each kind of exception becomes at each boundary.

The CLI (``app.main``: exit code and stderr line), the dashboard (``dashboard.context.show_error``:
the alert) and the Flask routes (``dashboard.app_factory``: HTTP status and text) all call
:func:`describe_error`, so an error reads the same wherever it surfaces. Rules are tried in order;
the first whose type matches wins.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from layers.errors import LayerError


class UsageError(ValueError):
    """A command-line option or a request parameter is invalid (the message says which and how to fix it)."""


class NotFoundError(LookupError):
    """A request names something that does not exist (an unknown chart, for example)."""


def _as_is(exc: BaseException) -> str:
    return str(exc)


def _invalid_input(exc: BaseException) -> str:
    return f"Invalid input: {exc}"


def _unexpected(exc: BaseException) -> str:
    return f"Something went wrong ({type(exc).__name__}: {exc}). The view was not updated; please report this."


@dataclass(frozen=True)
class ErrorRule:
    """One row of the table."""

    kind: type[BaseException]
    exit_code: int  # the CLI's exit status
    http_status: int  # the Flask routes' response status
    message: Callable[[BaseException], str]  # the dashboard alert and the HTTP response text
    expected: bool  # the user can fix it: no traceback is logged, the CLI prints "error: <message>"


ERROR_TABLE: tuple[ErrorRule, ...] = (
    ErrorRule(KeyboardInterrupt, 130, 503, lambda _exc: "interrupted", expected=True),
    ErrorRule(NotFoundError, 2, 404, _as_is, expected=True),
    ErrorRule(LayerError, 2, 400, _as_is, expected=True),  # ConfigError, FetchError and the loaders' errors
    ErrorRule(UsageError, 2, 400, _as_is, expected=True),
    ErrorRule(ValueError, 1, 500, _invalid_input, expected=False),
    ErrorRule(BaseException, 1, 500, _unexpected, expected=False),
)


@dataclass(frozen=True)
class ErrorOutcome:
    """What one exception becomes: exit code, HTTP status, the user's message, and whether it was expected."""

    exit_code: int
    http_status: int
    message: str
    expected: bool

    def cli_line(self, exc: BaseException) -> str:
        """The CLI's stderr line (no traceback)."""
        if self.exit_code == 130:
            return self.message
        if self.expected:
            return f"error: {self.message}"
        return (
            f"internal error: {type(exc).__name__}: {exc} (run again with --debug for the traceback; please report it)"
        )


def describe_error(exc: BaseException) -> ErrorOutcome:
    """The outcome of ``exc`` from the first matching rule of :data:`ERROR_TABLE`."""
    rule = next(r for r in ERROR_TABLE if isinstance(exc, r.kind))
    return ErrorOutcome(rule.exit_code, rule.http_status, rule.message(exc), rule.expected)
