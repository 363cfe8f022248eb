"""Public identifiers: UUIDv7 strings (RFC 9562), time-sortable and unique across clients.

Example:
    >>> a, b = new_id(), new_id()
    >>> len(a), a < b
    (36, True)
"""

from __future__ import annotations

import os
import re
import threading
import time

_lock = threading.Lock()
_last_ms = 0
_counter = 0


def new_id() -> str:
    """Return a new UUIDv7 as a lowercase hyphenated string.

    Within one process IDs are strictly increasing: the 12-bit ``rand_a`` field holds a counter
    that restarts at a random value each millisecond (RFC 9562, method 1).
    """
    global _last_ms, _counter  # process-wide monotonic state is the point of this function
    with _lock:
        ms = time.time_ns() // 1_000_000
        if ms <= _last_ms:
            _counter += 1
            if _counter > 0xFFF:  # counter exhausted: borrow the next millisecond
                _last_ms += 1
                _counter = 0
            ms = _last_ms
        else:
            _last_ms = ms
            _counter = int.from_bytes(os.urandom(2), "big") & 0x3FF
        counter = _counter
    rand_b = int.from_bytes(os.urandom(8), "big") & ((1 << 62) - 1)
    value = (ms & ((1 << 48) - 1)) << 80 | 0x7 << 76 | counter << 64 | 0b10 << 62 | rand_b
    h = f"{value:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def id_prefix_pattern(prefix: str) -> str:
    """Normalise a user-typed ID prefix (case, missing hyphens are not guessed)."""
    return prefix.strip().lower()


_FULL_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def is_full_id(text: str) -> bool:
    """True when ``text`` has the shape of a complete hyphenated UUID (any case, surrounding
    whitespace ignored).

    Example:
        >>> is_full_id(" 0192F1A0-0000-7000-8000-000000000000 "), is_full_id("0192f1a0")
        (True, False)
    """
    return _FULL_ID.fullmatch(text.strip().lower()) is not None
