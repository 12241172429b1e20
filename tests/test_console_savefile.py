"""Saving attachments under attacker-chosen names: never outside the directory, never over
an existing file, never through a planted symlink."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from console.savefile import UnsafeFilename, clean_name, numbered, save_bytes


@pytest.mark.parametrize(
    ("hostile", "saved"),
    [
        ("../../etc/passwd", "passwd"),
        ("/etc/shadow", "shadow"),
        ("..\\..\\Windows\\win.ini", "win.ini"),
        ("report\x1b[31m.pdf", "report[31m.pdf"),
        ("  spaced.txt  ", "spaced.txt"),
        ("a\u202eexe.txt", "aexe.txt"),  # the right-to-left override is a format character
    ],
)
def test_only_the_last_component_is_kept(tmp_path: Path, hostile: str, saved: str) -> None:
    assert save_bytes(tmp_path, hostile, b"x") == tmp_path / saved
    assert [p.name for p in tmp_path.iterdir()] == [saved]


@pytest.mark.parametrize("name", ["", ".", "..", "../", "a/..", "\x00", "dir/", "\\"])
def test_unusable_names_are_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(UnsafeFilename):
        save_bytes(tmp_path, name, b"x")
    assert list(tmp_path.iterdir()) == []


def test_existing_files_get_a_number(tmp_path: Path) -> None:
    (tmp_path / "invoice.pdf").write_bytes(b"mine")
    assert save_bytes(tmp_path, "invoice.pdf", b"1").name == "invoice (1).pdf"
    assert save_bytes(tmp_path, "../invoice.pdf", b"2").name == "invoice (2).pdf"
    assert (tmp_path / "invoice.pdf").read_bytes() == b"mine"
    assert numbered(Path("archive.tar.gz"), 3).name == "archive.tar (3).gz"
    assert numbered(Path("README"), 1).name == "README (1)"


def test_a_planted_symlink_is_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_bytes(b"keep")
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    os.symlink(outside, downloads / "note.txt")
    saved = save_bytes(downloads, "note.txt", b"evil")
    assert saved.name == "note (1).txt"
    assert outside.read_bytes() == b"keep"


def test_long_names_are_shortened_keeping_the_extension() -> None:
    name = clean_name("é" * 300 + ".pdf")
    assert len(name.encode()) <= 255 and name.endswith(".pdf")


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=80))
def test_any_name_lands_inside_or_is_refused(tmp_path: Path, name: str) -> None:
    target = tmp_path / "t"
    target.mkdir(exist_ok=True)
    try:
        saved = save_bytes(target, name, b"data")
    except UnsafeFilename:
        return
    assert saved.parent == target.resolve()
    assert saved.read_bytes() == b"data"


@pytest.mark.parametrize(
    "name", ["é" * 120 + ".pdf", "a" * 251 + ".pdf", "b." + "x" * 253, "c" * 255]
)
def test_a_name_at_the_limit_saved_again_is_numbered_within_it(tmp_path: Path, name: str) -> None:
    # A stranger's name already at 255 bytes: "name (1).pdf" would be too long for the file
    # system (OSError: File name too long). The stem gives way; the number and, where it
    # fits, the extension stay.
    first = save_bytes(tmp_path, name, b"one")
    second = save_bytes(tmp_path, name, b"two")
    third = save_bytes(tmp_path, name, b"three")
    assert len({first, second, third}) == 3
    for path, data in ((first, b"one"), (second, b"two"), (third, b"three")):
        assert len(path.name.encode()) <= 255 and path.read_bytes() == data
    assert " (1)" in second.name and " (2)" in third.name
    if name.endswith(".pdf"):
        assert second.name.endswith(" (1).pdf")
