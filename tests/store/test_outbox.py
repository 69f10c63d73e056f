"""The outbox: a status change writes its event in the same transaction (and not otherwise), events are claimed
by one sender at a time, and a dead sender's claims are taken back."""

from __future__ import annotations

import time

import pytest

from clarimon.store import Store, executions, outbox, resources

ACCOUNT, REGION = "000000000000", "us-east-1"
JOB = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:processing-job/job"


def add_job(store: Store, status: str = "InProgress", kind: str = "processing-job", arn: str = JOB) -> None:
    with store.transaction() as conn:
        resources.insert(conn, kind=kind, account=ACCOUNT, region=REGION, name=arn.rsplit("/", 1)[1], arn=arn,
                         now=1.0, document={"RoleArn": "r"}, tags=[{"Key": "team", "Value": "ml"}], status=status)


def events(store: Store) -> list[outbox.Event]:
    with store.reading() as conn:
        return outbox.oldest(conn)


def test_nothing_is_recorded_unless_the_store_notifies(store: Store) -> None:
    add_job(store)
    with store.transaction() as conn:
        resources.update(conn, JOB, 2.0, status="Completed")
    with store.reading() as conn:
        assert outbox.pending(conn) == 0


def test_a_status_change_is_an_event_with_the_resource_as_it_became(store: Store) -> None:
    store.notifying = True
    add_job(store)
    with store.transaction() as conn:
        resources.update(conn, JOB, 2.0, document={"RoleArn": "r2"})  # no status: no event
        resources.update(conn, JOB, 3.0, status="InProgress")  # the same status: no event
        resources.update(conn, JOB, 4.0, status="Completed", document={"RoleArn": "r3"})
    created, completed = events(store)
    assert (created.status, created.previous_status, created.time) == ("InProgress", None, 1.0)
    assert (completed.status, completed.previous_status, completed.time) == ("Completed", "InProgress", 4.0)
    assert completed.snapshot["document"] == {"RoleArn": "r3"} and completed.snapshot["status"] == "Completed"
    assert completed.kind == "processing-job" and completed.resource == JOB
    assert created.event_id != completed.event_id


def test_kinds_without_events_record_none(store: Store) -> None:
    store.notifying = True
    schedule = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:monitoring-schedule/s"
    add_job(store, status="Scheduled", kind="monitoring-schedule", arn=schedule)
    with store.transaction() as conn:
        resources.update(conn, schedule, 2.0, status="Stopped")
        assert outbox.pending(conn) == 0


def test_a_rolled_back_change_leaves_no_event(store: Store) -> None:
    store.notifying = True
    add_job(store)
    with pytest.raises(RuntimeError), store.transaction() as conn:
        resources.update(conn, JOB, 2.0, status="Failed")
        raise RuntimeError("the transaction fails after the change")
    assert [e.status for e in events(store)] == ["InProgress"]


def test_execution_changes_are_events(store: Store) -> None:
    store.notifying = True
    common = {"account": ACCOUNT, "region": REGION, "endpoint_name": "ep", "job_definition_name": "jd",
              "monitoring_type": "ModelExplainability"}
    with store.transaction() as conn:
        executions.insert(conn, schedule_name="s", scheduled_time=3600.0, now=5.0, status="Pending",
                          processing_job_arn=JOB, **common)
        executions.insert(conn, schedule_name="s", scheduled_time=0.0, now=5.0, status="Failed",
                          failure_reason="Missed", **common)
        executions.set_status(conn, JOB, 6.0, "InProgress")
        executions.set_status(conn, JOB, 7.0, "InProgress")
        executions.set_status(conn, JOB, 8.0, "CompletedWithViolations")
    found = [(e.kind, e.status, e.previous_status, e.snapshot["scheduled_time"]) for e in events(store)]
    assert found == [("execution", "Pending", None, 3600.0), ("execution", "Failed", None, 0.0),
                     ("execution", "InProgress", "Pending", 3600.0),
                     ("execution", "CompletedWithViolations", "InProgress", 3600.0)]


def test_an_event_is_claimed_by_one_sender_until_its_claim_runs_out(store: Store) -> None:
    store.notifying = True
    add_job(store)
    now = time.time() + 1
    with store.transaction() as conn:
        first = outbox.claim(conn, "a", now, 30.0, 10)
    with store.transaction() as conn:
        assert outbox.claim(conn, "b", now, 30.0, 10) == []
        assert not outbox.any_due(conn, now)
    with store.transaction() as conn:  # a's claim ran out: b may send it
        assert [e.id for e in outbox.claim(conn, "b", now + 31, 30.0, 10)] == [first[0].id]


def test_a_failed_delivery_is_due_again_later_and_remembers_who_has_it(store: Store) -> None:
    store.notifying = True
    add_job(store)
    now = time.time() + 1
    with store.transaction() as conn:
        (event,) = outbox.claim(conn, "a", now, 30.0, 10)
        outbox.retry(conn, event.id, "a", at=now + 100, delivered_to=("http://one",), error="HTTP 500")
    with store.transaction() as conn:
        assert outbox.claim(conn, "a", now + 50, 30.0, 10) == []
        (again,) = outbox.claim(conn, "a", now + 100, 30.0, 10)
        assert (again.attempts, again.delivered_to) == (1, ("http://one",))
        outbox.delivered(conn, again.id)
        assert outbox.pending(conn) == 0


def test_a_dead_senders_claims_are_taken_back(store: Store) -> None:
    store.notifying = True
    add_job(store)
    now = time.time() + 1
    with store.transaction() as conn:
        outbox.claim(conn, "dead", now, 3600.0, 10)
    with store.transaction() as conn:
        assert outbox.release_gone(conn, lambda owner: owner == "alive") == 0
        assert outbox.release_gone(conn, lambda owner: owner == "dead") == 1
        assert len(outbox.claim(conn, "alive", now, 30.0, 10)) == 1
