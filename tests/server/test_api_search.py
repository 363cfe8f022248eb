"""POST /experiments/search and /experiments/compare over a live server, on both backends."""

from __future__ import annotations

import httpx
from mled_api_harness import Api, assert_problem


def _create(client: httpx.Client, project: str, name: str, acc: float, lr: float) -> str:
    body = {
        "project": project,
        "name": name,
        "status": "finished",
        "params": {"lr": lr, "opt": "adam"},
        "tags": {"team": "cv"},
        "metrics": {
            "acc": {"steps": [0, 1], "timestamps": [1.0, 2.0], "values": [0.1, acc]},
            "loss": {"steps": [0], "timestamps": [1.0], "values": ["NaN"]},
        },
    }
    answer = client.post("/experiments", json=body)
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


def test_search_pages_in_query_order(api: Api) -> None:
    admin = api.client("admin")
    ids = [_create(admin, "alpha", f"r{i}", i / 10, 10.0**-i) for i in range(5)]
    body = {"query": "metrics.acc > 0.05", "order_by": ["metrics.acc DESC"], "limit": 2}
    first = admin.post("/experiments/search", json=body)
    assert first.status_code == 200, first.text
    page = first.json()
    assert [e["id"] for e in page["experiments"]] == [ids[4], ids[3]]
    assert page["experiments"][0]["metrics"] == {"acc": 0.4, "loss": "NaN"}
    assert page["experiments"][0]["params"] == {"lr": 0.0001, "opt": "adam"}
    assert page["experiments"][0]["source"] is None
    seen = [e["id"] for e in page["experiments"]]
    while page["next_page_token"]:
        page = admin.post(
            "/experiments/search", json={**body, "page_token": page["next_page_token"]}
        ).json()
        seen.extend(e["id"] for e in page["experiments"])
    assert seen == [ids[4], ids[3], ids[2], ids[1]]


def test_search_sees_only_readable_projects(api: Api) -> None:
    admin = api.client("admin")
    visible = _create(admin, "alpha", "visible", 0.5, 0.1)
    _create(admin, "beta", "hidden", 0.5, 0.1)
    auditor = api.client("auditor")
    found = auditor.post("/experiments/search", json={}).json()
    assert [e["id"] for e in found["experiments"]] == [visible]
    assert_problem(
        auditor.post("/experiments/search", json={"project": "beta"}), 403, "permission_denied"
    )
    assert_problem(
        auditor.post("/experiments/search", json={"project": "nope"}), 404, "project_not_found"
    )
    outsider = api.client("outsider")
    assert outsider.post("/experiments/search", json={}).json()["experiments"] == []
    everything = admin.post("/experiments/search", json={"query": "tags.team = 'cv'"}).json()
    assert len(everything["experiments"]) == 2


def test_search_errors(api: Api) -> None:
    admin = api.client("admin")
    body = assert_problem(admin.post("/experiments/search", json={"query": "metrics.acc >"}), 400)
    assert body["code"] == "query_syntax_error"
    assert body["details"]["line"] == 1
    assert body["details"]["column"] == 14
    assert "^" in body["detail"]
    assert_problem(
        admin.post("/experiments/search", json={"query": "metric.acc > 1"}), 400, "unknown_field"
    )
    assert_problem(admin.post("/experiments/search", json={"limit": 0}), 422)
    assert_problem(admin.post("/experiments/search", json={"surprise": 1}), 422)
    assert_problem(admin.post("/experiments/search", json={"page_token": "garbage"}), 400)


def test_compare(api: Api) -> None:
    admin = api.client("admin")
    a = _create(admin, "alpha", "a", 0.5, 0.1)
    b = _create(admin, "alpha", "b", 0.7, 0.01)
    answer = admin.post("/experiments/compare", json={"ids": [a, b[:20]]})
    assert answer.status_code == 200, answer.text
    cmp = answer.json()
    assert [e["id"] for e in cmp["experiments"]] == [a, b]
    params = {p["key"]: p for p in cmp["params"]}
    assert params["lr"]["differs"]
    assert not params["opt"]["differs"]
    assert params["lr"]["values"] == {a: 0.1, b: 0.01}
    metrics = {m["key"]: m for m in cmp["metrics"]}
    assert metrics["acc"]["best"] == b
    assert metrics["acc"]["best_value"] == 0.7
    assert metrics["loss"]["direction"] == "min"
    assert metrics["loss"]["best"] is None
    assert metrics["loss"]["summaries"][a]["last"] == "NaN"
    assert cmp["histories"]["acc"] == {
        "key": "acc",
        "steps": [0, 1],
        "values": {a: [0.1, 0.5], b: [0.1, 0.7]},
    }
    flipped = admin.post(
        "/experiments/compare",
        json={"ids": [a, b], "directions": {"acc": "min"}, "histories": False},
    ).json()
    assert flipped["histories"] == {}
    assert {m["key"]: m for m in flipped["metrics"]}["acc"]["best"] == a
    assert_problem(api.client("outsider").post("/experiments/compare", json={"ids": [a]}), 403)
    assert_problem(admin.post("/experiments/compare", json={"ids": []}), 422)
    assert_problem(admin.post("/experiments/compare", json={"ids": [a, "ffffffff"]}), 404)
