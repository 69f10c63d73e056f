"""The AWS CLI, unchanged but for --endpoint-url, creates, describes, lists and deletes definitions."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.documents import full_definition
from tests.servers import Server

pytestmark = pytest.mark.e2e


def aws(server: Server, region: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "AKIDCLI", "AWS_SECRET_ACCESS_KEY": "secret",
           "AWS_DEFAULT_REGION": region, "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull}
    aws_cli = Path(sys.executable).parent / "aws"
    return subprocess.run(
        [str(aws_cli), "sagemaker", *args, "--endpoint-url", server.url, "--output", "json"],
        capture_output=True, text=True, env=env, timeout=120,
    )


def ok(result: subprocess.CompletedProcess[str]) -> Any:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout) if result.stdout.strip() else None


def test_cli_create_describe_list_delete(shared_server: Server, region: str, tmp_path: Path) -> None:
    request = full_definition("from-cli")
    spec = tmp_path / "definition.json"
    spec.write_text(json.dumps(request))
    created = ok(aws(shared_server, region, "create-model-explainability-job-definition",
                     "--cli-input-json", f"file://{spec}"))
    assert created["JobDefinitionArn"].endswith(":model-explainability-job-definition/from-cli")

    described = ok(aws(shared_server, region, "describe-model-explainability-job-definition",
                       "--job-definition-name", "from-cli"))
    assert described["ModelExplainabilityJobInput"] == request["ModelExplainabilityJobInput"]
    assert described["RoleArn"] == request["RoleArn"]

    listed = ok(aws(shared_server, region, "list-model-explainability-job-definitions"))
    assert [s["MonitoringJobDefinitionName"] for s in listed["JobDefinitionSummaries"]] == ["from-cli"]

    failed = aws(shared_server, region, "create-model-explainability-job-definition",
                 "--cli-input-json", f"file://{spec}")
    assert failed.returncode != 0
    assert "(ResourceInUse)" in failed.stderr

    ok(aws(shared_server, region, "delete-model-explainability-job-definition", "--job-definition-name", "from-cli"))
    missing = aws(shared_server, region, "describe-model-explainability-job-definition",
                  "--job-definition-name", "from-cli")
    assert "(ResourceNotFound)" in missing.stderr
