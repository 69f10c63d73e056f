import gzip
import io
import tarfile
from pathlib import Path

import pytest

from clarimon.serving.artifacts import ArtifactError, unpack


def tar(files: dict[str, bytes], mode: str) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode=mode) as archive:  # type: ignore[call-overload]
        for name, content in files.items():
            member = tarfile.TarInfo(name)
            member.size = len(content)
            archive.addfile(member, io.BytesIO(content))
    return out.getvalue()


def test_a_gzip_tar_unpacks(tmp_path: Path) -> None:
    folder = unpack(tar({"code/inference.py": b"x = 1\n"}, "w:gz"), tmp_path / "cache", "s3://b/model.tar.gz")
    assert (folder / "code" / "inference.py").read_bytes() == b"x = 1\n"


@pytest.mark.parametrize("data", [
    tar({"code/inference.py": b"import os\n"}, "w"),  # an uncompressed tar: what a shaped capture file can be
    tar({"code/inference.py": b"import os\n"}, "w:bz2"),
    b'{"captureData": {"endpointInput": {"data": "..."}}}\n',
    b"",
])
def test_anything_but_a_gzip_tar_is_refused_and_nothing_is_unpacked(tmp_path: Path, data: bytes) -> None:
    with pytest.raises(ArtifactError, match="s3://b/model.tar.gz: not a gzip-compressed tar archive"):
        unpack(data, tmp_path / "cache", "s3://b/model.tar.gz")
    assert not (tmp_path / "cache").exists()


def test_gzip_that_is_no_tar_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match="not a readable model.tar.gz"):
        unpack(gzip.compress(b"not a tar at all" * 100), tmp_path / "cache", "s3://b/model.tar.gz")
