"""The tables of operations clarimon serves: operation name -> function of (context, request), for SageMaker and for
CloudWatch Logs."""

from __future__ import annotations

from clarimon.control import (
    alerts,
    endpoint_configs,
    endpoints,
    job_definitions,
    log_events,
    models,
    monitoring_executions,
    processing_jobs,
    schedules,
    tagging,
)
from clarimon.control.context import Operation

SAGEMAKER: dict[str, Operation] = {
    "CreateModelExplainabilityJobDefinition": job_definitions.create,
    "DescribeModelExplainabilityJobDefinition": job_definitions.describe,
    "ListModelExplainabilityJobDefinitions": job_definitions.list_,
    "DeleteModelExplainabilityJobDefinition": job_definitions.delete,
    "CreateModel": models.create,
    "DescribeModel": models.describe,
    "ListModels": models.list_,
    "DeleteModel": models.delete,
    "CreateEndpointConfig": endpoint_configs.create,
    "DescribeEndpointConfig": endpoint_configs.describe,
    "ListEndpointConfigs": endpoint_configs.list_,
    "DeleteEndpointConfig": endpoint_configs.delete,
    "CreateEndpoint": endpoints.create,
    "DescribeEndpoint": endpoints.describe,
    "ListEndpoints": endpoints.list_,
    "UpdateEndpoint": endpoints.update,
    "UpdateEndpointWeightsAndCapacities": endpoints.update_weights,
    "DeleteEndpoint": endpoints.delete,
    "CreateMonitoringSchedule": schedules.create,
    "DescribeMonitoringSchedule": schedules.describe,
    "ListMonitoringSchedules": schedules.list_,
    "UpdateMonitoringSchedule": schedules.update,
    "StartMonitoringSchedule": schedules.start,
    "StopMonitoringSchedule": schedules.stop,
    "DeleteMonitoringSchedule": schedules.delete,
    "ListMonitoringExecutions": monitoring_executions.list_,
    "ListMonitoringAlerts": alerts.list_,
    "UpdateMonitoringAlert": alerts.update,
    "ListMonitoringAlertHistory": alerts.history,
    "CreateProcessingJob": processing_jobs.create,
    "DescribeProcessingJob": processing_jobs.describe,
    "ListProcessingJobs": processing_jobs.list_,
    "StopProcessingJob": processing_jobs.stop,
    "AddTags": tagging.add,
    "ListTags": tagging.list_,
    "DeleteTags": tagging.delete,
}

# What SageMaker's clients read of CloudWatch Logs: job and endpoint logs (`control.log_events`).
LOGS: dict[str, Operation] = {
    "DescribeLogStreams": log_events.describe_log_streams,
    "GetLogEvents": log_events.get_log_events,
    "FilterLogEvents": log_events.filter_log_events,
}
