"""The one error hierarchy's helpers."""

from __future__ import annotations

from pathlib import Path

from clarimon.errors import without_folders


def test_the_home_folder_is_never_shown(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "home").symlink_to(tmp_path / "real")
    home = tmp_path / "home"
    message = f"cannot open {home}/models/a and {tmp_path / 'real'}/s3/b"
    assert without_folders(message, home) == "cannot open <home>/models/a and <home>/s3/b"
    assert without_folders("nothing to hide", Path("/")) == "nothing to hide"
