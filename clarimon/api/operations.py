"""The table of operations clarimon serves: SageMaker operation name -> function of (context, request)."""

from __future__ import annotations

from clarimon.control import job_definitions, tagging
from clarimon.control.context import Operation

SAGEMAKER: dict[str, Operation] = {
    "CreateModelExplainabilityJobDefinition": job_definitions.create,
    "DescribeModelExplainabilityJobDefinition": job_definitions.describe,
    "ListModelExplainabilityJobDefinitions": job_definitions.list_,
    "DeleteModelExplainabilityJobDefinition": job_definitions.delete,
    "AddTags": tagging.add,
    "ListTags": tagging.list_,
    "DeleteTags": tagging.delete,
}
