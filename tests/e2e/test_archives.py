"""Model archives and entry points, end to end: what could run code on the host, or read another account's data, is
refused with a clear reason that names no folder of the server."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path
from typing import Any

import orjson
import pytest
from sklearn.linear_model import LogisticRegression

from clarimon.objects import LocalObjects
from tests.documents import clarify_job, endpoint_config, minimal_definition, model
from tests.e2e.test_endpoints import deploy_sklearn, fitted, wait_for  # noqa: F401 (fitted: a fixture)
from tests.e2e.test_job_definitions import error_of
from tests.e2e.test_processing_jobs import finished
from tests.servers import Server, eventually

pytestmark = pytest.mark.e2e

OTHER = "AKIDOTHER"  # the second account's key (anonymous mode maps it, unverified)


def archive(files: dict[str, bytes], mode: str = "w:gz", links: dict[str, str] | None = None) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode=mode) as tar:  # type: ignore[call-overload]
        for name, content in files.items():
            member = tarfile.TarInfo(name)
            member.size = len(content)
            tar.addfile(member, io.BytesIO(content))
        for name, target in (links or {}).items():
            member = tarfile.TarInfo(name)
            member.type, member.linkname = tarfile.SYMTYPE, target
            tar.addfile(member)
    return out.getvalue()


@pytest.fixture
def server(make_server: Any) -> Server:
    """A server with small archive limits and a second account."""
    made: Server = make_server("--archive-max-mb", "1", "--archive-max-unpacked-mb", "1", "--archive-max-members",
                               "5", "--access-keys", f"{OTHER}=222222222222", "--scheduler-seconds", "0.2")
    return made


def no_server_path(server: Server, message: str) -> str:
    """`message`, asserted to name no folder of the server (its home, as given or resolved)."""
    for spelling in {str(server.home), str(server.home.resolve()), str(Path.home() / ".clarimon")}:
        assert spelling not in message, message
    return message


def test_archives_over_a_limit_or_with_links_out_fail_their_endpoint_with_the_reason(server: Server,
                                                                                      region: str) -> None:
    client = server.client(region)
    objects = LocalObjects(server.home / "s3")
    cases = {
        # A capture file's first bytes can be shaped by a request's Content-Type into a plain tar header.
        "plain-tar": (archive({"code/inference.py": b"import os\n"}, "w"), "not a gzip-compressed tar archive"),
        "heavy": (archive({"model.joblib": os.urandom(3 * 1024 * 1024 // 2)}),
                  "more than the 1 MB a model archive may be (--archive-max-mb)"),
        "bomb": (archive({"model.joblib": bytes(2 * 1024 * 1024)}),
                 "unpacks to more than 1 MB, the most a model archive may hold (--archive-max-unpacked-mb)"),
        "crowded": (archive({f"f{i}.txt": b"x" for i in range(6)}),
                    "more than 5 members, the most a model archive may have (--archive-max-members)"),
        "linked": (archive({}, links={"code/inference.py": "/etc/passwd"}),
                   "member 'code/inference.py' is a symbolic link to '/etc/passwd'"),
        "climbing": (archive({"../../inference.py": b"import os\n"}), "member '../../inference.py' has an absolute "
                                                                       "path or '..'"),
        "no-code": (archive({"model.joblib": b""}), "entry point inference.py not found"),
        "missing": (None, "no such object"),
    }
    for name, (data, _) in cases.items():
        if data is not None:
            objects.write(f"s3://bucket/models/{name}/model.tar.gz", data)
        client.create_model(**model(name))
        client.create_endpoint_config(**endpoint_config(f"{name}-config", name))
        client.create_endpoint(EndpointName=name, EndpointConfigName=f"{name}-config")
    for name, (_, wording) in cases.items():
        described = wait_for(client, name)
        assert described["EndpointStatus"] == "Failed", (name, described)
        reason = no_server_path(server, described["FailureReason"])
        assert wording in reason and (name == "no-code" or f"s3://bucket/models/{name}/model.tar.gz" in reason), \
            (name, reason)
    assert not any((server.home / "models").glob("[0-9a-f]*")), "a refused archive left a folder behind"


@pytest.mark.parametrize(("environment", "wording"), [
    ({"SAGEMAKER_PROGRAM": "../../../../tmp/x.py"}, "SAGEMAKER_PROGRAM '../../../../tmp/x.py' must name a file"),
    ({"SAGEMAKER_PROGRAM": "/tmp/x.py"}, "SAGEMAKER_PROGRAM '/tmp/x.py' must name a file inside the model's code"),
    ({"SAGEMAKER_PROGRAM": "inference.py", "SAGEMAKER_SUBMIT_DIRECTORY": "/home"},
     "SAGEMAKER_SUBMIT_DIRECTORY '/home' must be an s3:// source archive or a folder under /opt/ml/model"),
    ({"SAGEMAKER_PROGRAM": "inference.py", "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/../../../home"},
     "without '..'"),
])
def test_entry_points_outside_the_archive_are_refused_at_create(shared_server: Server, region: str,
                                                               environment: dict[str, str], wording: str) -> None:
    client = shared_server.client(region)
    document = model("escaping")
    document["PrimaryContainer"]["Environment"] = environment
    code, message, _ = error_of(client.create_model, **document)
    assert code == "ValidationException" and wording in message, message
    assert client.list_models()["Models"] == []


def test_the_capture_file_as_archive_chain_is_refused(server: Server, region: str) -> None:
    client, other = server.client(region), server.client(region, access_key=OTHER)
    client.create_model(**model("served"))
    client.create_endpoint_config(**endpoint_config("captured", "served"))  # captures to s3://bucket/data-capture
    client.create_model_explainability_job_definition(**minimal_definition("watch"))  # outputs to s3://bucket/out
    captured = "s3://bucket/data-capture/churn/AllTraffic/2026/12/01/18/shaped.jsonl"
    for caller, url in ((client, captured), (client, "s3://bucket/data-capture"),
                        (client, "s3://bucket/out/churn/watch/2026/12/01/18/analysis.json"), (other, captured)):
        document = model("from-captured-data")
        document["PrimaryContainer"]["ModelDataUrl"] = url
        code, message, _ = error_of(caller.create_model, **document)
        assert code == "ValidationException", (url, code, message)
        assert "a model archive cannot be read from there" in message and "captured" not in message.split(":")[0]
        assert "arn:" not in no_server_path(server, message)  # whose destination it is stays unsaid
    source = model("from-captured-source")
    source["PrimaryContainer"]["Environment"]["SAGEMAKER_SUBMIT_DIRECTORY"] = captured
    assert error_of(client.create_model, **source)[0] == "ValidationException"
    # A model made before a capture destination was put where its archive lies is refused when deployed.
    early = model("early")
    early["PrimaryContainer"]["ModelDataUrl"] = "s3://bucket/later-capture/churn/AllTraffic/x.tar.gz"
    client.create_model(**early)
    config = endpoint_config("later", "early")
    config["DataCaptureConfig"]["DestinationS3Uri"] = "s3://bucket/later-capture"
    client.create_endpoint_config(**config)
    client.create_endpoint(EndpointName="late", EndpointConfigName="later")
    described = wait_for(client, "late")
    assert described["EndpointStatus"] == "Failed"
    assert "a model archive cannot be read from there" in no_server_path(server, described["FailureReason"])


def test_an_analysis_config_naming_another_accounts_bucket_fails_the_job(server: Server, region: str) -> None:
    client, other = server.client(region), server.client(region, access_key=OTHER)
    objects = LocalObjects(server.home / "s3")
    client.create_model_explainability_job_definition(**minimal_definition("claims"))  # bucket: the first account's
    config = {"dataset_type": "text/csv", "dataset_uri": "s3://bucket/clarify/data/train.csv",
              "methods": {"shap": {"baseline": [[0.0]]}}, "predictor": {"model_name": "theirs"}}
    objects.write("s3://their-bucket/clarify/config/analysis_config.json", orjson.dumps(config))
    job = clarify_job("reads-bucket", config="s3://their-bucket/clarify/config/analysis_config.json",
                      data="s3://their-bucket/clarify/data/train.csv")
    job["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"] = "s3://their-bucket/clarify/output"
    other.create_processing_job(**job)
    described = finished(other, "reads-bucket")
    assert described["ProcessingJobStatus"] == "Failed", described
    reason = no_server_path(server, described["FailureReason"])
    assert "Access Denied" in reason and "dataset_uri 's3://bucket/clarify/data/train.csv'" in reason, reason
    assert "000000000000" not in reason  # the owner is not named


def test_job_failures_name_no_server_folder(server: Server, region: str) -> None:
    client = server.client(region)
    objects = LocalObjects(server.home / "s3")
    objects.write("s3://bucket/models/broken/model.tar.gz", archive({"code/inference.py": b"import os\n"}, "w"))
    client.create_model(**model("broken"))
    objects.write("s3://bucket/clarify/data/train.csv", b"1,0.5\n0,0.25\n")
    for name, predictor in (("bad-archive", {"model_name": "broken"}), ("no-model", {"model_name": "ghost"})):
        config = {"dataset_type": "text/csv", "headers": ["y", "x"], "label": "y",
                  "methods": {"shap": {"baseline": [[0.0]]}}, "predictor": predictor}
        objects.write(f"s3://bucket/clarify/{name}/analysis_config.json", orjson.dumps(config))
        client.create_processing_job(**clarify_job(name, config=f"s3://bucket/clarify/{name}/analysis_config.json"))
    client.create_processing_job(**clarify_job("no-config", config="s3://bucket/clarify/none/"))
    for name, wording in (("bad-archive", "s3://bucket/models/broken/model.tar.gz: not a gzip-compressed tar"),
                          ("no-model", 'Could not find model'),
                          ("no-config", "No analysis_config.json under the config input s3://bucket/clarify/none/")):
        described = finished(client, name)
        assert described["ProcessingJobStatus"] == "Failed", described
        assert wording in no_server_path(server, described["FailureReason"]), described["FailureReason"]
        no_server_path(server, described.get("ExitMessage", ""))


def test_an_unpacked_archive_lives_while_an_endpoint_serves_it(server: Server, region: str, tmp_path: Path,
                                                               fitted: LogisticRegression) -> None:  # noqa: F811
    client = server.client(region)
    deploy_sklearn(server, client, tmp_path, fitted, "kept")
    assert wait_for(client, "kept")["EndpointStatus"] == "InService"
    folders = [p for p in (server.home / "models").iterdir() if p.is_dir() and not p.name.startswith(".")]
    assert len(folders) == 1 and (folders[0] / "code" / "inference.py").is_file(), folders
    client = server.restart().client(region)  # the next server sweeps at start, then holds what it deploys again
    assert wait_for(client, "kept")["EndpointStatus"] == "InService"  # (InService while its workers load again)
    eventually(lambda: (folders[0] / "code" / "inference.py").is_file(), 60, lambda: "not unpacked again")
    assert client.list_endpoints()["Endpoints"][0]["EndpointStatus"] == "InService"
    client.delete_endpoint(EndpointName="kept")
    eventually(lambda: not folders[0].exists(), 30, lambda: f"{folders[0].name} is still unpacked")
    assert not list((server.home / "models").glob("*.lock"))
