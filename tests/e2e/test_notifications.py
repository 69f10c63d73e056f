"""Notifications end to end: a receiver on loopback gets each status change once, signed (processing jobs,
endpoints, monitoring executions, alerts); an event whose receiver refused it survives `kill -9` of the server
and arrives after the restart; two servers on one database send each event once."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression

from clarimon.jobs.notifications import SIGNATURE_HEADER, TIMESTAMP_HEADER, signature
from tests.documents import clarify_job
from tests.e2e.test_endpoints import deploy_sklearn, fitted, wait_for  # noqa: F401 (fixture)
from tests.e2e.test_monitoring import definition, executions, prepare, schedule, serve
from tests.receivers import Receiver, receiver
from tests.servers import eventually

pytestmark = pytest.mark.e2e

SECRET = "receiver-shared-secret"
OTHER_IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/other:1"
# Created jobs are taken by the scheduler's next tick: an hour away, so a created Clarify job stays InProgress.
QUIET = ("--scheduler-seconds", "3600")


def failed_job(name: str) -> dict[str, Any]:
    """A processing job created Failed (an image clarimon does not run): one event."""
    return clarify_job(name, image=OTHER_IMAGE)


def settle(got: Receiver, count: int, timeout: float = 60) -> list[dict[str, Any]]:
    """The receiver's events once it has `count`, and still after a moment (no late duplicates)."""
    eventually(lambda: len(got.accepted) >= count, timeout,
               lambda: f"the receiver got {len(got.accepted)} of {count} events: {summary(got)}")
    time.sleep(2.0)
    return got.events()


def summary(got: Receiver) -> list[tuple[str, str]]:
    return [(e["detail-type"], str(e["resources"][0])) for e in got.events()]


def test_each_change_arrives_once_signed(make_server: Any, region: str, tmp_path: Path) -> None:
    with receiver() as got:
        server = make_server("--notify-url", got.url, "--notify-secret", SECRET, *QUIET)
        client = server.client(region)
        client.create_processing_job(**failed_job("refused-image"))
        client.create_processing_job(**clarify_job("queued"))
        client.stop_processing_job(ProcessingJobName="queued")
        X, Y = load_breast_cancer(return_X_y=True)
        deploy_sklearn(server, client, tmp_path, LogisticRegression(max_iter=5000).fit(X[:, :6], Y), "churn")
        assert wait_for(client, "churn")["EndpointStatus"] == "InService"
        received = settle(got, 5)

        assert len(received) == 5, summary(got)
        assert len({e["id"] for e in received}) == 5
        jobs = [(e["detail"]["ProcessingJobName"], e["detail"]["ProcessingJobStatus"]) for e in received
                if e["detail-type"] == "SageMaker Processing Job State Change"]
        assert sorted(jobs) == [("queued", "InProgress"), ("queued", "Stopped"), ("refused-image", "Failed")]
        assert jobs.index(("queued", "InProgress")) < jobs.index(("queued", "Stopped"))
        endpoint = [e for e in received if e["detail-type"] == "SageMaker Endpoint State Change"]
        assert [e["detail"]["EndpointStatus"] for e in endpoint] == ["CREATING", "IN_SERVICE"]
        described = client.describe_endpoint(EndpointName="churn")
        assert endpoint[1]["resources"] == [described["EndpointArn"]]
        assert endpoint[1]["detail"]["EndpointConfigName"] == "churn-config"
        assert endpoint[1]["detail"]["Tags"] == {"team": "risk"}
        assert endpoint[1]["detail"]["LastModifiedTime"] == round(described["LastModifiedTime"].timestamp() * 1000)
        for event in received:
            assert event["version"] == "0" and event["source"] == "aws.sagemaker"
            assert event["account"] == "000000000000" and event["region"] == region
        for delivery in got.accepted:
            stamp = delivery.headers[TIMESTAMP_HEADER]
            assert delivery.headers[SIGNATURE_HEADER] == signature(SECRET, stamp, delivery.body)


def test_an_undelivered_event_survives_kill_9_and_arrives_after_the_restart(make_server: Any, region: str
                                                                           ) -> None:
    with receiver() as got:
        got.refusing = True
        server = make_server("--notify-url", got.url, *QUIET)
        server.client(region).create_processing_job(**failed_job("told-after-crash"))
        eventually(lambda: got.refused >= 1, 30, lambda: "the server never tried to deliver the event")
        server.kill()
        got.refusing = False
        time.sleep(1.0)
        assert got.accepted == []  # nobody sent it meanwhile: the server is dead
        server.start()
        (event,) = settle(got, 1)
        assert event["detail"]["ProcessingJobName"] == "told-after-crash"
        assert event["detail"]["ProcessingJobStatus"] == "Failed"


def test_an_event_a_killed_server_was_sending_is_sent_again_after_the_restart(make_server: Any, region: str
                                                                            ) -> None:
    """The dead server's claim is given up at the restart (its process is gone), not after the claim's 60 s."""
    with receiver() as got:
        got.delay = 8.0  # the first POST hangs: the server is killed in the middle of it
        server = make_server("--notify-url", got.url, *QUIET)
        server.client(region).create_processing_job(**failed_job("in-flight"))
        eventually(lambda: got.arrived >= 1, 30, lambda: "the server never tried to deliver the event")
        server.kill()
        got.delay = 0.0
        server.start()
        # at least once: the restarted server's delivery, and the hung one the receiver records after its delay
        received = settle(got, 2, timeout=30)
        assert len(received) == 2 and len({e["id"] for e in received}) == 1
        assert received[0]["detail"]["ProcessingJobName"] == "in-flight"
        assert "notifications of a stopped server taken back count=1" in server.log()


def test_a_server_without_receivers_keeps_no_events(make_server: Any, region: str) -> None:
    """Receivers added later are not flooded with what happened before them."""
    with receiver() as got:
        server = make_server(*QUIET)
        server.client(region).create_processing_job(**failed_job("before"))
        server.stop()
        server.extra_args = ["--notify-url", got.url, *QUIET]
        server.start()
        server.client(region).create_processing_job(**failed_job("after"))
        (event,) = settle(got, 1)
        assert event["detail"]["ProcessingJobName"] == "after"


def test_two_servers_on_one_database_send_each_event_once(make_server: Any, region: str) -> None:
    with receiver() as got:
        first = make_server("--notify-url", got.url, *QUIET)
        second = make_server("--notify-url", got.url, *QUIET, share=first)
        clients = [first.client(region), second.client(region)]
        for i in range(12):
            clients[i % 2].create_processing_job(**failed_job(f"job-{i}"))
        received = settle(got, 12)
        names = sorted(e["detail"]["ProcessingJobName"] for e in received)
        assert names == sorted(f"job-{i}" for i in range(12)), summary(got)
        assert len({e["id"] for e in received}) == 12


def test_an_execution_and_its_alert_are_told(make_server: Any, region: str, tmp_path: Path,
                                            fitted: LogisticRegression) -> None:  # noqa: F811
    with receiver() as got:
        server, clock = serve(make_server, tmp_path, "--notify-url", got.url)
        client = server.client(region)
        prepare(server, client, tmp_path, fitted, "churn")  # an endpoint that got no traffic
        client.create_model_explainability_job_definition(**definition("churn-def", "churn"))
        clock.set("2026-11-25T06:40:00Z")
        schedule(client, "empty-now", "churn-def", "NOW", DataAnalysisStartTime="-PT1H", DataAnalysisEndTime="-PT0H")
        [run] = executions(client, "empty-now", 1)
        assert run["MonitoringExecutionStatus"] == "Failed", run  # no data: the default alert (1 of 1) goes off
        [alert] = client.list_monitoring_alerts(MonitoringScheduleName="empty-now")["MonitoringAlertSummaries"]
        assert alert["AlertStatus"] == "InAlert"
        client.update_monitoring_alert(MonitoringScheduleName="empty-now",
                                       MonitoringAlertName=alert["MonitoringAlertName"], DatapointsToAlert=2,
                                       EvaluationPeriod=3)
        received = settle(got, 2 + 2 + 3 + 2)

        def of(detail_type: str) -> list[dict[str, Any]]:
            return [e for e in received if e["detail-type"] == detail_type]

        assert [e["detail"]["EndpointStatus"] for e in of("SageMaker Endpoint State Change")] == [
            "CREATING", "IN_SERVICE"]
        assert [e["detail"]["ProcessingJobStatus"] for e in of("SageMaker Processing Job State Change")] == [
            "InProgress", "Failed"]
        execution = of("SageMaker Monitoring Execution State Change")
        assert [e["detail"]["MonitoringExecutionStatus"] for e in execution] == ["Pending", "InProgress", "Failed"]
        schedule_arn = client.describe_monitoring_schedule(MonitoringScheduleName="empty-now")["MonitoringScheduleArn"]
        assert execution[-1]["resources"] == [schedule_arn, run["ProcessingJobArn"]]
        assert execution[-1]["detail"]["FailureReason"] == run["FailureReason"]
        assert execution[-1]["detail"]["ScheduledTime"] == round(run["ScheduledTime"].timestamp() * 1000)
        assert execution[-1]["time"] == "2026-11-25T06:40:00Z"  # on the server's clock
        alarms = of("CloudWatch Alarm State Change")
        assert [(e["detail"]["state"]["value"], e["detail"]["previousState"]["value"]) for e in alarms] == [
            ("ALARM", "OK"), ("OK", "ALARM")]
        assert [e["detail"]["AlertStatus"] for e in alarms] == ["InAlert", "OK"]
        assert alarms[0]["source"] == "aws.cloudwatch" and alarms[0]["resources"][1] == schedule_arn
        assert alarms[0]["detail"]["alarmName"] == f"empty-now-{alert['MonitoringAlertName']}"
        assert (alarms[1]["detail"]["DatapointsToAlert"], alarms[1]["detail"]["EvaluationPeriod"]) == (2, 3)
        assert len({e["id"] for e in received}) == len(received) == 9
