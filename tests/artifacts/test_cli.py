"""The ``mled artifacts|datasets|models|lineage|verify`` commands, run in-process."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import typer
from assets_support import backdate, flip_bit, leave_upload, write_tree
from typer.testing import CliRunner, Result

from mled.artifacts.config import ArtifactConfig
from mled.cli import artifacts, datasets, lineage, models, verify
from mled.cli.app import build_app
from mled.sdk.client import Client
from mled.settings import Settings


def cli_app() -> typer.Typer:
    """``mled`` with this issue's command groups (added here when app.py lacks them)."""
    app = build_app()
    groups = {g.name for g in app.registered_groups}
    for name, module in (("artifacts", artifacts), ("datasets", datasets), ("models", models)):
        if name not in groups:
            app.add_typer(module.build(), name=name)
    commands = {c.name for c in app.registered_commands}
    if "lineage" not in commands:
        app.command("lineage")(lineage.lineage)
    if "verify" not in commands:
        app.command("verify")(verify.verify)
    return app


class Cli:
    def __init__(self, store_uri: str, home: Path) -> None:
        self.env = {
            "MLED_TRACKING_URI": store_uri,
            "MLED_HOME": str(home),
            "MLED_USER": "alice",
            "MLED_ARTIFACTS_URI": None,
            "COLUMNS": "200",
            "NO_COLOR": "1",
        }
        self.app = cli_app()

    def __call__(self, *args: str) -> Result:
        return CliRunner().invoke(self.app, list(args), env=self.env, catch_exceptions=False)

    def json(self, *args: str) -> object:
        result = self(*args, "--json")
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def mled(sqlite_uri: str, home: Path) -> Cli:
    return Cli(sqlite_uri, home)


@pytest.fixture
def client(sqlite_uri: str, home: Path) -> Iterator[Client]:
    settings = Settings(
        home=home,
        tracking_uri=sqlite_uri,
        username="alice",
        capture_git=False,
        capture_command=False,
        capture_environment=False,
        handle_signals=False,
    )
    c = Client(settings=settings)
    yield c
    c.close()


@pytest.fixture
def exp_id(client: Client, tmp_path: Path) -> str:
    data = write_tree(tmp_path / "data", {"images/1.bin": b"one", "labels.csv": b"1,cat\n"})
    model = write_tree(tmp_path / "model", {"weights.bin": b"w", "config.json": b"{}"})
    with client.start_experiment(project="vision", name="train", capture=False) as exp:
        exp.log_dataset(data, "cifar", store=True)
        exp.log_model(model, "resnet")
        exp.log_text("done", "notes.txt")
    (data / "images" / "1.bin").write_bytes(b"uno")
    with client.start_experiment(project="vision", name="retrain", capture=False) as again:
        again.log_dataset(data, "cifar", role="validation", store=True)
    return exp.id


def test_artifacts_list_download_and_log(mled: Cli, exp_id: str, tmp_path: Path) -> None:
    listed = mled("artifacts", "list", exp_id[:13])
    assert listed.exit_code == 0
    assert "models/resnet/weights.bin" in listed.stdout
    paths = [a["path"] for a in mled.json("artifacts", "list", exp_id, "--path", "models")]  # type: ignore[attr-defined]
    assert paths == ["models/resnet/config.json", "models/resnet/weights.bin"]

    result = mled("artifacts", "download", exp_id, "models/resnet", "--dest", str(tmp_path / "o"))
    assert result.exit_code == 0, result.output
    assert (tmp_path / "o" / "resnet" / "weights.bin").read_bytes() == b"w"

    report = tmp_path / "report.pdf"
    report.write_bytes(b"%PDF")
    logged = mled("artifacts", "log", exp_id, str(report), "--name", "reports/final.pdf")
    assert logged.exit_code == 0, logged.output
    assert "logged 1 artifact(s)" in logged.stdout


def test_datasets_list_versions_diff_show_and_get(mled: Cli, exp_id: str, tmp_path: Path) -> None:
    assert "cifar" in mled("datasets", "list").stdout
    versions = mled.json("datasets", "versions", "cifar")
    assert [v["version"] for v in versions] == [1, 2]  # type: ignore[attr-defined]
    diff = mled("datasets", "diff", "cifar", "1", "2")
    assert diff.exit_code == 0
    assert "~ images/1.bin" in diff.stdout
    assert "0 added, 0 removed, 1 changed" in diff.stdout
    shown = mled.json("datasets", "show", "cifar:2")
    assert sorted(shown["files"]) == ["images/1.bin", "labels.csv"]  # type: ignore[index]
    got = mled("datasets", "get", "cifar:1", str(tmp_path / "copy"))
    assert got.exit_code == 0, got.output
    assert (tmp_path / "copy" / "images" / "1.bin").read_bytes() == b"one"


def test_models_register_alias_show_and_list(mled: Cli, exp_id: str) -> None:
    assert mled("models", "register", exp_id, "models/resnet", "resnet").exit_code == 0
    assert mled("models", "alias", "resnet", "production", "1").stdout.strip() == (
        "resnet@production -> resnet:1"
    )
    version = mled.json("models", "show", "resnet@production")
    assert version["experiment_id"] == exp_id  # type: ignore[index]
    shown = mled("models", "show", "resnet")
    assert "alias history" in shown.stdout
    assert "@production: - -> 1" in shown.stdout
    assert mled.json("models", "list")[0]["aliases"] == {"production": 1}  # type: ignore[index]
    bad = mled("models", "alias", "resnet", "3", "1")
    assert bad.exit_code == 2
    assert "error[invalid_name]" in bad.stderr
    assert mled("models", "alias", "resnet", "staging").exit_code == 2


def test_lineage_prints_a_tree_and_json(mled: Cli, exp_id: str) -> None:
    mled("models", "register", exp_id, "models/resnet", "resnet")
    mled("models", "alias", "resnet", "production", "1")
    tree = mled("lineage", "resnet@production")
    assert tree.exit_code == 0, tree.output
    lines = tree.stdout.splitlines()
    assert lines[0] == "model resnet:1 @production"
    assert "registered from: experiment" in lines[1]
    assert "used as train: dataset cifar:1" in lines[2]
    data = mled.json("lineage", "cifar:2")
    assert data["children"][0]["relation"] == "used by (validation)"  # type: ignore[index]


def test_verify_reports_damage_by_name(mled: Cli, exp_id: str, client: Client, home: Path) -> None:
    ok = mled("verify", "--all")
    assert ok.exit_code == 0
    assert "artifacts intact" in ok.stdout
    notes = next(a for a in client.list_artifacts(exp_id) if a.path == "notes.txt")
    flip_bit(ArtifactConfig.default(home).open(), notes.digest)
    damaged = mled("verify", exp_id)
    assert damaged.exit_code == 1
    assert f"corrupted: artifact 'notes.txt' of experiment {exp_id}" in damaged.stdout
    assert mled("verify").exit_code == 2


def test_gc_removes_dead_uploads_and_reports_unreferenced_objects(
    mled: Cli, exp_id: str, client: Client, home: Path, sqlite_uri: str
) -> None:
    blobs = ArtifactConfig.default(home).open()
    stale = leave_upload(blobs, b"x" * 2048)
    backdate(blobs, stale, timedelta(days=2))
    fresh = leave_upload(blobs, b"y")
    orphan = blobs.put([b"stored, never recorded"])
    backdate(blobs, f"objects/{orphan.digest[:2]}/{orphan.digest[2:]}", timedelta(days=2))
    tmp = home / "artifacts" / "tmp"

    dry = mled.json("artifacts", "gc", "--dry-run", "--remove-unreferenced")
    assert {u["key"]: u["action"] for u in dry["uploads"]} == {  # type: ignore[index]
        stale: "would_remove",
        fresh: "kept",
    }
    assert [o["action"] for o in dry["unreferenced"]] == ["would_remove"]  # type: ignore[index]
    assert sorted(p.name for p in tmp.iterdir()) == sorted([stale[4:], fresh[4:]])

    kept = mled("artifacts", "gc", "--older-than", "36h")
    assert kept.exit_code == 0, kept.output
    assert "removed 1 temporary upload(s) not written to for 1d 12h; kept 1" in kept.stdout
    assert "--remove-unreferenced removes those older than the grace period" in kept.stdout
    assert [p.name for p in tmp.iterdir()] == [fresh[4:]]
    assert blobs.exists(orphan.digest)

    removed = mled("artifacts", "gc", "--remove-unreferenced")
    assert removed.exit_code == 0, removed.output
    assert "unreferenced: removed 1, kept 0" in removed.stdout
    assert not blobs.exists(orphan.digest)
    assert mled("verify", "--all").exit_code == 0  # every referenced object is intact

    too_short = mled("artifacts", "gc", "--older-than", "30m")
    assert too_short.exit_code == 2
    assert "error[invalid_input]: the grace period 0:30:00 is shorter than 1:00:00" in (
        too_short.stderr
    )
    assert mled("artifacts", "gc", "--older-than", "soon").exit_code == 2
    bob = Cli(sqlite_uri, home)
    bob.env["MLED_USER"] = "bob"
    refused = bob("artifacts", "gc", "--dry-run")
    assert refused.exit_code == 1
    assert "error[permission_denied]: user 'bob' is not an admin" in refused.stderr
    assert [p.name for p in tmp.iterdir()] == [fresh[4:]]
