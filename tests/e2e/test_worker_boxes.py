"""Model code in its box, through a real server: a model's worker sees none of the server's secrets or files,
and one that takes more memory than `--worker-memory-mb` fails as SageMaker's container would."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from clarimon.objects import LocalObjects
from clarimon.serving.packaging import package
from tests.documents import PROBE_ENTRY_POINT, SKLEARN_IMAGE, endpoint_config
from tests.e2e.test_endpoints import runtime, wait_for
from tests.servers import Server, eventually

pytestmark = pytest.mark.e2e

SECRET = "wJalrXUtnFEMI-server-secret"


def deploy_probe(server: Server, client: Any, name: str, environment: dict[str, str] | None = None) -> None:
    """The probe model (tests.documents.PROBE_ENTRY_POINT) on an endpoint `name`."""
    folder = Path(tempfile.mkdtemp())
    try:
        (folder / "model.joblib").write_bytes(b"")
        (folder / "probe.py").write_text(PROBE_ENTRY_POINT)
        LocalObjects(server.home / "s3").write(f"s3://bucket/models/{name}/model.tar.gz",
                                               package(folder / "model.joblib", "sklearn", folder / "probe.py"))
    finally:
        shutil.rmtree(folder)
    client.create_model(ModelName=name, ExecutionRoleArn="arn:aws:iam::111111111111:role/r", PrimaryContainer={
        "Image": SKLEARN_IMAGE, "ModelDataUrl": f"s3://bucket/models/{name}/model.tar.gz",
        "Environment": {"SAGEMAKER_PROGRAM": "probe.py", **(environment or {})}})
    client.create_endpoint_config(**endpoint_config(f"{name}-config", name))
    client.create_endpoint(EndpointName=name, EndpointConfigName=f"{name}-config")


def ask(invoke: Any, name: str, request: dict[str, Any]) -> Any:
    answer = invoke.invoke_endpoint(EndpointName=name, Body=json.dumps(request).encode(),
                                    ContentType="application/json", Accept="application/json")
    return json.loads(answer["Body"].read())


@pytest.fixture
def open_home() -> Iterator[Path]:
    """A home folder that another user may pass through (pytest's tmp_path is private to root)."""
    folder = Path(tempfile.mkdtemp(prefix="clarimon-e2e-"))
    folder.chmod(0o711)
    yield folder / "home"
    shutil.rmtree(folder)


@pytest.mark.skipif(os.geteuid() != 0, reason="--worker-user needs the server to run as root")
def test_a_model_cannot_read_the_servers_environment_database_or_credentials(
        open_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    open_home.mkdir()
    credentials = open_home / "credentials.json"
    credentials.write_text(json.dumps({"AKIDALICE": {"secret": SECRET, "account": "111111111111"}}))
    credentials.chmod(0o600)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)  # the server's own environment holds a secret too
    database = open_home / "clarimon.db"
    server = Server(open_home, f"sqlite:///{database}",
                    ["--credentials", str(credentials), "--worker-user", "nobody"]).start()
    try:
        client = server.client(access_key="AKIDALICE", secret=SECRET)
        deploy_probe(server, client, "probe", {"MY_SETTING": "42"})
        assert wait_for(client, "probe")["EndpointStatus"] == "InService"
        invoke = server.client(access_key="AKIDALICE", secret=SECRET, service="sagemaker-runtime")
        assert server.process is not None
        archive = open_home / "s3" / "bucket" / "models" / "probe" / "model.tar.gz"
        paths = [str(database), str(credentials), str(archive), f"/proc/{server.process.pid}/environ"]
        seen = ask(invoke, "probe", {"open": paths})
        assert seen["uid"] == pwd.getpwnam("nobody").pw_uid
        assert seen["opened"] == dict.fromkeys(paths, "PermissionError")
        for text in (json.dumps(seen["environ"]), seen["initial"]):
            assert SECRET not in text and "CLARIMON" not in text and str(database) not in text
        assert seen["environ"]["MY_SETTING"] == "42"
        assert database.stat().st_mode & 0o077 == 0
        # A worker user that could read the credentials file is refused at start.
        credentials.chmod(0o644)
        with pytest.raises(RuntimeError, match="readable by other users, the --worker-user nobody among them"):
            Server(open_home / "other", "sqlite:///" + str(open_home / "other.db"),
                   ["--credentials", str(credentials), "--worker-user", "nobody"]).start()
    finally:
        server.stop()


def test_a_model_over_its_memory_limit_fails_as_sagemaker_and_gets_a_new_worker(make_server: Any,
                                                                                 region: str) -> None:
    server = make_server("--worker-memory-mb", "300")
    client = server.client(region)
    deploy_probe(server, client, "hungry")
    deploy_probe(server, client, "hungry-at-load", {"ALLOCATE_MB_AT_LOAD": "500"})
    assert wait_for(client, "hungry")["EndpointStatus"] == "InService"
    invoke = runtime(server, region)
    assert ask(invoke, "hungry", {"allocate": 100}) == 100 * 1024 * 1024
    with pytest.raises(ClientError) as raised:
        ask(invoke, "hungry", {"allocate": 500})
    assert raised.value.response["Error"]["Code"] == "ModelError"
    assert "ran out of memory: its worker may use 300 MB beyond its runtime (--worker-memory-mb)" in str(raised.value)

    def answers() -> bool:
        try:
            return bool(ask(invoke, "hungry", {"allocate": 100}) == 100 * 1024 * 1024)
        except ClientError:
            return False

    eventually(answers, 30, lambda: "the worker that ran out of memory was not replaced")
    failed = wait_for(client, "hungry-at-load")
    assert failed["EndpointStatus"] == "Failed"
    assert "ran out of memory: its worker may use 300 MB" in failed["FailureReason"]
