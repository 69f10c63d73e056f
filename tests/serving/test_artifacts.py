import gzip
import io
import os
import tarfile
from pathlib import Path

import pytest

from clarimon.serving import artifacts
from clarimon.serving.artifacts import ArtifactError, Limits, lease, sweep, unpack


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


def member_tar(*members: tarfile.TarInfo, contents: dict[str, bytes] | None = None) -> bytes:
    """A model.tar.gz of the given members (regular members carry `contents[name]`, else nothing)."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as archive:
        for member in members:
            content = (contents or {}).get(member.name, b"")
            if member.isreg():
                member.size = len(content)
            archive.addfile(member, io.BytesIO(content) if member.isreg() else None)
    return out.getvalue()


def link(name: str, target: str, kind: bytes = tarfile.SYMTYPE) -> tarfile.TarInfo:
    member = tarfile.TarInfo(name)
    member.type, member.linkname = kind, target
    return member


def device(name: str) -> tarfile.TarInfo:
    member = tarfile.TarInfo(name)
    member.type, member.devmajor, member.devminor = tarfile.CHRTYPE, 1, 3
    return member


@pytest.mark.parametrize(("archive", "wording"), [
    (tar({"model.joblib": os.urandom(4096)}, "w:gz"),
     "more than the 2048 bytes a model archive may be (--archive-max-mb)"),
    (tar({"model.joblib": bytes(1 << 20)}, "w:gz"), "unpacks to more than 4096 bytes, the most a model archive may "
                                                   "hold (--archive-max-unpacked-mb)"),
    (tar({f"f{i}": b"x" for i in range(6)}, "w:gz"), "more than 5 members, the most a model archive may have "
                                                      "(--archive-max-members)"),
    (tar({"../escape.py": b"x"}, "w:gz"), "member '../escape.py' has an absolute path or '..'"),
    (tar({"/etc/cron.d/x": b"x"}, "w:gz"), "member '/etc/cron.d/x' has an absolute path or '..'"),
    (member_tar(link("code/inference.py", "/etc/passwd")),
     "member 'code/inference.py' is a symbolic link to '/etc/passwd': a link in a model archive may only point below"),
    (member_tar(link("code/inference.py", "../../../../home/secret.py")),
     "is a symbolic link to '../../../../home/secret.py'"),
    (member_tar(link("code", "."), link("up", "code/..")), "member 'up' is a symbolic link to 'code/..'"),
    (member_tar(link("code/inference.py", "../../etc/passwd", tarfile.LNKTYPE)),
     "member 'code/inference.py' is a hard link to '../../etc/passwd', outside the model's folder"),
    (member_tar(device("dev/null")), "member 'dev/null' is a device, pipe or other special file"),
])
def test_archives_over_a_limit_or_leaving_their_folder_are_refused(tmp_path: Path, archive: bytes,
                                                                   wording: str) -> None:
    limits = Limits(compressed_bytes=2048 if "max-mb" in wording else 1 << 20, unpacked_bytes=4096, members=5)
    with pytest.raises(ArtifactError) as refused:
        unpack(archive, tmp_path / "cache", "s3://b/model.tar.gz", limits)
    message = str(refused.value)
    assert message.startswith("s3://b/model.tar.gz: ") and wording in message, message
    assert str(tmp_path) not in message  # the server's folders are never named
    cache = tmp_path / "cache"
    assert not cache.exists() or not any(cache.iterdir())  # nothing unpacked, nothing left staged
    assert not (tmp_path / "escape.py").exists()


def test_links_that_stay_below_their_folder_are_kept(tmp_path: Path) -> None:
    archive = member_tar(tarfile.TarInfo("code/real.py"), link("code/inference.py", "real.py"),
                         link("model", "code/real.py", tarfile.LNKTYPE), contents={"code/real.py": b"x = 1\n"})
    folder = unpack(archive, tmp_path / "cache", "s3://b/model.tar.gz")
    assert (folder / "code" / "inference.py").read_bytes() == b"x = 1\n"
    assert (folder / "model").read_bytes() == b"x = 1\n"


def test_the_archive_is_unpacked_by_a_child_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def in_this_process(*args: object) -> None:
        raise AssertionError("unpacked in the calling process")

    monkeypatch.setattr(artifacts, "extract", in_this_process)  # the child imports its own, untouched
    folder = unpack(tar({"model.joblib": b"m"}, "w:gz"), tmp_path / "cache", "s3://b/model.tar.gz")
    assert (folder / "model.joblib").read_bytes() == b"m"


def test_a_folder_is_removed_when_its_last_lease_is_released(tmp_path: Path) -> None:
    data = tar({"model.joblib": b"m"}, "w:gz")
    first = lease(data, tmp_path / "cache", "s3://b/one.tar.gz")
    second = lease(data, tmp_path / "cache", "s3://b/two.tar.gz")  # the same bytes: the same folder
    assert first.folder == second.folder
    first.release()
    assert (second.folder / "model.joblib").is_file()
    assert sweep(tmp_path / "cache") == 0  # held
    second.release()
    second.release()  # twice: nothing more happens
    assert not second.folder.exists()
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == []


def test_a_sweep_removes_folders_no_process_holds(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    left = unpack(tar({"a": b"1"}, "w:gz"), cache, "a.tar.gz")  # a folder a stopped server left behind
    held = lease(tar({"b": b"2"}, "w:gz"), cache, "b.tar.gz")
    (cache / "empty").mkdir()  # not an archive's folder: kept
    assert sweep(cache) == 1
    assert not left.exists() and held.folder.is_dir() and (cache / "empty").is_dir()
    held.release()
    assert not held.folder.exists()
