"""``mled projects list|create`` and the options every command shares."""

from __future__ import annotations

import json

from mled_runner import Mled

from mled.sdk.client import Client


def test_create_then_list(mled: Mled) -> None:
    created = mled("projects", "create", "vision", "--description", "image models")
    assert created.exit_code == 0, created.output
    assert "created project vision" in created.stdout

    listed = mled("projects", "list")
    assert listed.exit_code == 0, listed.output
    assert "vision" in listed.stdout
    assert "image models" in listed.stdout


def test_list_json_has_full_ids_and_iso_times(mled: Mled, seeded: Client) -> None:
    project = seeded.create_project("nlp", "language")
    result = mled("projects", "list", "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert rows == [
        {
            "id": project.id,
            "name": "nlp",
            "description": "language",
            "created_at": project.created_at.isoformat(),
        }
    ]


def test_create_json(mled: Mled) -> None:
    result = mled("projects", "create", "vision", "--json")
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["name"] == "vision"
    assert len(body["id"]) == 36


def test_empty_list_says_how_to_create_one(mled: Mled) -> None:
    result = mled("projects", "list")
    assert result.exit_code == 0
    assert "mled projects create" in result.stdout
    assert json.loads(mled("projects", "list", "--json").stdout) == []


def test_duplicate_project_is_one_error_line_with_a_hint(mled: Mled) -> None:
    assert mled("projects", "create", "vision").exit_code == 0
    result = mled("projects", "create", "vision")
    assert result.exit_code == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[0] == "error[already_exists]: project 'vision' already exists"
    assert lines[1].startswith("hint: ")
    assert "Traceback" not in result.stderr


def test_invalid_input_exits_with_2(mled: Mled) -> None:
    result = mled("projects", "create", " padded ")
    assert result.exit_code == 2
    assert result.stderr.startswith("error[invalid_name]: ")


def test_usage_error_exits_with_2(mled: Mled) -> None:
    result = mled("projects", "create")
    assert result.exit_code == 2
    assert "Missing argument" in result.output


def test_global_options_before_the_command(mled: Mled) -> None:
    mled("projects", "create", "vision")
    result = mled(
        "--store", mled.store_uri, "--json", "projects", "list", env={"MLED_TRACKING_URI": None}
    )
    assert result.exit_code == 0, result.output
    assert [p["name"] for p in json.loads(result.stdout)] == ["vision"]


def test_store_option_overrides_the_environment(mled: Mled) -> None:
    mled("projects", "create", "vision")
    other = f"sqlite:///{mled.home / 'other.db'}"
    assert json.loads(mled("projects", "list", "--json", "--store", other).stdout) == []
    assert len(json.loads(mled("projects", "list", "--json").stdout)) == 1


def test_store_after_command_wins_over_store_before(mled: Mled) -> None:
    mled("projects", "create", "vision")
    other = f"sqlite:///{mled.home / 'other.db'}"
    result = mled("--store", other, "projects", "list", "--json", "--store", mled.store_uri)
    assert len(json.loads(result.stdout)) == 1


def test_version(mled: Mled) -> None:
    import mled as package

    result = mled("--version")
    assert result.exit_code == 0
    assert result.stdout == f"mled {package.__version__}\n"


def test_bare_group_shows_help(mled: Mled) -> None:
    result = mled("projects")
    assert "list" in result.output
    assert "create" in result.output
