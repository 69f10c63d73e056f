"""List defaults and time filters, each as botocore's documentation of the operation words it."""

from __future__ import annotations

import dataclasses
import re

import botocore.session
import pytest

from clarimon.control import endpoint_configs, job_definitions, listing, models, processing_jobs
from clarimon.control.context import Context
from tests.documents import clarify_job, endpoint_config, minimal_definition, model

SERVED_LISTS = ("ListModelExplainabilityJobDefinitions", "ListModels", "ListEndpointConfigs", "ListEndpoints",
                "ListMonitoringSchedules", "ListMonitoringExecutions", "ListProcessingJobs",
                "ListMonitoringAlertHistory")
# "greater than or equal to", "on or after", "on or before": the wordings of a bound that lets its own time pass
_INCLUSIVE_WORDING = re.compile(r"greater than or equal to|less than or equal to|on or after|on or before")


def _documentation(operation: str) -> dict[str, str]:
    shape = botocore.session.get_session().get_service_model("sagemaker").operation_model(operation).input_shape
    return {name: re.sub(r"<[^>]+>", "", member.documentation) for name, member in shape.members.items()}


@pytest.mark.parametrize("operation", SERVED_LISTS)
def test_the_inclusive_bounds_are_those_botocore_documents_so(operation: str) -> None:
    for member, text in _documentation(operation).items():
        if member.endswith(("Before", "After")) and "Time" in member:
            documented = _INCLUSIVE_WORDING.search(text) is not None
            assert ((operation, member) in listing.INCLUSIVE_BOUNDS) == documented, (operation, member, text)


@pytest.mark.parametrize("operation", SERVED_LISTS)
def test_newest_first_is_the_documented_default_but_where_the_readme_says_why_not(operation: str) -> None:
    documented = re.search(r"default is (\w+)", _documentation(operation)["SortOrder"])
    assert documented is not None
    assert documented.group(1) == listing.DEFAULT_SORT_ORDER or operation == "ListProcessingJobs"


def _at(ctx: Context, moment: float) -> Context:
    return dataclasses.replace(ctx, services=dataclasses.replace(ctx.services, clock=lambda: moment))


def test_creation_time_after_includes_its_own_moment_where_documented(ctx: Context) -> None:
    models.create(_at(ctx, 1000.0), model("early"))
    models.create(_at(ctx, 2000.0), model("on-time"))
    endpoint_configs.create(_at(ctx, 2000.0), endpoint_config("config", "on-time"))
    job_definitions.create(_at(ctx, 2000.0), minimal_definition("definition"))
    # ListModels / ListEndpointConfigs: "with a creation time greater than or equal to the specified time"
    names = [s["ModelName"] for s in models.list_(ctx, {"CreationTimeAfter": 2000.0})["Models"]]
    assert names == ["on-time"]
    configs = endpoint_configs.list_(ctx, {"CreationTimeAfter": 2000.0})["EndpointConfigs"]
    assert [s["EndpointConfigName"] for s in configs] == ["config"]
    # ... "before" stays strict, and job definitions are "created after a specified time": strict too
    assert [s["ModelName"] for s in models.list_(ctx, {"CreationTimeBefore": 2000.0})["Models"]] == ["early"]
    assert job_definitions.list_(ctx, {"CreationTimeAfter": 2000.0})["JobDefinitionSummaries"] == []
    assert len(job_definitions.list_(ctx, {"CreationTimeAfter": 1999.999})["JobDefinitionSummaries"]) == 1


def test_processing_jobs_list_newest_first_by_default(ctx: Context) -> None:
    processing_jobs.create(_at(ctx, 1000.0), clarify_job("older"))
    processing_jobs.create(_at(ctx, 2000.0), clarify_job("newer"))
    summaries = processing_jobs.list_(ctx, {})["ProcessingJobSummaries"]
    assert [s["ProcessingJobName"] for s in summaries] == ["newer", "older"]
