"""The SDK over HTTP against a real server: round trips, error mapping, idempotent batches."""

from __future__ import annotations

import gzip
import math
from pathlib import Path

import httpx
import pytest
from mled_http_harness import ServerProcess, free_port, http_settings_for

from mled.errors import (
    ExperimentNotFound,
    MledError,
    ParamConflict,
    PermissionDenied,
    StoreUnavailable,
    Unauthenticated,
)
from mled.sdk.client import Client
from mled.sdk.http import HttpBackend
from mled.sdk.http_transport import Transport
from mled.service import Services
from mled.settings import Settings
from mled.store.sql.store import SqlStore
from mled.wire import BATCH_MEDIA_TYPE, encode_batch


def test_an_experiment_round_trips_through_the_server(http_client: Client) -> None:
    with http_client.start_experiment(
        project="vision",
        name="resnet",
        params={"lr": 0.1, "layers": 50, "aug": True},
        tags={"team": "cv"},
    ) as exp:
        exp.log_params({"opt": {"name": "adam", "betas": [0.9, 0.99]}})
        exp.set_tag("stage", "tuning")
        for step in range(100):
            exp.log_metrics({"loss": 1.0 / (step + 1), "odd": math.nan}, step=step)
        exp.flush()
        assert exp.refresh().metrics["loss"] == pytest.approx(0.01)
    got = http_client.get_experiment(exp.id[:13])
    assert got.id == exp.id
    assert got.status == "finished"
    assert got.owner == "alice"
    assert got.params == {
        "lr": 0.1,
        "layers": 50,
        "aug": True,
        "opt": {"name": "adam", "betas": [0.9, 0.99]},
    }
    assert got.tags["team"] == "cv"
    assert got.tags["stage"] == "tuning"
    history = http_client.get_metric_history(exp.id, "loss")
    assert history.steps == list(range(100))
    assert all(math.isnan(v) for v in http_client.get_metric_history(exp.id, "odd").values)
    assert [e.id for e in http_client.list_experiments("vision")] == [exp.id]
    assert http_client.verify_audit().ok


def test_keys_with_slashes_tags_seeds_and_recorded_experiments(http_client: Client) -> None:
    with http_client.start_experiment(project="p", tags={"a": 1, "b": "x"}, capture=False) as exp:
        exp.log_metric("val/loss", 0.5, step=3)
        exp.delete_tag("b")
        exp.record_seeds({"python": 7})
    got = http_client.get_experiment(exp.id)
    assert got.tags == {"a": "1"}
    assert got.seeds == {"python": 7}
    assert http_client.get_metric_history(exp.id, "val/loss").steps == [3]
    done = http_client.log_experiment(
        "p",
        "old-run",
        params={"k": 3},
        metrics={"acc": [0.5, float("inf")], "f1": 0.7},
        started_at=1_700_000_000,
        ended_at=1_700_000_100,
    )
    assert done.status == "finished"
    assert done.duration == 100
    assert http_client.get_metric_history(done.id, "acc").values == [0.5, float("inf")]


def test_server_errors_raise_the_same_classes_with_their_hints(
    http_client: Client, server: ServerProcess, tmp_path: Path
) -> None:
    exp = http_client.start_experiment(project="p", params={"lr": 0.1}, capture=False)
    with pytest.raises(ParamConflict) as conflict:
        exp.log_param("lr", 0.2)
    assert "lr" in conflict.value.message
    assert conflict.value.hint == ParamConflict.default_hint
    with pytest.raises(ExperimentNotFound) as missing:
        http_client.get_experiment("ffffffff")
    assert missing.value.hint == ExperimentNotFound.default_hint

    store = SqlStore.open(server.store_uri)
    services = Services.for_user(store, "alice")
    services.users.create("bob", password="a long passphrase for bob")
    services.users.set_role("p", "bob", "project_manager")  # read only
    bob_token = services.tokens.create("bob", username="bob").token
    store.close()
    bob = Client(settings=http_settings_for(tmp_path / "bob", server.url, bob_token))
    try:
        assert bob.get_experiment(exp.id).id == exp.id
        with pytest.raises(PermissionDenied) as denied:
            bob.start_experiment(project="p", capture=False)
        assert denied.value.hint
    finally:
        bob.close()
    exp.end()


def test_a_bad_token_is_unauthenticated(server: ServerProcess, tmp_path: Path) -> None:
    client = Client(settings=http_settings_for(tmp_path, server.url, "mled_not_a_token"))
    with pytest.raises(Unauthenticated) as info:
        client.list_projects()
    assert "login" in info.value.hint
    client.close()


def test_a_batch_sent_twice_with_one_key_is_stored_once(
    http_client: Client, http_settings: Settings
) -> None:
    exp = http_client.start_experiment(project="p", capture=False)
    batch = {"loss": ([0, 1, 2], [1.0, 2.0, 3.0], [0.5, 0.4, 0.3])}
    body = gzip.compress(encode_batch(batch))
    headers = {
        "Content-Type": BATCH_MEDIA_TYPE,
        "Content-Encoding": "gzip",
        "Idempotency-Key": "k-1",
    }
    transport = Transport(http_settings.store_uri, http_settings.token, timeout=10, retries=0)
    path = f"/experiments/{exp.id}/metrics"
    for _ in range(2):
        assert transport.request("POST", path, content=body, headers=headers).status_code < 300
    transport.close()
    assert len(http_client.get_metric_history(exp.id, "loss")) == 3
    exp.end()


class LoseFirstAnswer(httpx.BaseTransport):
    """Delivers every request, but drops the server's answer to the first metric batch."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.keys: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if request.url.path.endswith("/metrics"):
            self.keys.append(request.headers["Idempotency-Key"])
            if len(self.keys) == 1:
                response.read()
                response.close()
                raise httpx.ReadError("connection reset while reading the answer")
        return response

    def close(self) -> None:
        self.inner.close()


def test_a_batch_retried_after_a_lost_answer_is_stored_once(
    server: ServerProcess, http_settings: Settings
) -> None:
    lossy = LoseFirstAnswer()
    client = httpx.Client(
        base_url=f"{server.url}/api/v1",
        transport=lossy,
        headers={
            "Authorization": f"Bearer {http_settings.token}",
        },
    )
    backend = HttpBackend(
        server.url,
        http_settings,
        Transport(server.url, http_settings.token, timeout=10, retries=3, client=client),
    )
    sdk = Client(settings=http_settings)
    sdk._backend = backend
    with sdk.start_experiment(project="p", capture=False) as exp:
        exp.log_metrics({"a": 1.0, "b": 2.0}, step=0)
        exp.log_metrics({"a": 3.0, "b": 4.0}, step=1)
    assert len(lossy.keys) == 2
    assert lossy.keys[0] == lossy.keys[1]
    assert sdk.get_metric_history(exp.id, "a").values == [1.0, 3.0]
    assert backend.spool_path is None
    sdk.close()


def test_reads_while_the_server_is_down_raise_store_unavailable(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    client = Client(settings=http_settings_for(tmp_path, url, "t", http_retries=0))
    with pytest.raises(StoreUnavailable) as info:
        client.get_experiment("0190")
    assert url in info.value.message
    assert "health" in info.value.hint
    with pytest.raises(StoreUnavailable):
        client.list_projects()
    client.close()


def test_errors_keep_the_mled_error_shape_for_an_unknown_route(
    server: ServerProcess, http_settings: Settings
) -> None:
    transport = Transport(server.url, http_settings.token, timeout=10, retries=0)
    with pytest.raises(MledError) as info:
        transport.request("GET", "/no/such/route")
    assert info.value.status == 404
    transport.close()


def test_search_compare_and_accounts_go_through_the_server(http_client: Client) -> None:
    ids = []
    for i, acc in enumerate([0.7, 0.9, 0.8]):
        with http_client.start_experiment(
            project="cmp", name=f"r{i}", params={"lr": 0.1 * (i + 1)}, capture=False
        ) as exp:
            exp.log_metrics({"acc": acc - 0.1}, step=0)
            exp.log_metrics({"acc": acc}, step=1)
        ids.append(exp.id)
    backend = http_client.backend
    page = backend.search("metrics.acc >= 0.8 order by metrics.acc desc", limit=1)
    assert [e.id for e in page.items] == [ids[1]]
    assert page.next_page_token is not None
    rest = backend.search(
        "metrics.acc >= 0.8 order by metrics.acc desc", limit=1, page_token=page.next_page_token
    )
    assert [e.id for e in rest.items] == [ids[2]]
    comparison = backend.compare(ids, directions={"acc": "max"})
    assert comparison.ids == ids
    assert comparison.metrics[0].best == ids[1]
    assert comparison.histories["acc"].values[ids[0]] == [pytest.approx(0.6), 0.7]
    assert [p.key for p in comparison.differing_params] == ["lr"]

    backend.create_user("carol", password="a long passphrase")
    backend.set_role("cmp", "carol", "auditor")
    assert backend.list_members("cmp")["carol"] == "auditor"
    backend.set_role("cmp", "carol", None)
    assert "carol" not in backend.list_members("cmp")
    backend.set_user_disabled("carol", True)
    assert [u.disabled for u in backend.list_users() if u.username == "carol"] == [True]
    issued = backend.create_token("ci", days=1)
    assert issued.token.startswith("mled_")
    assert issued.info.id in [t.id for t in backend.list_tokens()]
    backend.revoke_token(issued.info.id)
    assert [t.revoked for t in backend.list_tokens() if t.id == issued.info.id] == [True]
