"""Validation and canonical encoding of everything a user can type or log.

Example:
    >>> validate_key("train/loss", "metric")
    'train/loss'
    >>> encode_param(0.001)
    ('float', '0.001', 0.001)
"""

from __future__ import annotations

import json
import math
import numbers
import re
from typing import Any

from mled.entities import STATUSES, NewExperiment
from mled.errors import (
    InvalidInput,
    InvalidKey,
    InvalidMetricValue,
    InvalidName,
    InvalidParamValue,
)

MAX_KEY_LENGTH = 250
MAX_NAME_LENGTH = 200
MAX_PARAM_TEXT = 65_536
MAX_TAG_VALUE = 65_536
MAX_NESTING = 100
"""Deepest nesting of lists and dicts in a JSON param or document (seeds, command, ...):
far beyond any real config, and far below the depth at which encoding or decoding the JSON
would exhaust Python's stack somewhere between the SDK, the store and the REST API."""
_KEY_RE = re.compile(r"^[A-Za-z0-9_\-. :/]+$")
_CONTROL_CHAR = re.compile(r"[\x00-\x1f]")
"""The characters below U+0020, refused in names (one search in C rather than a Python loop
over the name's characters: 0.79 -> 0.23 microseconds for a short name)."""
_NUMERIC_RE = re.compile(r"^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$")


# A key that passes every check of validate_key, as one pattern: allowed characters only, 1-250
# of them, no space at either end (nor only spaces), no leading "/", no ".." path segment.
_VALID_KEY = re.compile(r"(?![ /])(?!(?:.*/)?\.\.(?:/|\Z))[A-Za-z0-9_\-. :/]{1,250}(?<! )")
_valid_key = _VALID_KEY.fullmatch
_KNOWN_KEYS: set[str] = set()
"""Keys that passed validate_key: the same few keys come back for every experiment and flush."""
_KNOWN_KEYS_LIMIT = 4096  # then the set starts over, so that it stays small whatever is logged


def validate_key(key: object, kind: str) -> str:
    """Check a param/metric/tag key; ``kind`` names it in the error message.

    Example:
        >>> validate_key("val/acc_1", "metric")
        'val/acc_1'
        >>> try:
        ...     validate_key("a/../b", "param")
        ... except InvalidKey as err:
        ...     print(err.message)
        param key 'a/../b' has surrounding spaces or a '..'/leading '/'
    """
    if type(key) is str:
        if key in _KNOWN_KEYS:
            return key
        if _valid_key(key):
            if len(_KNOWN_KEYS) >= _KNOWN_KEYS_LIMIT:
                _KNOWN_KEYS.clear()
            _KNOWN_KEYS.add(key)
            return key
    # Anything else (str subclasses too) goes through the checks one by one, for their message.
    if not isinstance(key, str):
        raise InvalidKey(f"{kind} key {key!r} is a {type(key).__name__}, not a string")
    if not key or not key.strip():
        raise InvalidKey(f"{kind} key is empty")
    if len(key) > MAX_KEY_LENGTH:
        raise InvalidKey(
            f"{kind} key {key[:40]!r}... is {len(key)} characters long; the limit is "
            f"{MAX_KEY_LENGTH}"
        )
    if not _KEY_RE.match(key):
        bad = sorted({c for c in key if not _KEY_RE.match(c)})
        raise InvalidKey(f"{kind} key {key!r} contains forbidden characters {bad}")
    if key != key.strip() or ".." in key.split("/") or key.startswith("/"):
        raise InvalidKey(f"{kind} key {key!r} has surrounding spaces or a '..'/leading '/'")
    return key


def validate_name(name: object, kind: str) -> str:
    """Check a project/experiment/user name."""
    if not isinstance(name, str) or not name.strip():
        raise InvalidName(f"{kind} name is empty")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidName(f"{kind} name is {len(name)} characters; the limit is {MAX_NAME_LENGTH}")
    if name != name.strip() or _CONTROL_CHAR.search(name):
        raise InvalidName(f"{kind} name {name!r} has surrounding spaces or control characters")
    return name


def validate_new_experiment(spec: NewExperiment) -> None:
    """Check a new experiment's name, project, status, group and times (not its values).

    Example:
        >>> from mled.entities import NewExperiment
        >>> validate_new_experiment(NewExperiment(project="p", name="n", status="done"))
        Traceback (most recent call last):
        mled.errors.InvalidInput: status 'done' is not one of running, finished, ...
    """
    validate_name(spec.name, "experiment")
    validate_name(spec.project, "project")
    if spec.status not in STATUSES:
        raise InvalidInput(f"status {spec.status!r} is not one of {', '.join(STATUSES)}")
    if spec.group is not None:
        validate_name(spec.group, "group")
    for what, document in (
        ("source", spec.source),
        ("command", spec.command),
        ("environment", spec.environment),
        ("seeds", spec.seeds),
    ):
        check_nesting(document, what)
    if spec.started_at is not None and spec.ended_at is not None:
        if spec.ended_at < spec.started_at:
            raise InvalidInput(
                f"experiment {spec.name!r}: ended_at is before started_at",
                hint="Check the start and end times of the experiment.",
            )


def encode_param(value: Any) -> tuple[str, str, float | None]:
    """Encode a param as (type, canonical text, numeric value for filtering or None).

    A string that spells a finite number also gets a numeric value, so ``params.lr < 0.01``
    matches ``"0.001"`` logged from a command line.

    Example:
        >>> encode_param("1e-3"), encode_param(True), encode_param([1, 2])
        (('str', '1e-3', 0.001), ('bool', 'true', 1.0), ('json', '[1,2]', None))
    """
    # The exact builtin types first: they have no dtype, so their branch below is known without
    # the hasattr() and ABC isinstance() checks, which cost more than encoding them.
    kind = type(value)
    if kind is float:
        return "float", repr(value), value if _isfinite(value) else None
    if kind is str:
        return _encode_str(value)
    if kind is int:
        return _encode_int(value)
    if kind is bool:
        return "bool", "true" if value else "false", float(value)
    if hasattr(value, "dtype") and hasattr(value, "tolist"):
        value = value.tolist()  # numpy scalars and arrays (numpy.bool_ is no bool subclass)
    if isinstance(value, bool):
        return "bool", "true" if value else "false", float(value)
    if isinstance(value, numbers.Integral):
        return _encode_int(int(value))
    if isinstance(value, numbers.Real):
        f = float(value)
        return "float", repr(f), _finite(f)
    if isinstance(value, str):
        return _encode_str(value)
    check_nesting(value, "param value", InvalidParamValue)
    try:
        text = json.dumps(
            value, sort_keys=True, separators=(",", ":"), allow_nan=False, default=_plain
        )
    except (TypeError, ValueError) as err:
        raise InvalidParamValue(
            f"param value of type {type(value).__name__} cannot be stored: {err}"
        ) from err
    if len(text) > MAX_PARAM_TEXT:
        raise InvalidParamValue(
            f"param value is {len(text)} characters as JSON; limit {MAX_PARAM_TEXT}"
        )
    return "json", text, None


_HUGE_INT = 2**1023  # named once: the compiler does not fold a power this large into a constant


def _encode_int(number: int) -> tuple[str, str, float | None]:
    if number.bit_length() > 4000:  # str() of such ints is refused by Python itself
        raise InvalidParamValue(
            f"an int param of {number.bit_length()} bits is too large to store",
            hint="Store huge numbers as strings.",
        )
    return "int", str(number), _finite(float(number)) if abs(number) < _HUGE_INT else None


def _encode_str(value: str) -> tuple[str, str, float | None]:
    if len(value) > MAX_PARAM_TEXT:
        raise InvalidParamValue(f"param value is {len(value)} characters; limit {MAX_PARAM_TEXT}")
    _refuse_nul(value, "param value")
    num = _number_in(value)
    return "str", value, None if num is None else _finite(num)


def check_nesting(value: Any, what: str, error: type[InvalidInput] = InvalidInput) -> None:
    """Refuse ``value`` (raise ``error`` naming ``what``) when its lists and dicts nest more
    than ``MAX_NESTING`` deep.

    Example:
        >>> check_nesting({"optimizer": {"name": "adam", "betas": [0.9, 0.999]}}, "seeds")
        >>> deep = []
        >>> for _ in range(200):
        ...     deep = [deep]
        >>> try:
        ...     check_nesting(deep, "param value")
        ... except InvalidInput as err:
        ...     print(err.message)
        param value nests lists or dicts more than 100 deep
    """
    # Level by level, each container once per level (by identity): a structure that holds
    # itself is refused as too deep instead of growing the next level without end.
    level = [value] if isinstance(value, _CONTAINERS) else []
    depth = 0
    while level:
        depth += 1
        if depth > MAX_NESTING:
            raise error(
                f"{what} nests lists or dicts more than {MAX_NESTING} deep",
                hint="Flatten it (e.g. dotted keys), or log it as an artifact (a JSON file).",
            )
        below: dict[int, Any] = {}
        for item in level:
            for child in item.values() if isinstance(item, dict) else item:
                if isinstance(child, _CONTAINERS):
                    below[id(child)] = child
        level = list(below.values())


_CONTAINERS = (dict, list, tuple)


def number_of_text(text: str) -> float | None:
    """The number stored with any param whose text is ``text``, for the params that have one.

    A param with a number stores text that spells it (``repr`` of a float, ``str`` of an int,
    the string itself) or ``true``/``false`` for a bool, so a param whose text is ``text``
    either has this number or none at all. Search finds text equality on such params through
    the index on numbers (see ``mled.query.conditions.param_text_test``).

    Example:
        >>> number_of_text("0.001"), number_of_text("true"), number_of_text("adam")
        (0.001, 1.0, None)
    """
    if text in _BOOL_TEXT:
        return _BOOL_TEXT[text]
    num = _number_in(text)
    return None if num is None else _finite(num)


_BOOL_TEXT = {"true": 1.0, "false": 0.0}


def _number_in(text: str) -> float | None:
    """The number a numeric-looking string holds, or None.

    The regex admits every Unicode space around the number, but float() strips only some of
    them (not the separators U+001C-U+001F), so "0\x1f" matches and still is not a number.
    """
    if not _NUMERIC_RE.match(text):
        return None
    try:
        return float(text)
    except ValueError:
        return None


_isfinite = math.isfinite


def _finite(f: float) -> float | None:
    return f if _isfinite(f) else None


def _plain(value: Any) -> Any:
    """JSON fallback: numpy values nested in a list/dict become the Python values they hold."""
    if hasattr(value, "dtype") and hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _refuse_nul(text: str, what: str) -> None:
    # PostgreSQL text cannot hold NUL; refuse it on every backend so that stores agree.
    if "\x00" in text:
        raise InvalidParamValue(
            f"{what} contains a NUL character (\\x00)",
            hint="Remove the NUL characters, or log binary data as an artifact.",
        )


def validate_tag_value(key: str, value: object) -> str:
    """Tags are strings; numbers and bools are converted, anything else is refused.

    Example:
        >>> validate_tag_value("team", "vision"), validate_tag_value("epochs", 3)
        ('vision', '3')
    """
    if (
        type(value) is str
        and type(key) is str
        and len(value) <= MAX_TAG_VALUE
        and "\x00" not in value
    ):
        return value  # the common case, which the checks below would return unchanged
    if isinstance(value, str):
        text = value
    elif isinstance(value, bool | int | float):
        text = str(value)
    else:
        raise InvalidParamValue(
            f"tag {key!r} has a {type(value).__name__} value; tags are strings",
            hint="Convert the value to a string, or log it as a param.",
        )
    _refuse_nul(text, f"tag {key!r} value")
    if len(text) > MAX_TAG_VALUE:
        raise InvalidParamValue(
            f"tag {key!r} value is {len(text)} characters; limit {MAX_TAG_VALUE}"
        )
    return text


def metric_value(key: str, value: object) -> float:
    """Coerce one metric value to float; strings, None and other objects are refused."""
    if type(value) is float:
        return value
    if isinstance(value, str | bytes) or value is None or isinstance(value, complex):
        raise InvalidMetricValue(
            f"metric {key!r} got {value!r} ({type(value).__name__}); metrics must be numbers"
        )
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError) as err:
        raise InvalidMetricValue(
            f"metric {key!r} got {value!r} ({type(value).__name__}); metrics must be numbers"
        ) from err


def metric_step(key: str, step: object) -> int:
    """Steps are integers (a float with an integral value is accepted)."""
    if isinstance(step, bool) or not isinstance(step, numbers.Real):
        raise InvalidMetricValue(f"metric {key!r} has step {step!r}; steps are integers")
    if isinstance(step, numbers.Integral):
        return int(step)
    f = float(step)
    if not f.is_integer():
        raise InvalidMetricValue(f"metric {key!r} has step {step!r}; steps are integers")
    return int(f)


def metric_timestamp(value: object) -> float:
    """A metric point's timestamp: epoch seconds as a finite number."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidMetricValue(
            f"timestamp {value!r} is not a number; timestamps are epoch seconds"
        )
    ts = float(value)
    if not math.isfinite(ts):
        raise InvalidMetricValue(f"timestamp {value!r} is not finite")
    return ts
