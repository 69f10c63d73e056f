"""The local folder store and an S3-compatible server (moto's, on loopback) behave alike."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import botocore.config
import pytest

from clarimon.objects import LocalObjects, ObjectError, Objects, S3Objects, read_location
from tests.servers import free_port, moto_server

CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}


@pytest.fixture(scope="module")
def s3_url() -> Iterator[str]:
    with moto_server() as url:
        yield url


@pytest.fixture
def aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in CREDENTIALS.items():
        monkeypatch.setenv(key, value)


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path, aws_credentials: None) -> Any:
    if request.param == "local":
        (tmp_path / "s3" / "bucket").mkdir(parents=True)
        return LocalObjects(tmp_path / "s3")
    url = request.getfixturevalue("s3_url")
    client = boto3.client("s3", endpoint_url=url)
    client.create_bucket(Bucket="bucket")
    return S3Objects(url)


def test_write_then_read(store: Objects) -> None:
    store.write("s3://bucket/a/b/data.csv", b"x,y\n1,2\n")
    assert store.read("s3://bucket/a/b/data.csv") == b"x,y\n1,2\n"
    store.write("s3://bucket/a/b/data.csv", b"replaced")
    assert store.read("s3://bucket/a/b/data.csv") == b"replaced"


def test_missing_objects_and_bad_uris(store: Objects) -> None:
    with pytest.raises(ObjectError, match="s3://bucket/none"):
        store.read("s3://bucket/none")
    for bad in ("http://bucket/key", "s3://bucket", "s3://Bad_Bucket/key"):
        with pytest.raises(ObjectError, match="not an s3://bucket/key URI"):
            store.read(bad)


def test_local_keys_cannot_climb_out(tmp_path: Path) -> None:
    with pytest.raises(ObjectError, match="not allowed"):
        LocalObjects(tmp_path).path("s3://bucket/../../etc/passwd")
    assert LocalObjects(tmp_path).path("s3://bucket/a//b") == tmp_path / "bucket" / "a" / "b"


def test_local_writes_leave_no_partial_files(tmp_path: Path) -> None:
    store = LocalObjects(tmp_path)
    store.write("s3://bucket/k", b"data")
    assert [p.name for p in (tmp_path / "bucket").iterdir()] == ["k"]


def test_read_location_takes_paths_and_uris(tmp_path: Path) -> None:
    (tmp_path / "f.txt").write_bytes(b"local")
    store = LocalObjects(tmp_path / "s3")
    store.write("s3://bucket/f.txt", b"stored")
    assert read_location(str(tmp_path / "f.txt"), store) == b"local"
    assert read_location("s3://bucket/f.txt", store) == b"stored"
    with pytest.raises(ObjectError, match="no such file"):
        read_location(str(tmp_path / "none"), store)


def test_explain_reads_inputs_from_an_s3_compatible_server(s3_url: str, tmp_path: Path,
                                                           aws_credentials: None) -> None:
    import json
    import subprocess
    import sys

    import joblib
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    iris = load_iris()
    joblib.dump(LogisticRegression(max_iter=2000).fit(iris.data, iris.target), tmp_path / "model.joblib")
    client = boto3.client("s3", endpoint_url=s3_url)
    client.create_bucket(Bucket="explain")
    client.put_object(Bucket="explain", Key="in/model.joblib", Body=(tmp_path / "model.joblib").read_bytes())
    rows = "\n".join(",".join(map(str, x)) for x in iris.data[::10])
    client.put_object(Bucket="explain", Key="in/data.csv", Body=f"a,b,c,d\n{rows}\n".encode())
    config = {"methods": {"shap": {"num_clusters": 2, "seed": 0}}}
    client.put_object(Bucket="explain", Key="in/config.json", Body=json.dumps(config).encode())
    result = subprocess.run(
        [sys.executable, "-m", "clarimon", "explain", "--config", "s3://explain/in/config.json",
         "--data", "s3://explain/in/data.csv", "--model", "s3://explain/in/model.joblib",
         "--output", str(tmp_path / "out"), "--s3-endpoint-url", s3_url, "--home", str(tmp_path / "home")],
        capture_output=True, text=True, timeout=300, env={**os.environ, **CREDENTIALS},
    )
    assert result.returncode == 0, result.stderr
    analysis = json.loads((tmp_path / "out" / "analysis.json").read_text())
    assert list(analysis["explanations"]["kernel_shap"]["label0"]["global_shap_values"]) == ["a", "b", "c", "d"]
    assert not (tmp_path / "home" / "s3").exists()  # nothing went to the local folder


def test_list_gives_every_object_under_a_prefix_in_key_order(store: Objects) -> None:
    for key in ("cap/ep/v/2026/11/25/07/b.jsonl", "cap/ep/v/2026/11/25/06/a.jsonl", "cap/other/x", "capture"):
        store.write(f"s3://bucket/{key}", b"x")
    assert store.list("s3://bucket/cap/ep/") == [
        "s3://bucket/cap/ep/v/2026/11/25/06/a.jsonl",
        "s3://bucket/cap/ep/v/2026/11/25/07/b.jsonl",
    ]
    assert store.list("s3://bucket/cap") == [
        "s3://bucket/cap/ep/v/2026/11/25/06/a.jsonl",
        "s3://bucket/cap/ep/v/2026/11/25/07/b.jsonl",
        "s3://bucket/cap/other/x",
        "s3://bucket/capture",
    ]
    assert store.list("s3://bucket/nothing/") == []


def test_size_is_known_before_reading(store: Objects) -> None:
    store.write("s3://bucket/sized/model.tar.gz", b"12345")
    assert store.size("s3://bucket/sized/model.tar.gz") == 5
    with pytest.raises(ObjectError):
        store.size("s3://bucket/sized/missing")


def test_local_links_are_not_followed_out_of_the_store(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    (outside / "folder").mkdir(parents=True)
    (outside / "secret.txt").write_text("server secret")
    (outside / "folder" / "other.txt").write_text("another secret")
    store = LocalObjects(tmp_path / "s3")
    store.write("s3://bucket/inside/real.txt", b"mine")
    bucket = tmp_path / "s3" / "bucket"
    (bucket / "inside" / "secret.txt").symlink_to(outside / "secret.txt")
    (bucket / "inside" / "alias.txt").symlink_to(bucket / "inside" / "real.txt")  # stays in the store: followed
    (bucket / "linked").symlink_to(outside / "folder", target_is_directory=True)
    for uri in ("s3://bucket/inside/secret.txt", "s3://bucket/linked/other.txt"):
        with pytest.raises(ObjectError) as refused:
            store.read(uri)
        assert str(refused.value) == f"{uri}: no such object"  # nothing said of where the link leads
        with pytest.raises(ObjectError):
            store.write(uri, b"overwritten")
    assert (outside / "secret.txt").read_text() == "server secret"
    assert (outside / "folder" / "other.txt").read_text() == "another secret"
    assert store.read("s3://bucket/inside/alias.txt") == b"mine"
    assert store.list("s3://bucket/") == ["s3://bucket/inside/alias.txt", "s3://bucket/inside/real.txt"]
    assert store.list("s3://bucket/linked/") == []


def test_a_missing_local_object_does_not_say_where_it_was_looked_for(tmp_path: Path) -> None:
    with pytest.raises(ObjectError) as missing:
        LocalObjects(tmp_path / "s3").read("s3://bucket/nothing")
    assert str(tmp_path) not in str(missing.value)


def test_s3_errors_do_not_name_the_stores_address(aws_credentials: None) -> None:
    port = free_port()  # nothing listens there
    client = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
                          config=botocore.config.Config(retries={"max_attempts": 0}, connect_timeout=1))
    with pytest.raises(ObjectError) as unreachable:
        S3Objects(f"http://127.0.0.1:{port}", client).read("s3://bucket/model.tar.gz")
    assert str(unreachable.value).startswith("s3://bucket/model.tar.gz: cannot read: the object store cannot be "
                                             "reached") and str(port) not in str(unreachable.value)
