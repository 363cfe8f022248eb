"""What each route does, over real HTTP, on every backend: experiments, metrics (binary and
JSON, NaN-safe, idempotent), users, tokens and the audit log."""

from __future__ import annotations

import gzip
import json
import math

import httpx
from mled_api_harness import Api, assert_problem

from mled.wire import BATCH_MEDIA_TYPE, decode_batch, encode_batch

BINARY = {"Content-Type": BATCH_MEDIA_TYPE, "Content-Encoding": "gzip"}
CLIENT_ID = "01900000-0000-7000-8000-0000000000c1"


def _create(admin: httpx.Client, **fields: object) -> dict:
    """POST /experiments; the body is encoded by Python's json, so NaN and inf may be sent
    as the non-standard tokens NaN/Infinity that the server also reads."""
    body = json.dumps({"project": "alpha", "name": "resnet", **fields})
    answer = admin.post("/experiments", content=body, headers={"Content-Type": "application/json"})
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def _gz(batch: dict) -> bytes:
    return gzip.compress(encode_batch(batch))


def test_an_experiment_that_already_ran_round_trips(admin: httpx.Client) -> None:
    created = _create(
        admin,
        id=CLIENT_ID,
        status="finished",
        started_at=1_767_225_600.0,
        ended_at=1_767_225_660.5,
        group="sweep-1",
        notes="baseline",
        params={
            "lr": 0.001,
            "epochs": 10,
            "amp": True,
            "opt": "adam",
            "layers": [64, 32],
            "x": math.nan,
        },
        tags={"team": "vision", "seed": 7, "ok": False},
        source={"commit": "a" * 40, "branch": "main", "dirty": False},
        command={"argv": ["train.py", "--lr", "0.001"]},
        environment={"python": "3.11.9", "x": math.inf},
        seeds={"python": 7},
        metrics={
            "loss": {
                "steps": [0, 1, 2],
                "timestamps": [1.0, 2.0, 3.0],
                "values": [0.9, 0.5, "NaN"],
            },
            "train/acc": {"steps": [0], "timestamps": [1.0], "values": ["Infinity"]},
        },
    )
    fetched = admin.get(f"/experiments/{CLIENT_ID[:13]}").json()
    assert fetched == created
    assert fetched["id"] == CLIENT_ID
    assert fetched["owner"] == "admin"
    assert fetched["status"] == "finished"
    assert fetched["duration"] == 60.5
    assert fetched["started_at"].startswith("2026-01-01T00:00:00")
    assert fetched["params"] == {
        "lr": 0.001,
        "epochs": 10,
        "amp": True,
        "opt": "adam",
        "layers": [64, 32],
        "x": "NaN",
    }
    assert isinstance(fetched["params"]["epochs"], int)
    assert fetched["tags"] == {"team": "vision", "seed": "7", "ok": "False"}
    assert fetched["metrics"] == {"loss": "NaN", "train/acc": "Infinity"}
    assert fetched["metric_summaries"]["loss"] == {
        "last": "NaN",
        "min": 0.5,
        "max": 0.9,
        "count": 3,
        "last_step": 2,
        "last_timestamp": 3.0,
    }
    assert fetched["source"]["commit"] == "a" * 40
    assert fetched["environment"]["x"] == "Infinity"
    assert fetched["seeds"] == {"python": 7}

    again = admin.post("/experiments", json={"project": "alpha", "name": "resnet", "id": CLIENT_ID})
    assert again.status_code == 201
    assert again.json()["id"] == CLIENT_ID  # a replayed creation returns the first one


def test_listing_pages_newest_first_within_readable_projects(api: Api) -> None:
    admin = api.client()
    ids = [_create(admin, name=f"e{i}")["id"] for i in range(5)]
    beta = admin.post("/experiments", json={"project": "beta", "name": "hidden"}).json()["id"]
    listed = [e["id"] for e in admin.get("/experiments", params={"project": "alpha"}).json()]
    assert listed == ids[::-1]
    page = admin.get("/experiments", params={"project": "alpha", "limit": 2, "offset": 1}).json()
    assert [e["id"] for e in page] == ids[::-1][1:3]
    mine = [e["id"] for e in api.client("auditor").get("/experiments").json()]
    assert beta not in mine
    assert set(mine) == set(ids)


def test_live_experiment_params_tags_seeds_and_end(admin: httpx.Client) -> None:
    eid = _create(admin)["id"]
    assert admin.post(f"/experiments/{eid}/params", json={"params": {"lr": 0.1}}).status_code == 204
    same = admin.post(f"/experiments/{eid}/params", json={"params": {"lr": 0.1}})
    assert same.status_code == 204  # logging the same value again is a no-op
    tags = {"tags": {"stage": "dev", "data/version": 3}}
    assert admin.post(f"/experiments/{eid}/tags", json=tags).status_code == 204
    assert admin.delete(f"/experiments/{eid}/tags/data%2Fversion").status_code == 204
    assert admin.delete(f"/experiments/{eid}/tags/absent").status_code == 204
    seeds = {"seeds": {"numpy": 1, "torch": 2}}
    assert admin.post(f"/experiments/{eid}/seeds", json=seeds).status_code == 204
    end = {"status": "failed", "error": "CUDA out of memory", "ended_at": 1_900_000_000.0}
    assert admin.post(f"/experiments/{eid}/end", json=end).status_code == 204
    assert admin.post(f"/experiments/{eid}/end", json=end).status_code == 204  # idempotent

    e = admin.get(f"/experiments/{eid}").json()
    assert e["params"] == {"lr": 0.1}
    assert e["tags"] == {"stage": "dev"}
    assert e["seeds"] == {"numpy": 1, "torch": 2}
    assert (e["status"], e["error"]) == ("failed", "CUDA out of memory")
    assert e["ended_at"].startswith("2030-03-17")
    killed = admin.post(f"/experiments/{eid}/end", json={"status": "killed"})
    assert_problem(killed, 409, "experiment_not_active")


def test_binary_and_json_batches_with_non_finite_values(admin: httpx.Client) -> None:
    eid = _create(admin)["id"]
    url = f"/experiments/{eid}/metrics"
    binary = {"loss": ([0, 1], [10.0, 11.0], [0.5, math.nan]), "a/b": ([0], [10.0], [math.inf])}
    assert admin.post(url, content=_gz(binary), headers=BINARY).json() == {"points": 3}
    plain = admin.post(
        url, content=encode_batch(binary), headers={"Content-Type": BATCH_MEDIA_TYPE}
    )
    assert plain.json() == {"points": 3}
    as_json = {"metrics": {"loss": {"steps": [2], "timestamps": [12.0], "values": ["-Infinity"]}}}
    assert admin.post(url, json=as_json).json() == {"points": 1}

    history = admin.get(f"{url}/loss").json()
    assert history == {
        "key": "loss",
        "steps": [0, 0, 1, 1, 2],
        "timestamps": [10.0, 10.0, 11.0, 11.0, 12.0],
        "values": [0.5, 0.5, "NaN", "NaN", "-Infinity"],
    }
    assert admin.get(f"{url}/a%2Fb").json()["values"] == ["Infinity", "Infinity"]
    packed = admin.get(f"{url}/loss", headers={"Accept": BATCH_MEDIA_TYPE})
    assert packed.headers["content-type"] == BATCH_MEDIA_TYPE
    steps, _, values = decode_batch(packed.content)["loss"]
    assert steps == [0, 0, 1, 1, 2]
    assert math.isnan(values[2])
    assert values[4] == -math.inf


def test_a_batch_retried_with_its_idempotency_key_is_stored_once(api: Api) -> None:
    admin = api.client()
    eid = _create(admin)["id"]
    url = f"/experiments/{eid}/metrics"
    body = _gz({"loss": ([0, 1, 2], [1.0, 2.0, 3.0], [3.0, 2.0, 1.0])})
    headers = {**BINARY, "Idempotency-Key": "batch-0001"}
    for _ in range(3):
        assert admin.post(url, content=body, headers=headers).json() == {"points": 3}
    assert len(admin.get(f"{url}/loss").json()["steps"]) == 3
    events = admin.get("/audit/events", params={"limit": 1000}).json()
    assert sum(e["action"] == "metrics.log" for e in events) == 1


def test_history_is_downsampled_on_request(admin: httpx.Client) -> None:
    eid = _create(admin)["id"]
    n = 5000
    batch = {
        "loss": (list(range(n)), [float(i) for i in range(n)], [math.sin(i) for i in range(n)])
    }
    admin.post(f"/experiments/{eid}/metrics", content=_gz(batch), headers=BINARY)
    small = admin.get(f"/experiments/{eid}/metrics/loss", params={"max_points": 100}).json()
    assert len(small["steps"]) == 100
    assert (small["steps"][0], small["steps"][-1]) == (0, n - 1)


def test_metrics_of_an_ended_experiment_are_refused(admin: httpx.Client) -> None:
    eid = _create(admin, status="finished")["id"]
    answer = admin.post(
        f"/experiments/{eid}/metrics", content=_gz({"x": ([0], [1.0], [1.0])}), headers=BINARY
    )
    assert_problem(answer, 409, "experiment_not_active")


def test_users_are_listed_created_and_disabled_by_admins(api: Api) -> None:
    admin = api.client()
    created = admin.post("/users", json={"username": "bob", "password": "bob's passphrase"})
    assert created.json() == {"username": "bob", "is_admin": False, "disabled": False}
    assert_problem(admin.post("/users", json={"username": "bob"}), 409, "already_exists")
    names = {u["username"] for u in admin.get("/users").json()}
    assert {"admin", "bob", "auditor", "outsider"} <= names
    login = {"username": "bob", "password": "bob's passphrase"}
    assert api.client(None).post("/auth/login", json=login).status_code == 200
    assert admin.post("/users/bob/disable").status_code == 204
    assert_problem(api.client(None).post("/auth/login", json=login), 401)
    assert admin.post("/users/bob/enable").status_code == 204
    assert api.client(None).post("/auth/login", json=login).status_code == 200
    assert_problem(admin.post("/users/admin/disable"), 400, "invalid_input")
    short = admin.post("/users", json={"username": "carol", "password": "short"})
    assert assert_problem(short, 422)["details"]["fields"][0]["field"] == "password"


def test_tokens_are_created_listed_and_revoked(api: Api) -> None:
    auditor = api.client("auditor")
    issued = auditor.post("/tokens", json={"name": "ci", "days": 30}).json()
    assert issued["token"].startswith(issued["prefix"])
    assert issued["expires_at"] is not None
    forever = auditor.post("/tokens", json={"name": "forever", "days": None}).json()
    assert forever["expires_at"] is None
    listed = {t["name"]: t for t in auditor.get("/tokens").json()}
    assert set(listed) == {"t", "ci", "forever"}
    assert "token" not in listed["ci"]
    assert listed["ci"]["prefix"] == issued["prefix"]
    assert auditor.delete(f"/tokens/{issued['id']}").status_code == 204
    assert auditor.delete(f"/tokens/{issued['id']}").status_code == 204  # again: a no-op
    assert {t["name"]: t["revoked"] for t in auditor.get("/tokens").json()}["ci"] is True
    everyone = {t["username"] for t in api.client().get("/tokens", params={"all": True}).json()}
    assert {"admin", "auditor", "outsider"} <= everyone


def test_audit_events_page_in_order_and_verify(api: Api) -> None:
    auditor = api.client("auditor")
    first = auditor.get("/audit/events", params={"limit": 3}).json()
    assert [e["seq"] for e in first] == [1, 2, 3]
    assert first[1]["prev_hash"] == first[0]["hash"]
    rest = auditor.get("/audit/events", params={"after_seq": 3, "limit": 2}).json()
    assert [e["seq"] for e in rest] == [4, 5]
    report = auditor.get("/audit/verify").json()
    assert report["ok"] is True
    assert report["problems"] == []
    assert report["events_checked"] >= 5


def test_project_membership_routes(api: Api) -> None:
    admin = api.client()
    assert admin.put("/projects/beta/members/outsider", json={"role": "auditor"}).json() == {
        "project": "beta",
        "username": "outsider",
        "role": "auditor",
    }
    assert admin.get("/projects/beta/members").json()["outsider"] == "auditor"
    listed = {p["name"] for p in api.client("outsider").get("/projects").json()}
    assert listed == {"beta"}
    assert admin.delete("/projects/beta/members/outsider").status_code == 204
    assert api.client("outsider").get("/projects").json() == []
    bad_role = admin.put("/projects/beta/members/outsider", json={"role": "owner"})
    assert assert_problem(bad_role, 422)["details"]["fields"][0]["field"] == "role"


def _imported(i: int, **fields: object) -> dict:
    return {
        "id": f"01900000-0000-7000-8000-{i:012d}",
        "project": "alpha",
        "name": f"run-{i}",
        "status": "finished",
        "started_at": 1_767_225_600.0,
        "ended_at": 1_767_225_660.0,
        "params": {"lr": 0.1 * i},
        "metrics": {"acc": {"steps": [0], "timestamps": [1_767_225_660.0], "values": [0.5]}},
        **fields,
    }


def test_an_import_is_stored_together_and_a_retry_stores_nothing_twice(api: Api) -> None:
    scientist = api.client("data_scientist")
    body = {"experiments": [_imported(1), _imported(2)]}
    first = scientist.post("/experiments/import", json=body)
    assert first.status_code == 201, first.text
    assert first.json() == {"ids": [e["id"] for e in body["experiments"]]}
    assert scientist.post("/experiments/import", json=body).json() == first.json()
    listed = scientist.get("/experiments", params={"project": "alpha"}).json()
    assert sorted(e["name"] for e in listed) == ["run-1", "run-2"]
    got = scientist.get(f"/experiments/{first.json()['ids'][1]}").json()
    assert (got["params"], got["metrics"]) == ({"lr": 0.2}, {"acc": 0.5})
    events = api.client().get("/audit/events", params={"limit": 1000}).json()
    assert sum(e["action"] == "experiment.import" for e in events) == 2


def test_an_import_is_refused_whole_with_the_reason(api: Api) -> None:
    admin = api.client()
    late = _imported(2, started_at=1_767_225_660.0, ended_at=1_767_225_600.0)
    refused = admin.post("/experiments/import", json={"experiments": [_imported(1), late]})
    assert "experiment 1: " in assert_problem(refused, 400, "invalid_input")["detail"]
    too_many = {"experiments": [_imported(i) for i in range(1_001)]}
    assert_problem(admin.post("/experiments/import", json=too_many), 422)
    assert_problem(admin.post("/experiments/import", json={"experiments": []}), 422)
    denied = api.client("auditor").post("/experiments/import", json={"experiments": [_imported(1)]})
    assert_problem(denied, 403, "permission_denied")
    assert admin.get("/experiments").json() == []
