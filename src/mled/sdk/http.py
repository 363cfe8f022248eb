"""``HttpBackend``: the SDK's ``Backend`` spoken over the REST API to an MLED server.

Selected by an ``http(s)://`` tracking URI. Every call is one request under ``/api/v1``,
authenticated with a bearer token (``MLED_TOKEN``, else the one ``mled login`` saved).

Reliability, in the order things happen:

- **Errors** come back as problem+json bodies and are raised as the same ``MledError``
  subclass (matched by ``code``) with the server's message and hint, exactly as embedded.
- **Retries**: connection errors, timeouts, lost answers and 502/503/504 are retried with
  exponential backoff and jitter (``http_retries`` times); 4xx answers never are. Every
  request keeps one ``Idempotency-Key`` across its retries, and the server stores a metric
  batch once per key, so a batch retried after a lost answer is never stored twice.
- **Offline spool**: when the retries are exhausted the server counts as unreachable. That
  write, and every later one, is appended to a local spool file (``spool.py``) in call
  order, one message is printed (``mled: server unreachable, spooling to PATH; will
  replay``), and training carries on. Experiments get client-generated ids, so creating one
  works offline too.
- **Replay**: the next call, the next flush and a background thread retry the server; once it
  answers, the spool is replayed in order, exactly once, before any new write, and writes go
  straight to the server again. ``mled sync`` (``sync()``) replays files left by processes
  that ended while the server was down.

``flush()`` semantics: it returns when the points are durable on the server, or - while the
server is unreachable - durable in the local spool file (fsync'ed). Spooled points reach the
server on the next successful contact or with ``mled sync``. Reads (``get_experiment``,
histories, lists) need the server: offline they raise ``StoreUnavailable``.

``MLED_SPOOL=0`` turns the spool off: a write the server cannot be reached for then raises
``StoreUnavailable`` (and a metric batch whose answer was lost may be stored twice if the
buffer sends its points again, under a new key).

Example:
    >>> mled.set_tracking_uri("http://127.0.0.1:5000")  # doctest: +SKIP
    >>> with mled.start_experiment(project="vision") as exp:  # doctest: +SKIP
    ...     exp.log_metrics({"loss": 0.3}, step=1)  # works even while the server is down
"""

from __future__ import annotations

import atexit
import gzip
import logging
import re
import sys
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import httpx

from mled.entities import (
    AuditReport,
    Experiment,
    MetricHistory,
    NewExperiment,
    Project,
    Series,
)
from mled.errors import (
    ExperimentNotActive,
    ExperimentNotFound,
    InvalidInput,
    MledError,
    StoreUnavailable,
)
from mled.ids import new_id
from mled.sdk import http_codec as codec
from mled.sdk.credentials import resolve_token, server_key
from mled.sdk.http_assets import HttpAssets
from mled.sdk.http_queries import HttpQueries
from mled.sdk.http_transport import Transport, segment, unreachable_error
from mled.sdk.spool import ReplayReport, Spool, SpoolRecord, Unreachable, replay, spool_files
from mled.settings import Settings
from mled.validation import (
    check_nesting,
    encode_param,
    validate_key,
    validate_name,
    validate_new_experiment,
    validate_tag_value,
)
from mled.wire import BATCH_MEDIA_TYPE, encode_batch

log = logging.getLogger("mled.sdk.http")
logging.getLogger("mled").addHandler(logging.NullHandler())

MIN_PROBE_DELAY = 0.5
MAX_PROBE_DELAY = 30.0
QUICK_FAILURE = 0.05
"""An attempt that fails faster than this (connection refused) is cheap to repeat."""

ENDED = ("finished", "failed", "killed")
_REF = re.compile(r"[0-9a-f-]{1,36}")

ROUTES: dict[str, tuple[str, str]] = {
    "create_experiment": ("POST", "/experiments"),
    "import_experiments": ("POST", "/experiments/import"),
    "log_params": ("POST", "/experiments/{id}/params"),
    "set_tags": ("POST", "/experiments/{id}/tags"),
    "delete_tag": ("DELETE", "/experiments/{id}/tags/{tag}"),
    "log_metrics": ("POST", "/experiments/{id}/metrics"),
    "set_seeds": ("POST", "/experiments/{id}/seeds"),
    "end_experiment": ("POST", "/experiments/{id}/end"),
}
"""How each spoolable mutation travels (method, path under ``/api/v1``)."""


def notice(message: str) -> None:
    """Tell the user: one line on stderr, and a warning on the ``mled`` logger.

    The logger has a ``NullHandler``, so without logging configured the line shows once.
    """
    print(f"mled: {message}", file=sys.stderr, flush=True)
    log.warning(message)


class HttpBackend(HttpQueries, HttpAssets):
    """The ``Backend`` protocol over HTTP, with retries and the offline spool.

    Thread-safe: mutations are serialized (they reach the server in call order, which replay
    relies on); the metric buffer's background thread and the training thread share it.
    """

    max_batch_points = 25_000
    """The metric buffer of a live experiment flushes at this many points at the latest, so
    each request (and the memory a server holds per request in flight) stays small; one
    buffer flush is still exactly one request, stored all or nothing."""

    def __init__(self, url: str, settings: Settings, transport: Transport) -> None:
        self.url = server_key(url)
        self._settings = settings
        self._transport = transport
        self._lock = threading.RLock()
        self._spool: Spool | None = None
        self._username: str | None = None
        self._probe_at = 0.0
        self._probe_delay = MIN_PROBE_DELAY
        self._warned_auth = False
        self._closed = threading.Event()
        self._replayer: threading.Thread | None = None
        atexit.register(self._at_exit)

    @classmethod
    def open(cls, url: str, *, settings: Settings) -> HttpBackend:
        """A backend for the server at ``url``, with the token ``settings`` resolve to."""
        base = server_key(url)
        transport = Transport(
            base,
            resolve_token(base, settings),
            timeout=settings.http_timeout,
            retries=settings.http_retries,
        )
        return cls(base, settings, transport)

    # --- identity ---------------------------------------------------------------------------

    @property
    def username(self) -> str:
        """The user the token belongs to (the local user name while offline)."""
        if self._username is None:
            try:
                self._username = str(self._get("/me").json()["username"])
            except StoreUnavailable:
                return self._settings.username
        return self._username

    @property
    def spool_path(self) -> Path | None:
        """The spool file writes currently go to, or None while the server is reachable."""
        spool = self._spool
        return None if spool is None else spool.path

    # --- projects ---------------------------------------------------------------------------

    def create_project(self, name: str, description: str = "") -> Project:
        validate_name(name, "project")
        body = {"name": name, "description": description}
        return codec.project(self._call("POST", "/projects", json=body).json())

    def list_projects(self) -> list[Project]:
        return [codec.project(p) for p in codec.items(self._get("/projects").json())]

    # --- writes (spooled while offline) -----------------------------------------------------

    def create_experiment(self, spec: NewExperiment) -> Experiment:
        """Create an experiment; its id is generated here so this works offline too."""
        if spec.id is None:
            spec = replace(spec, id=new_id())
        assert spec.id is not None
        _validate_spec(spec)
        data = codec.new_experiment_json(spec)
        answer = self._write(SpoolRecord("create_experiment", _key(), spec.id, data))
        if answer is None:
            return codec.offline_experiment(spec, self._settings.username)
        return codec.experiment(answer.json())

    def import_experiments(self, specs: Sequence[NewExperiment]) -> list[str]:
        """Send experiments that already ran, in requests of at most ``MAX_IMPORT`` of them
        and about ``IMPORT_REQUEST_BYTES`` each (or spool them). Every spec is checked and
        given its id before the first request, so nothing is sent when one is refused and a
        retried request stores nothing twice."""
        specs = [s if s.id is not None else replace(s, id=new_id()) for s in specs]
        for i, spec in enumerate(specs):
            try:
                _validate_spec(spec)
            except MledError as err:
                raise err.about_item(i) from err
        ids = [str(s.id) for s in specs]
        if len(set(ids)) != len(ids):
            raise InvalidInput("two of the experiments to import have the same id")
        for batch in codec.import_batches([codec.new_experiment_json(s) for s in specs]):
            self._write(SpoolRecord("import_experiments", _key(), None, {"experiments": batch}))
        return ids

    def log_params(self, experiment_id: str, params: Mapping[str, Any]) -> None:
        experiment_id = _ref(experiment_id)
        for key, value in params.items():
            validate_key(key, "param")
            encode_param(value)
        data = {"params": codec.params_json(params)}
        self._write(SpoolRecord("log_params", _key(), experiment_id, data))

    def set_tags(self, experiment_id: str, tags: Mapping[str, Any]) -> None:
        experiment_id = _ref(experiment_id)
        values = {validate_key(k, "tag"): validate_tag_value(k, v) for k, v in tags.items()}
        self._write(SpoolRecord("set_tags", _key(), experiment_id, {"tags": values}))

    def delete_tag(self, experiment_id: str, key: str) -> None:
        experiment_id = _ref(experiment_id)
        self._write(SpoolRecord("delete_tag", _key(), experiment_id, {"key": key}))

    def log_metric_batch(self, experiment_id: str, batch: Mapping[str, Series]) -> int:
        """Send one batch as one compressed binary request (or spool it); returns its size."""
        experiment_id = _ref(experiment_id)
        points = sum(len(s[0]) for s in batch.values())
        if not points:
            return 0
        body = gzip.compress(encode_batch(batch), compresslevel=1, mtime=0)
        record = SpoolRecord("log_metrics", _key(), experiment_id, {"points": points}, body)
        self._write(record)
        return points

    def set_seeds(self, experiment_id: str, seeds: dict[str, Any]) -> None:
        experiment_id = _ref(experiment_id)
        check_nesting(seeds, "seeds")
        data = {"seeds": codec.json_safe(seeds)}
        self._write(SpoolRecord("set_seeds", _key(), experiment_id, data))

    def end_experiment(
        self,
        experiment_id: str,
        status: str,
        *,
        error: str | None = None,
        ended_at: float | None = None,
    ) -> None:
        experiment_id = _ref(experiment_id)
        if status not in ENDED:
            raise InvalidInput(f"an experiment ends as one of {', '.join(ENDED)}, not {status!r}")
        data = {"status": status, "error": error, "ended_at": ended_at}
        self._write(SpoolRecord("end_experiment", _key(), experiment_id, data))

    # --- reads (need the server) ------------------------------------------------------------

    def get_experiment(self, id_or_prefix: str) -> Experiment:
        path = f"/experiments/{_ref(id_or_prefix)}"
        return codec.experiment(self._get(path).json())

    def list_experiments(
        self, project: str | None = None, *, limit: int = 100, offset: int = 0
    ) -> list[Experiment]:
        query: dict[str, Any] = {"limit": limit, "offset": offset}
        if project is not None:
            query["project"] = project
        answer = self._get("/experiments", params=query).json()
        return [codec.experiment(e) for e in codec.items(answer)]

    def get_metric_history(
        self, experiment_id: str, key: str, *, max_points: int | None = None
    ) -> MetricHistory:
        query = {} if max_points is None else {"max_points": max_points}
        path = f"/experiments/{_ref(experiment_id)}/metrics/{segment(key)}"
        answer = self._get(path, params=query, accept=f"{BATCH_MEDIA_TYPE}, application/json")
        return codec.history(key, answer)

    def verify_audit(self) -> AuditReport:
        return codec.audit_report(self._get("/audit/verify").json())

    # --- lifecycle --------------------------------------------------------------------------

    def close(self) -> None:
        """Try a last replay, say what stays spooled, and release the connection and file."""
        self._closed.set()
        atexit.unregister(self._at_exit)
        with self._lock:
            self._release_spool()
            self._transport.close()

    def _at_exit(self) -> None:
        if not self._closed.is_set():
            with self._lock:
                self._release_spool()

    def _release_spool(self) -> None:
        spool = self._spool
        if spool is None:
            return
        self._catch_up(force=True)
        if self._spool is not None:
            notice(
                f"{spool.pending_count} write(s) remain spooled in {spool.path}; run "
                f"`mled sync {self.url}` once the server is reachable"
            )
            spool.close()
            self._spool = None

    # --- requests ---------------------------------------------------------------------------

    def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """A request that is not spooled (projects): needs the server like a read."""
        with self._lock:
            self._require_online()
        try:
            return self._transport.request(method, path, **kwargs)
        except Unreachable as err:
            raise unreachable_error(self.url, err) from err

    def _get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self._call("GET", path, **kwargs)

    def _require_online(self) -> None:
        """Replay a pending spool first (reads see earlier writes); offline, refuse."""
        spool = self._spool
        if spool is not None and not self._catch_up(force=True):
            raise StoreUnavailable(
                f"the MLED server at {self.url} is unreachable; {spool.pending_count} "
                f"write(s) wait in {spool.path}",
                hint="Reads need the server: start it or check the URL and the network. "
                "Writes keep going to the spool and replay by themselves once it answers "
                f"(or run `mled sync {self.url}`).",
            )

    def _write(self, record: SpoolRecord) -> httpx.Response | None:
        """Send ``record`` (in order after any spooled ones) or spool it; None if spooled."""
        with self._lock:
            if self._spool is not None:
                self._catch_up(force=False)
            if self._spool is None:
                try:
                    return self._send(record, retries=None)
                except Unreachable as err:
                    if not self._settings.spool:
                        raise unreachable_error(self.url, err) from err
                    self._go_offline(err)
            assert self._spool is not None
            try:
                self._spool.append(_as_spooled(record))
            except OSError as err:
                raise self._spool_error(err) from err
            return None

    def _spool_error(self, err: OSError) -> StoreUnavailable:
        return StoreUnavailable(
            f"the MLED server at {self.url} is unreachable and the spool under "
            f"{self._settings.spool_dir} cannot be written: {err}",
            hint="Free disk space, or point MLED_HOME at a writable folder; the write that "
            "failed was not recorded, so retry it once either is fixed.",
        )

    def _send(self, record: SpoolRecord, *, retries: int | None) -> httpx.Response:
        method, template = ROUTES[record.op]
        path = template.format(
            id=segment(record.experiment_id or ""), tag=segment(record.data.get("key", ""))
        )
        headers = {"Idempotency-Key": record.key}
        if record.op == "log_metrics":
            headers |= {"Content-Type": BATCH_MEDIA_TYPE, "Content-Encoding": "gzip"}
            return self._transport.request(
                method, path, content=record.body, headers=headers, retries=retries
            )
        body = record.data if record.op != "delete_tag" else None
        return self._transport.request(method, path, json=body, headers=headers, retries=retries)

    def _replay_one(self, record: SpoolRecord) -> None:
        """Send one spooled record once; a write the server already has counts as done."""
        try:
            self._send(record, retries=0)
        except ExperimentNotActive:
            # Replayed again after the experiment ended (an ack was lost): fine if stored.
            if not self._already_stored(record):
                raise

    def _already_stored(self, record: SpoolRecord) -> bool:
        if record.op not in ("log_params", "set_seeds") or not record.experiment_id:
            return False
        answer = self._transport.request("GET", f"/experiments/{segment(record.experiment_id)}")
        stored = codec.experiment(answer.json())
        if record.op == "set_seeds":
            return stored.seeds == record.data.get("seeds")
        return codec.params_match(stored.params, record.data.get("params", {}))

    # --- offline ----------------------------------------------------------------------------

    def _go_offline(self, err: Unreachable) -> None:
        try:
            self._spool = Spool.create(
                self._settings.spool_dir, server=self.url, username=self._settings.username
            )
        except OSError as error:
            raise self._spool_error(error) from err
        self._schedule_probe(err)
        notice(f"server unreachable, spooling to {self._spool.path}; will replay ({err})")
        if self._replayer is None or not self._replayer.is_alive():
            self._replayer = threading.Thread(
                target=self._replay_in_background, name="mled-replay", daemon=True
            )
            self._replayer.start()

    def _schedule_probe(self, err: BaseException | None) -> None:
        """When the next call may try the server again.

        A refused connection costs nothing, so the very next call (or flush) retries; a
        server that lets attempts time out is retried with doubling delays (0.5 s to 30 s).
        """
        cost = getattr(err, "last_attempt", MAX_PROBE_DELAY)
        if cost < QUICK_FAILURE:
            self._probe_delay = MIN_PROBE_DELAY
            self._probe_at = time.monotonic()
        else:
            self._probe_at = time.monotonic() + self._probe_delay
            self._probe_delay = min(self._probe_delay * 2, MAX_PROBE_DELAY)

    def _catch_up(self, *, force: bool) -> bool:
        """Try to replay the spool; True when it is empty and writes go online again."""
        spool = self._spool
        if spool is None:
            return True
        if not force and time.monotonic() < self._probe_at:
            return False
        try:  # a cheap probe first: the spool is read only once the server answers
            self._transport.request("GET", "/health", retries=0)
        except Unreachable as err:
            self._schedule_probe(err)
            return False
        except MledError:
            pass  # answered: replaying will say what is wrong
        report = replay(spool, self._replay_one)
        self._report(report)
        if report.done:
            spool.remove()
            self._spool = None
            self._probe_delay = MIN_PROBE_DELAY
            notice(f"server reachable again; replayed the spooled writes to {self.url}")
            return True
        self._schedule_probe(report.stopped)
        return False

    def _report(self, report: ReplayReport) -> None:
        if report.rejected:
            record, error = report.rejected[0]
            notice(
                f"the server refused {len(report.rejected)} spooled write(s), kept in "
                f"{report.path.parent / 'rejected'}; the first ({record.op}): {error}"
            )
        if isinstance(report.stopped, MledError) and not self._warned_auth:
            self._warned_auth = True
            notice(f"spooled writes are kept until the server accepts them: {report.stopped}")

    def _replay_in_background(self) -> None:
        while not self._closed.wait(max(1.0, self._probe_delay)):
            with self._lock:
                if self._spool is None:
                    return
                try:
                    self._catch_up(force=False)
                except Exception as err:  # never kill the thread; the next round retries
                    log.debug("background replay failed: %s", err)


def _key() -> str:
    return str(uuid.uuid4())


def _as_spooled(record: SpoolRecord) -> SpoolRecord:
    """Pin the times the server would otherwise take at replay: the start and end are now."""
    if record.op == "create_experiment" and record.data.get("status") == "running":
        if record.data.get("started_at") is None:
            return replace(record, data={**record.data, "started_at": time.time()})
    if record.op == "end_experiment" and record.data.get("ended_at") is None:
        return replace(record, data={**record.data, "ended_at": time.time()})
    return record


def _ref(id_or_prefix: str) -> str:
    """An experiment ID or prefix as the service reads it; one that cannot match any
    experiment fails here exactly as it would embedded (and is never spooled)."""
    text = (id_or_prefix or "").strip().lower()
    if not text:
        raise ExperimentNotFound("an experiment ID is required but an empty one was given")
    if not _REF.fullmatch(text):
        raise ExperimentNotFound(f"no experiment has an ID starting with {text!r}")
    return text


def _validate_spec(spec: NewExperiment) -> None:
    """The checks the service makes, made before sending: the errors are the embedded ones
    (not the schema's 422), and a spooled creation cannot be refused at replay for them."""
    validate_new_experiment(spec)
    if spec.parent_id is not None:
        _ref(spec.parent_id)
    if spec.reproduction_of is not None:
        _ref(spec.reproduction_of)
    for key, value in spec.params.items():
        validate_key(key, "param")
        encode_param(value)
    for key, value in spec.tags.items():
        validate_key(key, "tag")
        validate_tag_value(key, value)


# --- mled sync ------------------------------------------------------------------------------


@dataclass
class SyncReport:
    """What ``sync`` did, per spool file."""

    replayed: int = 0
    remaining: int = 0
    files: list[ReplayReport] = field(default_factory=list)
    busy: list[Path] = field(default_factory=list)
    """Files a running process holds (it replays them itself)."""
    skipped: list[Path] = field(default_factory=list)
    """Files spooled for another server than the one asked for."""

    @property
    def rejected(self) -> int:
        return sum(len(f.rejected) for f in self.files)


def sync(url: str | None = None, *, settings: Settings | None = None) -> SyncReport:
    """Replay every spool file under ``$MLED_HOME/spool`` (only ``url``'s when given).

    Files still held by a running process are skipped: that process replays them itself.

    Example:
        >>> report = sync("http://127.0.0.1:5000")  # doctest: +SKIP
        >>> report.replayed, report.remaining  # doctest: +SKIP
        (1204, 0)
    """
    settings = settings or Settings.from_env()
    only = None if url is None else server_key(url)
    result = SyncReport()
    backends: dict[str, HttpBackend] = {}
    try:
        for path in spool_files(settings.spool_dir):
            spool = Spool.claim(path)
            if spool is None:
                result.busy.append(path)
                continue
            if only is not None and spool.server != only:
                spool.close()
                result.skipped.append(path)
                continue
            backend = backends.get(spool.server)
            if backend is None:
                backend = backends[spool.server] = HttpBackend.open(spool.server, settings=settings)
            report = replay(spool, backend._replay_one)
            result.files.append(report)
            result.replayed += report.replayed
            result.remaining += report.remaining
            if report.done:
                spool.remove()
            else:
                spool.close()
            if isinstance(report.stopped, MledError):
                raise report.stopped
    finally:
        for backend in backends.values():
            backend.close()
    return result
