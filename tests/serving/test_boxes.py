"""A model process's box: the environment it may have, the server's files kept from it, the user it takes."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from clarimon.serving.boxes import Box, BoxError, clear_homes, environment, lock_down, make_home, readable_by_others


def test_the_environment_is_an_allow_list() -> None:
    server = {"PATH": "/usr/bin", "LANG": "C.UTF-8", "LC_ALL": "C", "OMP_NUM_THREADS": "1", "HOME": "/root",
              "CLARIMON_CREDENTIALS": "{}", "CLARIMON_DATABASE_URL": "postgresql://u:p@h/d",
              "AWS_SECRET_ACCESS_KEY": "x", "DATABASE_URL": "postgresql://u:p@h/d", "PGPASSWORD": "p"}
    assert environment(server, Path("/tmp/box")) == {
        "PATH": "/usr/bin", "LANG": "C.UTF-8", "LC_ALL": "C", "OMP_NUM_THREADS": "1", "HOME": "/tmp/box",
        "TMPDIR": "/tmp/box"}
    kept = environment(server, Path("/tmp/box"), keep=("HOME", "AWS_SECRET_ACCESS_KEY"))
    assert kept["HOME"] == "/root" and kept["AWS_SECRET_ACCESS_KEY"] == "x" and "PGPASSWORD" not in kept
    assert environment({}, Path("/tmp/box"))["PATH"] == os.defpath


def test_lock_down_keeps_the_servers_files_to_its_user(tmp_path: Path) -> None:
    for folder in ("s3/bucket", "capture-journal", "processes", "models/abc"):
        (tmp_path / folder).mkdir(parents=True)
    database = tmp_path / "clarimon.db"
    for path in (database, Path(f"{database}-wal")):
        path.write_bytes(b"")
        path.chmod(0o644)
    lock_down(tmp_path, f"sqlite:///{database}")
    mode = {name: stat.S_IMODE((tmp_path / name).stat().st_mode)
            for name in ("", "s3", "capture-journal", "processes", "models", "clarimon.db", "clarimon.db-wal")}
    assert mode == {"": 0o711, "s3": 0o700, "capture-journal": 0o700, "processes": 0o700, "models": 0o711,
                    "clarimon.db": 0o600, "clarimon.db-wal": 0o600}
    assert not readable_by_others(database)


def test_users_that_cannot_be_taken_are_refused() -> None:
    assert Box().account() is None
    with pytest.raises(BoxError, match="no user 'no-such-user-here'"):
        Box(user="no-such-user-here").account()
    with pytest.raises(BoxError, match="not root"):
        Box(user="root").account()
    if os.geteuid() == 0:
        nobody = Box(user="nobody").account()
        assert nobody is not None and nobody.name == "nobody" and nobody.uid != 0


def test_box_homes_are_made_in_the_servers_home_and_cleared_after_a_crash(tmp_path: Path) -> None:
    first, second = make_home(None, tmp_path / "boxes"), make_home(None, tmp_path / "boxes")
    assert first.parent == second.parent == tmp_path / "boxes" and first != second
    assert stat.S_IMODE(first.stat().st_mode) == 0o700
    (first / "left-by-a-model").write_text("x")
    clear_homes(tmp_path / "boxes")
    assert not first.exists() and not second.exists()
