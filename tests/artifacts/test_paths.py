"""Logical path normalization and confinement (``mled.paths``) and safe folder walks."""

from __future__ import annotations

import os
import unicodedata
from pathlib import Path

import pytest
from assets_support import HOSTILE
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mled.artifacts.files import walk_files
from mled.errors import InvalidInput, UnsafePath
from mled.paths import confined_join, is_under, normalize_path, normalize_prefix


@pytest.mark.parametrize(
    ("given_path", "normal"),
    [
        ("model.pt", "model.pt"),
        ("./models//resnet/", "models/resnet"),
        ("a/./b", "a/b"),
        ("100%_done.txt", "100%_done.txt"),
        ("report (final) v2.pdf", "report (final) v2.pdf"),
        ("données/e\u0301te\u0301.csv", "données/\u00e9t\u00e9.csv"),  # NFC
        (".hidden/config", ".hidden/config"),
        ("a..b/c", "a..b/c"),
    ],
)
def test_ordinary_paths_are_normalized(given_path: str, normal: str) -> None:
    assert normalize_path(given_path) == normal


@pytest.mark.parametrize("path", HOSTILE)
def test_hostile_paths_are_refused_with_a_clear_message(path: str) -> None:
    with pytest.raises(UnsafePath) as err:
        normalize_path(path, "dataset file")
    assert err.value.code == "unsafe_path"
    assert err.value.status == 400
    assert err.value.message.startswith("dataset file")
    assert isinstance(err.value, InvalidInput)


def test_folders_and_prefixes() -> None:
    assert normalize_prefix(None) == normalize_prefix("") == normalize_prefix(".") == ""
    assert is_under("models/a/b.pt", "models")
    assert not is_under("models2/b.pt", "models")
    assert is_under("anything", "")


SAFE_ROOT = Path("/srv/mled-downloads")


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=40))
def test_any_accepted_path_is_a_fixed_point_and_stays_inside_its_root(text: str) -> None:
    try:
        normal = normalize_path(text)
    except UnsafePath:
        return
    assert normalize_path(normal) == normal
    assert unicodedata.normalize("NFC", normal) == normal
    assert ".." not in normal.split("/")
    target = confined_join(SAFE_ROOT, normal)
    assert os.path.commonpath([SAFE_ROOT, target]) == str(SAFE_ROOT)


def test_confined_join_refuses_planted_symlinks(tmp_path: Path) -> None:
    root = tmp_path / "dest"
    (root / "real").mkdir(parents=True)
    assert confined_join(root, "real/x.txt") == root / "real" / "x.txt"
    os.symlink(tmp_path, root / "link")
    with pytest.raises(UnsafePath, match="symlink"):
        confined_join(root, "link/x.txt")
    os.symlink(tmp_path / "elsewhere.txt", root / "file.txt")
    with pytest.raises(UnsafePath, match="symlink"):
        confined_join(root, "file.txt")


def test_walking_a_folder_refuses_links_and_special_files(tmp_path: Path) -> None:
    folder = tmp_path / "outputs"
    (folder / "b").mkdir(parents=True)
    (folder / "b" / "z.txt").write_text("z")
    (folder / "a.txt").write_text("a")
    assert [rel for rel, _ in walk_files(folder)] == ["a.txt", "b/z.txt"]
    os.mkfifo(folder / "pipe")
    with pytest.raises(UnsafePath, match="not a regular file"):
        walk_files(folder)
    (folder / "pipe").unlink()
    (folder / "bad:name.txt").write_text("x")
    with pytest.raises(UnsafePath, match="colon"):
        walk_files(folder)
    with pytest.raises(InvalidInput, match="not a folder"):
        walk_files(folder / "a.txt")
