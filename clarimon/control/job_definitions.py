"""Model explainability job definitions: Create, Describe, List, Delete."""

from __future__ import annotations

import datetime

from sqlalchemy.engine import Connection

from clarimon.control.context import Context, Request, Response
from clarimon.control.cron import ScheduleError, offset, window
from clarimon.control.families import Family
from clarimon.errors import ResourceInUse, ResourceNotFound, ValidationException
from clarimon.store import resources
from clarimon.store.resources import ListQuery, Resource

SCHEDULE_KIND = "monitoring-schedule"


def _check_input(ctx: Context, request: Request) -> None:
    """Choices the service model cannot express: one input source, offsets that make a window, one batch
    dataset format."""
    job_input = request["ModelExplainabilityJobInput"]
    sources = [k for k in ("EndpointInput", "BatchTransformInput") if job_input.get(k) is not None]
    if len(sources) != 1:
        raise ValidationException(
            "ModelExplainabilityJobInput must specify exactly one of EndpointInput or BatchTransformInput;"
            f" got {len(sources)}."
        )
    source = job_input[sources[0]]
    start, end = source.get("StartTimeOffset"), source.get("EndTimeOffset")
    try:  # checked now, not when a schedule first runs it (a schedule's own offsets may replace either one)
        if start is not None and end is not None:
            window(datetime.datetime.now(datetime.UTC), start, end)
        for text in (start, end):
            if text is not None:
                offset(text)
    except ScheduleError as error:
        raise ValidationException(f"ModelExplainabilityJobInput.{sources[0]}: {error}") from None
    batch = job_input.get("BatchTransformInput")
    if batch is not None:
        formats = [k for k in ("Csv", "Json", "Parquet") if batch["DatasetFormat"].get(k) is not None]
        if len(formats) != 1:
            raise ValidationException(
                "BatchTransformInput.DatasetFormat must specify exactly one of Csv, Json or Parquet;"
                f" got {len(formats)}."
            )


def _summary(item: Resource) -> Response:
    summary: Response = {
        "MonitoringJobDefinitionName": item.name,
        "MonitoringJobDefinitionArn": item.arn,
        "CreationTime": item.creation_time,
    }
    if item.endpoint_name is not None:
        summary["EndpointName"] = item.endpoint_name
    return summary


def _guard(ctx: Context, conn: Connection, definition: Resource) -> None:
    """A job definition a monitoring schedule uses cannot be deleted."""
    query = ListQuery(kind=SCHEDULE_KIND, account=ctx.account, region=ctx.region, limit=1,
                      job_definition_name=definition.name)
    users = resources.page(conn, query)
    if users:
        raise ResourceInUse(f"Job definition {definition.name} is used by monitoring schedule {users[0].name}; "
                            "delete the schedule first.")


FAMILY = Family(
    kind="model-explainability-job-definition",
    name="JobDefinitionName",
    arn="JobDefinitionArn",
    list_operation="ListModelExplainabilityJobDefinitions",
    summaries="JobDefinitionSummaries",
    summary=_summary,
    not_found=lambda name, arn: ResourceNotFound(f"Could not find job definition {name}."),
    taken=lambda name, arn: ResourceInUse(f"Job definition {name} already exists."),
    endpoint_of=lambda request: (request["ModelExplainabilityJobInput"].get("EndpointInput") or {}).get(
        "EndpointName"
    ),
    checks=(_check_input,),
    on_delete=_guard,
)

create, describe, list_, delete = FAMILY.create, FAMILY.describe, FAMILY.list_, FAMILY.delete
