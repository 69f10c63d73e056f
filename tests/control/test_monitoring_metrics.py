"""The monitoring metrics of /metrics, from the database: SageMaker's names and dimensions, NDCG, executions,
alerts, and publish_cloudwatch_metrics=Disabled honoured."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from clarimon.control import job_definitions, schedules
from clarimon.control.context import Context
from clarimon.control.monitoring_metrics import MonitoringCollector, metric_name
from clarimon.control.states import ExecutionStatus
from tests.control.test_alerts import scheduled  # noqa: F401 (fixture)
from tests.control.test_monitoring_results import DRIFTED, NORMAL, end_execution, run
from tests.control.test_schedules import schedule_request
from tests.documents import minimal_definition


def scrape(ctx: Context) -> dict[str, list[Sample]]:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(MonitoringCollector(ctx.services))
    text = generate_latest(registry).decode()
    return {family.name: family.samples for family in text_string_to_metric_families(text)}


def test_the_latest_results_as_sagemaker_publishes_them(scheduled: Context) -> None:  # noqa: F811
    run(scheduled, 0, NORMAL)
    run(scheduled, 1, DRIFTED)
    job_definitions.create(scheduled, {**minimal_definition("quiet"), "ModelExplainabilityAppSpecification": {
        **minimal_definition("quiet")["ModelExplainabilityAppSpecification"],
        "Environment": {"publish_cloudwatch_metrics": "Disabled"}}})
    schedules.create(scheduled, {**schedule_request("quiet"), "MonitoringScheduleConfig": {
        **schedule_request("quiet")["MonitoringScheduleConfig"], "MonitoringJobDefinitionName": "quiet"}})
    run(scheduled, 0, NORMAL, schedule="quiet", environment={"publish_cloudwatch_metrics": "Disabled"})
    end_execution(scheduled, ExecutionStatus.FAILED, 2, schedule="quiet",
                  environment={"publish_cloudwatch_metrics": "Disabled"})

    families = scrape(scheduled)
    sat = families["feature_sat"]
    assert [(s.labels["MonitoringSchedule"], s.value) for s in sat] == [("hourly", 0.10)]  # the latest: drifted
    assert sat[0].labels == {"account": scheduled.account, "region": scheduled.region, "Endpoint": "churn",
                             "MonitoringSchedule": "hourly", "ExplainabilityMethod": "KernelShap",
                             "Label": "label0", "ValueType": "GlobalShapValues", "FeatureName": "sat"}
    [expected] = families["ExpectedValue"]
    assert (expected.value, expected.labels["ValueType"]) == (0.38, "ExpectedValue")
    [ndcg] = families["clarimon_monitoring_ndcg"]
    [threshold] = families["clarimon_monitoring_ndcg_threshold"]
    assert ndcg.value < threshold.value == 0.9
    assert [s.labels["status"] for s in families["clarimon_monitoring_last_execution_status"]] == [
        "CompletedWithViolations"]  # the quiet schedule publishes none of its results
    counts = {(s.labels["MonitoringSchedule"], s.labels["status"]): s.value
              for s in families["clarimon_monitoring_executions"]}
    assert counts == {("hourly", "Completed"): 1, ("hourly", "CompletedWithViolations"): 1,
                      ("quiet", "Completed"): 1, ("quiet", "Failed"): 1}
    alerts = {s.labels["MonitoringSchedule"]: s.value for s in families["clarimon_monitoring_alert_in_alert"]}
    assert alerts == {"hourly": 1.0, "quiet": 1.0}
    [violations] = families["clarimon_monitoring_last_execution_violations"]
    assert violations.value == 1


def test_feature_names_become_prometheus_names() -> None:
    assert metric_name("age") == "feature_age"
    assert metric_name("income (k$)") == "feature_income__k__"
    assert metric_name("größe") == "feature_gr__e"


def test_a_schedule_created_again_starts_from_nothing(scheduled: Context) -> None:  # noqa: F811
    run(scheduled, 0, DRIFTED)
    end_execution(scheduled, ExecutionStatus.FAILED, 1)
    before = scrape(scheduled)
    assert before["clarimon_monitoring_alert_in_alert"][0].value == 1.0
    schedules.delete(scheduled, {"MonitoringScheduleName": "hourly"})
    schedules.create(scheduled, schedule_request())
    run(scheduled, 2, NORMAL)
    after = scrape(scheduled)
    assert {s.labels["status"]: s.value for s in after["clarimon_monitoring_executions"]} == {"Completed": 1}
    assert [s.value for s in after["clarimon_monitoring_alert_in_alert"]] == [0.0]
    assert [s.value for s in after["feature_sat"]] == [0.66]
