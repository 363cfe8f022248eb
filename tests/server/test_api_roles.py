"""Role x action matrix over HTTP: what each role may do in its project and in a foreign one.

Expectations come from ``mled.auth.permissions.allowed`` (the table is never copied here): a
user's effective role is ``admin`` for the global admin, its membership role in project
``alpha``, and none in ``beta``. Every refusal is a 403 problem naming the missing permission
and is recorded in the audit log as a ``permission.denied`` event.
"""

from __future__ import annotations

import gzip
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
from mled_api_harness import ROLES, Api, assert_problem

from mled.auth.permissions import Action, Role, allowed
from mled.service import Services
from mled.store.sql.store import SqlStore
from mled.wire import BATCH_MEDIA_TYPE, encode_batch

USERS = ["admin", *(r.value for r in ROLES), "outsider"]
PROJECTS = ["alpha", "beta"]


def role_of(user: str, project: str) -> Role | None:
    if user == "admin":
        return Role.ADMIN
    if project == "alpha" and user in {r.value for r in ROLES}:
        return Role(user)
    return None


@dataclass
class Matrix:
    """The world the matrix runs in, and what it observed."""

    api: Api
    owner_of: dict[str, str] = field(default_factory=dict)
    """experiment id -> owner."""
    others: dict[tuple[str, str], str] = field(default_factory=dict)
    """(user, project) -> an experiment there that, if possible, someone else owns."""
    own: dict[tuple[str, str], str] = field(default_factory=dict)
    denied: dict[str, list[str]] = field(default_factory=dict)
    """user -> the permissions refused, in order."""
    checked: int = 0

    def create(self, who: str, project: str) -> httpx.Response:
        answer = self.api.client(who).post("/experiments", json={"project": project, "name": "m"})
        if answer.status_code == 201:
            self.owner_of[answer.json()["id"]] = who
        return answer

    def expect(
        self, response: httpx.Response, who: str, action: Action, *, allowed_: bool, what: str
    ) -> None:
        self.checked += 1
        label = f"{who} {what}"
        if allowed_:
            assert response.is_success, f"{label}: expected success, got {response.text}"
            return
        body = assert_problem(response, 403, "permission_denied")
        assert body["details"]["permission"] == action.value, label
        assert f"'{action.value}'" in body["detail"], label
        self.denied.setdefault(who, []).append(action.value)


def _batch() -> bytes:
    return gzip.compress(encode_batch({"loss": ([0, 1], [1.0, 2.0], [0.5, 0.4])}))


Step = Callable[[Matrix, str, str], None]


def read(m: Matrix, who: str, project: str) -> None:
    target = m.others[(who, project)]
    answer = m.api.client(who).get(f"/experiments/{target}")
    m.expect(
        answer,
        who,
        Action.READ,
        allowed_=allowed(role_of(who, project), Action.READ),
        what=f"reads an experiment in {project}",
    )


def list_(m: Matrix, who: str, project: str) -> None:
    answer = m.api.client(who).get("/experiments", params={"project": project})
    m.expect(
        answer,
        who,
        Action.READ,
        allowed_=allowed(role_of(who, project), Action.READ),
        what=f"lists {project}",
    )


def log_experiment(m: Matrix, who: str, project: str) -> None:
    answer = m.create(who, project)
    ok = allowed(role_of(who, project), Action.LOG, is_owner=True)
    m.expect(answer, who, Action.LOG, allowed_=ok, what=f"creates an experiment in {project}")
    if ok:
        m.own[(who, project)] = answer.json()["id"]


def log_params_and_metrics(m: Matrix, who: str, project: str) -> None:
    own = m.own.get((who, project))
    if own is None:  # the role may not create experiments, so it owns none to log to
        return
    ok = allowed(role_of(who, project), Action.LOG, is_owner=True)
    c = m.api.client(who)
    answer = c.post(f"/experiments/{own}/params", json={"params": {"lr": 0.1}})
    m.expect(answer, who, Action.LOG, allowed_=ok, what=f"logs params in {project}")
    headers = {"Content-Type": BATCH_MEDIA_TYPE, "Content-Encoding": "gzip"}
    answer = c.post(f"/experiments/{own}/metrics", content=_batch(), headers=headers)
    m.expect(answer, who, Action.LOG, allowed_=ok, what=f"logs metrics in {project}")


def edit_another(m: Matrix, who: str, project: str) -> None:
    target = m.others[(who, project)]
    is_owner = m.owner_of[target] == who
    answer = m.api.client(who).post(f"/experiments/{target}/tags", json={"tags": {"by": who}})
    ok = allowed(role_of(who, project), Action.EDIT_ANY, is_owner=is_owner)
    m.expect(answer, who, Action.EDIT_ANY, allowed_=ok, what=f"tags another's in {project}")


def end_own(m: Matrix, who: str, project: str) -> None:
    own = m.own.get((who, project))
    if own is None:
        return
    answer = m.api.client(who).post(f"/experiments/{own}/end", json={"status": "finished"})
    ok = allowed(role_of(who, project), Action.LOG, is_owner=True)
    m.expect(answer, who, Action.LOG, allowed_=ok, what=f"ends its experiment in {project}")


def manage(m: Matrix, who: str, project: str) -> None:
    ok = allowed(role_of(who, project), Action.MANAGE)
    c = m.api.client(who)
    answer = c.put(f"/projects/{project}/members/spare", json={"role": "data_scientist"})
    m.expect(answer, who, Action.MANAGE, allowed_=ok, what=f"grants a role in {project}")
    answer = c.get(f"/projects/{project}/members")
    m.expect(answer, who, Action.MANAGE, allowed_=ok, what=f"lists members of {project}")
    answer = c.post("/users", json={"username": f"new-{who}-{project}"})
    m.expect(answer, who, Action.MANAGE, allowed_=ok, what="creates a user")


STEPS: list[Step] = [
    read,
    list_,
    log_experiment,
    log_params_and_metrics,
    edit_another,
    end_own,
    manage,
]


def read_audit(m: Matrix, who: str) -> None:
    """The audit log spans every project: an auditor of any project may read it."""
    ok = any(allowed(role_of(who, p), Action.AUDIT) for p in PROJECTS)
    c = m.api.client(who)
    m.expect(c.get("/audit/events"), who, Action.AUDIT, allowed_=ok, what="reads the audit log")
    m.expect(c.get("/audit/verify"), who, Action.AUDIT, allowed_=ok, what="verifies the log")


def _world(api: Api) -> Matrix:
    m = Matrix(api)
    assert m.api.client().post("/users", json={"username": "spare"}).status_code == 201
    by_admin = {p: m.create("admin", p).json()["id"] for p in PROJECTS}
    by_engineer = m.create("ml_engineer", "alpha").json()["id"]
    for who in USERS:
        for project in PROJECTS:
            target = by_admin[project]
            if who == "admin" and project == "alpha":
                target = by_engineer
            m.others[(who, project)] = target
    return m


def _all_events(admin: httpx.Client) -> list[dict]:
    events: list[dict] = []
    while True:
        page = admin.get("/audit/events", params={"after_seq": len(events), "limit": 1000})
        assert page.status_code == 200, page.text
        if not page.json():
            return events
        events += page.json()


def test_role_action_matrix(api: Api) -> None:
    m = _world(api)
    for who in USERS:
        for project in PROJECTS:
            for step in STEPS:
                step(m, who, project)
        read_audit(m, who)
    assert m.checked >= 100
    assert set(m.denied) == set(USERS) - {"admin"}  # everyone but the admin was refused

    events = _all_events(api.client("admin"))
    denied_events: dict[str, list[str]] = {}
    for e in events:
        if e["action"] == "permission.denied":
            denied_events.setdefault(e["actor"], []).append(e["after"]["permission"])
    assert denied_events == m.denied
    assert api.client("admin").get("/audit/verify").json()["ok"] is True


def test_forged_expired_revoked_and_disabled_tokens_get_401(api: Api) -> None:
    forged = api.client(None, token="mled_" + "A" * 43)
    assert "not valid" in assert_problem(forged.get("/me"), 401, "unauthenticated")["detail"]
    assert_problem(api.client(None, token="Basic abc").get("/me"), 401)

    store = SqlStore.open(api.store_uri)
    try:
        short = Services.for_user(store, "auditor").tokens.create("short", days=1e-9).token
    finally:
        store.close()
    time.sleep(0.01)
    expired = api.client(None, token=short).get("/me")
    assert "expired" in assert_problem(expired, 401, "unauthenticated")["detail"]

    auditor = api.client("auditor")
    issued = auditor.post("/tokens", json={"name": "laptop", "days": 1})
    assert issued.status_code == 201, issued.text
    fresh = api.client(None, token=issued.json()["token"])
    assert fresh.get("/me").json()["username"] == "auditor"
    assert auditor.delete(f"/tokens/{issued.json()['id']}").status_code == 204
    revoked = fresh.get("/me")
    assert "revoked" in assert_problem(revoked, 401, "unauthenticated")["detail"]

    assert api.client().post("/users/data_scientist/disable").status_code == 204
    disabled = api.client("data_scientist").get("/me")
    assert "disabled" in assert_problem(disabled, 401, "unauthenticated")["detail"]
    assert api.client().post("/users/data_scientist/enable").status_code == 204
    assert api.client("data_scientist").get("/me").status_code == 200


def test_a_user_cannot_see_or_revoke_another_users_tokens(api: Api) -> None:
    outsider = api.client("outsider")
    admin_tokens = api.client().get("/tokens").json()
    assert_problem(outsider.delete(f"/tokens/{admin_tokens[0]['id']}"), 404, "not_found")
    assert {t["username"] for t in outsider.get("/tokens").json()} == {"outsider"}
    body = assert_problem(outsider.get("/tokens", params={"all": True}), 403, "permission_denied")
    assert body["details"]["permission"] == "manage"
    assert api.client().get("/me").status_code == 200  # the admin's token still works


def test_users_set_their_own_password_only(api: Api) -> None:
    engineer = api.client("ml_engineer")
    own = engineer.put("/users/ml_engineer/password", json={"password": "my own passphrase"})
    assert own.status_code == 204, own.text
    other = engineer.put("/users/auditor/password", json={"password": "their passphrase"})
    assert assert_problem(other, 403)["details"]["permission"] == "manage"
    login = api.client(None).post(
        "/auth/login", json={"username": "ml_engineer", "password": "my own passphrase"}
    )
    assert login.status_code == 200, login.text
