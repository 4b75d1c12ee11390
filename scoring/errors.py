"""The one error table: what each kind of exception becomes at each boundary.

The CLI (``app.main``: exit code and stderr line), the dashboard (``dashboard.context.show_error``:
the alert) and the Flask routes (``dashboard.app_factory``: HTTP status and text) all call
:func:`describe_error`, so an error reads the same wherever it surfaces. Rules are tried in order;
the first whose type matches wins.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

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


def describe_error(exc: BaseException, *, private_dirs: Iterable[str | Path] = ()) -> ErrorOutcome:
    """The outcome of ``exc`` from the first matching rule of :data:`ERROR_TABLE`.

    ``private_dirs``: server folders (cache, workspaces, temporary files) whose paths must not reach
    a browser; a path under one of them is shown as its file name (``redact_paths``).
    """
    rule = next(r for r in ERROR_TABLE if isinstance(exc, r.kind))
    message = redact_paths(rule.message(exc), private_dirs)
    return ErrorOutcome(rule.exit_code, rule.http_status, message, rule.expected)


def redact_paths(text: str, private_dirs: Iterable[str | Path]) -> str:
    """``text`` with every path under one of ``private_dirs`` replaced by its last part (the file name).

    "/root/.cache/asm-risk/workspaces/<id>/.incoming-x/sites.csv: no rows" becomes "sites.csv: no rows":
    the user learns which file, not where the server keeps it (nor the private workspace id in it).
    """
    roots = sorted({str(Path(d)) for d in private_dirs if str(d)}, key=len, reverse=True)
    for root in roots:
        pattern = re.escape(root.rstrip("/")) + r"(?:/[^\s'\"(),;:]*)?"
        text = re.sub(pattern, lambda m: Path(m.group(0)).name or "(server folder)", text)
    return text
