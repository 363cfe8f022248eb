"""Requests to an MLED server: retries with backoff, and problem+json mapped to ``MledError``.

``Transport.request`` returns a 2xx response, raises the ``MledError`` subclass the server
named (``code`` in its problem+json body, matched through ``mled.errors.ERROR_CLASSES``) for
answers that will not change on retry, and raises ``spool.Unreachable`` when no usable answer
came back after the retries: the request may or may not have been applied, so the caller must
resend it later with the same idempotency key.

Retried: connection errors, timeouts, connections dropped mid-answer, 502/503/504, and a 500
after an earlier attempt of the same request had an unknown outcome (the server may have been
committing it). Never retried: any other 4xx/5xx answer.

Example:
    >>> err = error_from_problem(409, {"code": "param_conflict", "detail": "lr is 0.1"})
    >>> type(err).__name__, err.message
    ('ParamConflict', 'lr is 0.1')
"""

from __future__ import annotations

import json
import random
import time
from typing import Any
from urllib.parse import quote

import httpx

from mled.artifacts.errors import (
    ArtifactConflict,
    ArtifactCorrupted,
    ArtifactMissing,
    ArtifactNotFound,
    DatasetNotFound,
    ModelNotFound,
    UploadIncomplete,
)
from mled.errors import (
    ERROR_CLASSES,
    Conflict,
    InvalidInput,
    InvalidTrackingUri,
    MledError,
    NotFound,
    PayloadTooLarge,
    PermissionDenied,
    QuerySyntaxError,
    RateLimited,
    StoreUnavailable,
    Unauthenticated,
)
from mled.sdk.spool import Unreachable

API_PREFIX = "/api/v1"
RETRY_STATUSES = frozenset({502, 503, 504})
CONNECT_TIMEOUT = 5.0
BACKOFF_BASE = 0.2
BACKOFF_MAX = 4.0

ASSET_ERROR_CLASSES: tuple[type[MledError], ...] = (
    ArtifactNotFound,
    DatasetNotFound,
    ModelNotFound,
    ArtifactConflict,
    ArtifactMissing,
    ArtifactCorrupted,
    UploadIncomplete,
)

_BY_CODE: dict[str, type[MledError]] = {
    cls.code: cls for cls in (*ERROR_CLASSES, *ASSET_ERROR_CLASSES)
}
_BY_STATUS: dict[int, type[MledError]] = {
    400: InvalidInput,
    401: Unauthenticated,
    403: PermissionDenied,
    404: NotFound,
    409: Conflict,
    413: PayloadTooLarge,
    422: InvalidInput,
    429: RateLimited,
    503: StoreUnavailable,
}


class ServerUnreachable(Unreachable):
    """No usable answer; ``error`` is the server's last 5xx problem, if it sent one.

    ``last_attempt`` is how many seconds the last attempt took to fail: a refused connection
    fails in microseconds, a silent host only after the connect timeout.
    """

    def __init__(
        self, message: str, error: MledError | None = None, last_attempt: float = 0.0
    ) -> None:
        super().__init__(message)
        self.error = error
        self.last_attempt = last_attempt


def error_from_problem(status: int, body: Any) -> MledError:
    """The ``MledError`` a problem+json body describes, with the server's message and hint.

    An unknown ``code`` (a newer server) falls back on the class of its HTTP status; the
    server's code is kept in ``details["code"]``.
    """
    body = body if isinstance(body, dict) else {}
    code = str(body.get("code") or "")
    cls = _BY_CODE.get(code) or _BY_STATUS.get(status, MledError)
    message = str(body.get("detail") or body.get("title") or f"the server answered {status}")
    hint = body.get("hint") if isinstance(body.get("hint"), str) else None
    details = body.get("details") if isinstance(body.get("details"), dict) else {}
    if issubclass(cls, QuerySyntaxError):
        err: MledError = cls(
            message,
            line=int(details.get("line", 1)),
            column=int(details.get("column", 1)),
            expected=list(details.get("expected") or []),
            hint=hint,
        )
    else:
        err = cls(message, hint=hint, details=dict(details))
    if code and code != cls.code:
        err.details["code"] = code
    return err


def error_from_response(response: httpx.Response) -> MledError:
    """Map a non-2xx answer (problem+json, or anything a proxy may send) to an MledError."""
    try:
        body = response.json()
    except ValueError:
        text = " ".join(response.text.split())[:200]
        body = {"detail": f"the server answered {response.status_code}: {text or '(empty)'}"}
    return error_from_problem(response.status_code, body)


def unreachable_error(url: str, err: BaseException) -> MledError:
    """What a caller sees when the server cannot be reached (or its own 5xx error)."""
    if isinstance(err, ServerUnreachable) and err.error is not None:
        return err.error
    return StoreUnavailable(
        f"cannot reach the MLED server at {url}: {err}",
        hint="Check that the server is running and that the URL is right; "
        "`curl URL/api/v1/health` should answer.",
    )


def segment(value: str) -> str:
    """One URL path segment, percent-encoded (metric keys may contain '/').

    Example:
        >>> segment("val/loss")
        'val%2Floss'
    """
    return quote(value, safe="")


def describe(err: httpx.HTTPError) -> str:
    """A short reason for a transport failure (httpx messages can be empty)."""
    text = str(err).strip()
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


class Transport:
    """One keep-alive connection pool to ``base_url``, sending the bearer token.

    Example:
        >>> t = Transport("http://127.0.0.1:5000", token=None, timeout=30, retries=5)
        >>> t.delay(1) <= BACKOFF_BASE and t.delay(10) <= BACKOFF_MAX
        True
        >>> t.close()
    """

    def __init__(
        self,
        base_url: str,
        token: str | None,
        *,
        timeout: float,
        retries: int,
        client: httpx.Client | None = None,
    ) -> None:
        import mled

        headers = {"User-Agent": f"mled/{mled.__version__}", "Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self.base_url = base_url
        self.retries = max(0, retries)
        self._headers = headers
        self._timeout = httpx.Timeout(timeout, connect=min(timeout, CONNECT_TIMEOUT))
        self._client = client

    @property
    def client(self) -> httpx.Client:
        """The connection pool, (re)opened on first use: a closed transport stays usable,
        e.g. by an experiment ended at interpreter exit after ``Client.close()``."""
        if self._client is None or self._client.is_closed:
            self._client = httpx.Client(
                base_url=self.base_url + API_PREFIX, headers=self._headers, timeout=self._timeout
            )
        return self._client

    @staticmethod
    def delay(attempt: int) -> float:
        """Seconds to wait before retry ``attempt`` (1-based): doubling, with jitter."""
        ceiling = min(BACKOFF_MAX, BACKOFF_BASE * 2 ** (attempt - 1))
        return ceiling / 2 + random.uniform(0, ceiling / 2)

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
        params: dict[str, Any] | None = None,
        accept: str | None = None,
        retries: int | None = None,
    ) -> httpx.Response:
        """Send with retries; see the module docstring for what is retried."""
        headers = dict(headers or {})
        if json is not None:
            content = dumps(json)
            headers["Content-Type"] = "application/json"
        if accept is not None:
            headers["Accept"] = accept
        attempts = 1 + (self.retries if retries is None else max(0, retries))
        unknown_outcome = False
        reason = "no attempt made"
        error: MledError | None = None
        started = time.monotonic()
        for attempt in range(attempts):
            if attempt:
                time.sleep(self.delay(attempt))
            started = time.monotonic()
            try:
                response = self.client.request(
                    method, path, content=content, headers=headers, params=params
                )
            except (httpx.UnsupportedProtocol, httpx.InvalidURL) as err:
                raise InvalidTrackingUri(f"{self.base_url!r}: {err}") from err
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as err:
                reason = describe(err)  # never reached the server
                continue
            except httpx.TransportError as err:
                reason, unknown_outcome = describe(err), True
                continue
            status = response.status_code
            if status < 400:
                return response
            if status in RETRY_STATUSES or (status == 500 and unknown_outcome):
                error = error_from_response(response)
                reason = f"HTTP {status}: {error.message}"
                continue
            raise error_from_response(response)
        raise ServerUnreachable(reason, error, time.monotonic() - started)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()


def dumps(value: Any) -> bytes:
    """JSON body bytes. Non-finite floats go out as ``NaN``/``Infinity`` tokens, which the
    server's parser (Python's ``json``) reads back as the same floats; numpy values become
    the Python values they hold, and anything else not JSON (a ``Path`` captured in an
    environment record) its text."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=_plain).encode()


def _plain(value: Any) -> Any:
    if hasattr(value, "dtype") and hasattr(value, "tolist"):
        return value.tolist()
    return str(value)
