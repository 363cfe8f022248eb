"""Schemathesis hooks for fuzzing the MLED API (loaded by ``schemathesis run`` via its config).

- Authentication: an admin logs in with a password (``MLED_FUZZ_URL``, ``MLED_FUZZ_USER``,
  ``MLED_FUZZ_PASSWORD``). The fuzzer may revoke the token it uses (``DELETE /tokens/{id}``
  with a lucky id); a 401 then makes schemathesis log in again and replay the request.
- ``application/x-mled-batch`` bodies are generated as valid MLB1 batches (``mled.wire``),
  so the binary metric route is exercised past its decoder.
"""

from __future__ import annotations

import os
from typing import Any

import httpx
import schemathesis
from hypothesis import strategies as st

from mled.wire import BATCH_MEDIA_TYPE, encode_batch

KEY_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789_-./: "


@schemathesis.auth(retry_on=[401])
class PasswordLogin:
    """A token from ``POST /auth/login``, fetched again whenever a request gets a 401."""

    def get(self, case: Any, ctx: Any) -> str:
        url = os.environ["MLED_FUZZ_URL"].rstrip("/") + "/api/v1/auth/login"
        body = {
            "username": os.environ["MLED_FUZZ_USER"],
            "password": os.environ["MLED_FUZZ_PASSWORD"],
        }
        answer = httpx.post(url, json=body, timeout=30)
        answer.raise_for_status()
        return str(answer.json()["token"])

    def set(self, case: Any, data: str, ctx: Any) -> None:
        case.headers = case.headers or {}
        case.headers["Authorization"] = f"Bearer {data}"


@st.composite
def _series(draw: st.DrawFn) -> tuple[list[int], list[float], list[float]]:
    n = draw(st.integers(min_value=0, max_value=20))
    steps = draw(st.lists(st.integers(-(2**63), 2**63 - 1), min_size=n, max_size=n))
    times = draw(st.lists(st.floats(0, 4e9), min_size=n, max_size=n))
    values = draw(st.lists(st.floats(), min_size=n, max_size=n))
    return steps, times, values


_batches = st.dictionaries(
    st.text(KEY_ALPHABET, min_size=1, max_size=40), _series(), max_size=4
).map(encode_batch)

schemathesis.openapi.media_type(BATCH_MEDIA_TYPE, _batches)
