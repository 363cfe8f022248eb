"""``mled.search``, ``mled.search_iter``, ``SearchResults.to_pandas`` and ``mled.compare``."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest

import mled
from mled import Client, SearchResults
from mled.errors import QuerySyntaxError
from mled.settings import Settings


def _log(client: Client, count: int = 12) -> list[str]:
    ids = []
    for i in range(count):
        exp = client.log_experiment(
            "vision" if i % 3 else "nlp",
            f"run-{i:02d}",
            params={"lr": 10.0**-i, "opt": "adam" if i % 2 else "sgd", "layers": [i, i]},
            metrics={"acc": [0.1, i / 20], "loss": 1.0 / (i + 1)},
            tags={"team": "cv" if i % 3 else "text"},
            started_at=1_700_000_000 + i,
            ended_at=1_700_000_100 + 2 * i,
        )
        ids.append(exp.id)
    return ids


def test_search_returns_a_list_in_query_order(client: Client) -> None:
    ids = _log(client)
    found = client.search("metrics.acc > 0.2 order by metrics.acc desc")
    assert isinstance(found, SearchResults)
    assert isinstance(found, list)
    assert [e.name for e in found] == [f"run-{i:02d}" for i in range(11, 4, -1)]
    assert [e.id for e in client.search("", order_by=["name"], limit=3)] == ids[:3]
    assert [e.name for e in client.search("params.opt = 'adam'", project="nlp")] == [
        "run-09",
        "run-03",
    ]
    assert client.search("", limit=0) == []
    with pytest.raises(QuerySyntaxError):
        client.search("params.lr <")


def test_search_iter_pages_equal_one_big_search(client: Client) -> None:
    _log(client, 23)
    whole = [e.id for e in client.search("order by params.lr desc")]
    for page_size in (1, 4, 10, 1000):
        streamed = client.search_iter("order by params.lr desc", page_size=page_size)
        assert isinstance(streamed, Iterator)
        assert [e.id for e in streamed] == whole
    assert len(whole) == 23
    assert [e.id for e in client.search("order by params.lr desc", limit=5)] == whole[:5]
    capped = client.search("order by params.lr desc limit 7", limit=100)
    assert [e.id for e in capped] == whole[:7]


def test_to_pandas_flattens_params_metrics_and_tags(client: Client) -> None:
    pd = pytest.importorskip("pandas")
    _log(client, 4)
    frame = client.search("order by name").to_pandas()
    assert list(frame.columns) == [
        "id",
        "name",
        "project",
        "status",
        "owner",
        "group",
        "created",
        "started",
        "ended",
        "duration",
        "params.layers",
        "params.lr",
        "params.opt",
        "metrics.acc",
        "metrics.loss",
        "tags.team",
    ]
    assert frame["name"].tolist() == ["run-00", "run-01", "run-02", "run-03"]
    assert frame["params.lr"].tolist() == [1.0, 0.1, 0.01, 0.001]
    assert frame["metrics.loss"].tolist() == [1.0, 0.5, 1 / 3, 0.25]
    assert frame["params.layers"].tolist() == [[0, 0], [1, 1], [2, 2], [3, 3]]
    assert frame["duration"].tolist() == [100.0, 101.0, 102.0, 103.0]
    assert str(frame["started"].dtype).startswith("datetime64")
    assert isinstance(SearchResults().to_pandas(), pd.DataFrame)


def test_to_pandas_without_pandas_says_how_to_install_it(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    _log(client, 1)
    found = client.search("")
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ImportError, match="pip install pandas"):
        found.to_pandas()


def test_compare_through_the_client(client: Client) -> None:
    ids = _log(client, 3)
    cmp = client.compare(ids)
    assert cmp.ids == ids
    assert [p.key for p in cmp.differing_params] == ["layers", "lr", "opt"]
    metrics = {m.key: m for m in cmp.metrics}
    assert metrics["loss"].direction == "min"
    assert metrics["loss"].best == ids[2]
    assert metrics["acc"].direction == "max"
    assert metrics["acc"].best == ids[2]
    assert cmp.histories["acc"].steps == [0, 1]
    assert cmp.histories["acc"].values[ids[1]] == [0.1, 0.05]
    flipped = client.compare(ids, directions={"loss": "max"}, histories=False)
    assert {m.key: m for m in flipped.metrics}["loss"].best == ids[0]


def test_module_level_functions(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLED_HOME", str(settings.home))
    monkeypatch.setenv("MLED_USER", "alice")
    mled.set_tracking_uri(settings.tracking_uri)
    try:
        a = mled.log_experiment("vision", "a", metrics={"acc": 0.5}, params={"lr": 0.1})
        b = mled.log_experiment("vision", "b", metrics={"acc": 0.7}, params={"lr": 0.2})
        assert [e.id for e in mled.search("metrics.acc > 0.6")] == [b.id]
        assert [e.id for e in mled.search_iter("", page_size=1)] == [b.id, a.id]
        assert mled.compare([a.id, b.id]).metrics[0].best == b.id
    finally:
        mled.set_tracking_uri(None)


def test_import_mled_stays_light() -> None:
    import subprocess

    code = (
        "import sys, mled; mled.search; mled.compare; mled.SearchResults; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('sqlalchemy', 'lark', 'pandas', 'httpx')))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.strip() == "[]", done.stderr
