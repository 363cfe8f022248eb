"""Experiments that already ran: one ``log_experiments`` call stores each entry exactly as
``log_experiment`` stores the same arguments, on every backend (local and HTTP, SQLite and
PostgreSQL), for any values MLED accepts (property test)."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mled.entities import Experiment
from mled.sdk.client import Client

_chars = st.characters(exclude_characters="\x00", exclude_categories=["Cs"])
_text = st.text(_chars, max_size=12)
_key = st.from_regex(r"[A-Za-z][A-Za-z0-9_.]{0,8}", fullmatch=True)
_leaf = st.booleans() | st.integers() | st.floats() | _text
_param = _leaf | st.lists(
    st.booleans() | st.integers(-(2**60), 2**60) | st.floats(allow_nan=False, allow_infinity=False),
    max_size=3,
)
_metric = (
    st.floats()
    | st.lists(st.floats(), min_size=1, max_size=4)
    | st.lists(st.tuples(st.integers(0, 2**40), st.floats()), min_size=1, max_size=4)
)
_entry = st.fixed_dictionaries(
    {
        "name": st.from_regex(r"[a-z][a-z0-9-]{0,10}", fullmatch=True),
        "params": st.dictionaries(_key, _param, max_size=5),
        "tags": st.dictionaries(_key, _text, max_size=3),
        "metrics": st.dictionaries(_key, _metric, max_size=3),
        "notes": _text,
        "status": st.sampled_from(["finished", "failed", "killed"]),
        "started_at": st.floats(1e9, 2e9),
    }
)


def _stored(experiment: Experiment) -> str:
    """What was stored, as text (``repr`` tells NaN, ``1`` from ``1.0`` and ``True``)."""
    return repr(
        (
            experiment.name,
            experiment.project,
            experiment.status,
            experiment.params,
            experiment.tags,
            experiment.notes,
            experiment.started_at,
            sorted(experiment.metric_summaries.items()),
        )
    )


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(entries=st.lists(_entry, min_size=1, max_size=3))
def test_log_experiments_stores_what_log_experiment_stores(
    client: Client, entries: list[dict[str, Any]]
) -> None:
    ids = client.log_experiments(entries, project="bulk")
    for entry, bulk_id in zip(entries, ids, strict=True):
        fields = {k: v for k, v in entry.items() if k != "name"}
        one = client.log_experiment("bulk", entry["name"], **fields)
        assert _stored(client.get_experiment(bulk_id)) == _stored(client.get_experiment(one.id))
        assert _stored(one) == _stored(client.get_experiment(one.id))
