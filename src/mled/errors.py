"""The one error hierarchy of MLED.

Every error a user can cause is a :class:`MledError` subclass with a stable ``code`` (never
renamed once released), the HTTP status a server answers with, a message that says what went
wrong and a hint that says what to do about it.

Example:
    >>> try:
    ...     raise ExperimentNotFound("no experiment has an id starting with 'abc'")
    ... except MledError as err:
    ...     (err.code, err.status)
    ('experiment_not_found', 404)
"""

from __future__ import annotations

import copy
from typing import Any, ClassVar, Self


class MledError(Exception):
    """Root of every error MLED raises on purpose.

    Attributes:
        code: stable machine-readable identifier, documented in ``docs/errors.md``.
        status: HTTP status the server uses for this error.
        message: what went wrong, in one sentence.
        hint: what the user can do about it.
        details: structured extra data (candidates, field names, positions).
    """

    code: ClassVar[str] = "mled_error"
    status: ClassVar[int] = 500
    default_hint: ClassVar[str] = "Run the command again with --debug and report the output."

    def __init__(
        self, message: str, *, hint: str | None = None, details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.unnamed_message = message
        """``message`` without the item ``about_item`` named."""
        self.hint = hint if hint is not None else self.default_hint
        self.details: dict[str, Any] = details or {}

    def __str__(self) -> str:
        return f"{self.message} (hint: {self.hint})" if self.hint else self.message

    def about_item(self, index: int, what: str = "experiment") -> Self:
        """This error, naming the item of a list it is about: same class, code and hint, the
        message prefixed (``experiment 3: ...``) and ``index`` added to the details. Naming
        the item again (``about_item(5, "line")``) replaces the earlier name.

        Example:
            >>> str(InvalidInput("status 'x' is unknown", hint="Use finished.").about_item(3))
            "experiment 3: status 'x' is unknown (hint: Use finished.)"
        """
        named = copy.copy(self)
        named.unnamed_message = self.unnamed_message
        named.message = f"{what} {index}: {self.unnamed_message}"
        named.args = (named.message,)
        named.details = {**self.details, "index": index}
        return named

    def to_problem(self) -> dict[str, Any]:
        """Render as an RFC 9457 problem-details body."""
        body: dict[str, Any] = {
            "type": f"https://mled.dev/errors/{self.code}",
            "title": self.code.replace("_", " "),
            "status": self.status,
            "code": self.code,
            "detail": self.message,
            "hint": self.hint,
        }
        if self.details:
            body["details"] = self.details
        return body


# --- 400: the input itself is wrong ---------------------------------------------------------


class InvalidInput(MledError):
    """A value supplied by the user is malformed or out of range."""

    code = "invalid_input"
    status = 400
    default_hint = "Check the value against the documentation and try again."


class InvalidKey(InvalidInput):
    """A param, metric or tag key is empty, too long or uses forbidden characters."""

    code = "invalid_key"
    default_hint = "Keys are 1-250 characters of letters, digits, '_', '-', '.', ' ', ':' and '/'."


class InvalidMetricValue(InvalidInput):
    """A metric value is not a number."""

    code = "invalid_metric_value"
    default_hint = (
        "Log metrics as int or float (NaN and infinities are allowed); log text as a tag."
    )


class InvalidParamValue(InvalidInput):
    """A param value cannot be stored (not str/int/float/bool or JSON-serialisable)."""

    code = "invalid_param_value"
    default_hint = "Use str, int, float, bool, or a JSON-serialisable list/dict."


class InvalidName(InvalidInput):
    """A project, experiment or user name is empty or too long."""

    code = "invalid_name"
    default_hint = "Use 1-200 printable characters without leading or trailing spaces."


class InvalidTrackingUri(InvalidInput):
    """The tracking URI has a scheme MLED does not support."""

    code = "invalid_tracking_uri"
    default_hint = (
        "Use sqlite:///path/to/mled.db, postgresql://user@host/db, http(s)://host:port, "
        "or leave it unset for the embedded default under ~/.mled."
    )


class UnsafePath(InvalidInput):
    """An artifact or dataset file path could escape the store or a download folder."""

    code = "unsafe_path"
    default_hint = (
        "Use a relative path of plain names separated by '/', without '..', '\\', ':', ';', "
        "'#', '?', percent-encodings such as %2e, control characters or symlinks."
    )


class QuerySyntaxError(InvalidInput):
    """A search query could not be parsed; carries the position and a caret line."""

    code = "query_syntax_error"
    default_hint = "See docs/query-language.md for the grammar and examples."

    def __init__(
        self,
        message: str,
        *,
        query: str = "",
        line: int = 1,
        column: int = 1,
        expected: list[str] | None = None,
        hint: str | None = None,
    ) -> None:
        self.query = query
        self.line = line
        self.column = column
        self.expected = expected or []
        caret = self.caret_text(query, line, column)
        full = f"{message}\n{caret}" if caret else message
        super().__init__(
            full,
            hint=hint,
            details={"line": line, "column": column, "expected": self.expected},
        )

    @staticmethod
    def caret_text(query: str, line: int, column: int) -> str:
        """Return the offending query line with a caret under ``column`` (1-based)."""
        lines = query.splitlines() or [""]
        if not query or line < 1 or line > len(lines):
            return ""
        return f"  {lines[line - 1]}\n  {' ' * max(column - 1, 0)}^"


class UnknownField(QuerySyntaxError):
    """A query names a field that does not exist."""

    code = "unknown_field"


# --- 401 / 403 -------------------------------------------------------------------------------


class Unauthenticated(MledError):
    """No valid credentials were presented."""

    code = "unauthenticated"
    status = 401
    default_hint = "Log in with `mled login URL` or set MLED_TOKEN to a valid API token."


class PermissionDenied(MledError):
    """The caller is authenticated but lacks the permission for this action."""

    code = "permission_denied"
    status = 403
    default_hint = "Ask a project admin to grant you a role that includes this permission."


# --- 404 -------------------------------------------------------------------------------------


class NotFound(MledError):
    """Something addressed by name or ID does not exist."""

    code = "not_found"
    status = 404
    default_hint = "Check the name or ID; list what exists with the matching `list` command."


class ExperimentNotFound(NotFound):
    code = "experiment_not_found"
    default_hint = (
        "List experiments with `mled experiments list` and copy an ID or a prefix of one."
    )


class ProjectNotFound(NotFound):
    code = "project_not_found"
    default_hint = (
        "List projects with `mled projects list` or create it with `mled projects create`."
    )


class MetricNotFound(NotFound):
    code = "metric_not_found"
    default_hint = "`mled experiments show ID` lists the metrics the experiment has."


class UserNotFound(NotFound):
    code = "user_not_found"
    default_hint = "List users with `mled users list`."


# --- 409 -------------------------------------------------------------------------------------


class Conflict(MledError):
    """The request contradicts data that is already stored."""

    code = "conflict"
    status = 409
    default_hint = "Reload the object and retry with values consistent with what is stored."


class AmbiguousId(Conflict):
    """An ID prefix matches more than one object."""

    code = "ambiguous_id"
    default_hint = "Type more characters of the ID; the candidates are listed above."


class AlreadyExists(Conflict):
    code = "already_exists"
    default_hint = "Pick another name, or use the existing object."


class ParamConflict(Conflict):
    """A param was logged again with a different value; params are immutable."""

    code = "param_conflict"
    default_hint = (
        "Params are immutable once logged. Log the new value under another key, or start a new "
        "experiment for the new configuration."
    )


class ExperimentNotActive(Conflict):
    """Data was logged to an experiment that has already ended."""

    code = "experiment_not_active"
    default_hint = "Start a new experiment, or log results afterwards with mled.log_experiment()."


# --- 413 / 429 ------------------------------------------------------------------------------


class PayloadTooLarge(MledError):
    """A request body exceeds the server's limit."""

    code = "payload_too_large"
    status = 413
    default_hint = "Send smaller requests (flush metrics more often, upload files in chunks)."


class RateLimited(MledError):
    """Too many attempts in a short time (failed logins)."""

    code = "rate_limited"
    status = 429
    default_hint = "Wait a few minutes before trying again."


# --- 5xx: the system, not the input ----------------------------------------------------------


class SchemaOutdated(MledError):
    """The store's schema is older (or newer) than this version of MLED expects."""

    code = "schema_outdated"
    status = 503
    default_hint = "Run `mled db upgrade` against this store."


class StoreUnavailable(MledError):
    """The database could not be reached or opened."""

    code = "store_unavailable"
    status = 503
    default_hint = "Check that the database server is running and the tracking URI is right."


ERROR_CLASSES: tuple[type[MledError], ...] = (
    MledError,
    InvalidInput,
    InvalidKey,
    InvalidMetricValue,
    InvalidParamValue,
    InvalidName,
    InvalidTrackingUri,
    UnsafePath,
    QuerySyntaxError,
    UnknownField,
    Unauthenticated,
    PermissionDenied,
    NotFound,
    ExperimentNotFound,
    ProjectNotFound,
    MetricNotFound,
    UserNotFound,
    Conflict,
    AmbiguousId,
    AlreadyExists,
    ParamConflict,
    ExperimentNotActive,
    PayloadTooLarge,
    RateLimited,
    SchemaOutdated,
    StoreUnavailable,
)
"""Every error class, for the documentation and the error-shape tests."""
