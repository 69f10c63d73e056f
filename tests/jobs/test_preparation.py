"""A taken job prepared for its process: what it reads, and the reasons it cannot start."""

from __future__ import annotations

import orjson
import pytest

from clarimon.control import processing_jobs
from clarimon.control.context import Context
from clarimon.errors import ServiceError
from clarimon.jobs import preparation
from tests.documents import clarify_job


def test_a_job_without_its_config_cannot_start(ctx: Context) -> None:
    arn = processing_jobs.create(ctx, clarify_job("no-config", config="s3://bucket/nothing/"))["ProcessingJobArn"]
    with pytest.raises(ServiceError, match="No analysis_config.json under the config input s3://bucket/nothing/"):
        preparation.task(ctx.services, arn, [])


def test_a_config_that_names_no_model_cannot_start(ctx: Context) -> None:
    ctx.services.objects.write("s3://bucket/clarify/config/analysis_config.json",
                               orjson.dumps({"dataset_type": "text/csv", "methods": {"shap": {}}}))
    arn = processing_jobs.create(ctx, clarify_job("no-model"))["ProcessingJobArn"]
    with pytest.raises(ServiceError, match="names no predictor.model_name"):
        preparation.task(ctx.services, arn, [])


def test_a_config_naming_a_missing_model_says_so(ctx: Context) -> None:
    ctx.services.objects.write("s3://bucket/clarify/config/analysis_config.json",
                               orjson.dumps({"methods": {"shap": {}}, "predictor": {"model_name": "ghost"}}))
    arn = processing_jobs.create(ctx, clarify_job("ghost"))["ProcessingJobArn"]
    with pytest.raises(ServiceError, match="ghost"):
        preparation.task(ctx.services, arn, [])


def test_a_gone_job_and_the_runtime_limit(ctx: Context) -> None:
    with pytest.raises(ServiceError, match="is gone"):
        preparation.task(ctx.services, "arn:aws:sagemaker:us-east-1:000000000000:processing-job/gone", [])
    arn = processing_jobs.create(ctx, clarify_job("limited"))["ProcessingJobArn"]
    assert preparation.max_runtime(ctx.services, arn) == 600.0
    assert preparation.max_runtime(ctx.services, "arn:gone") == processing_jobs.DEFAULT_MAX_RUNTIME
