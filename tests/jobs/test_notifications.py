"""Sending the outbox: each event once to each receiver, signed; retried with backoff while a receiver refuses,
without sending it again to the ones that have it; two senders on one database send each event once. The
README's verification snippet accepts what clarimon signs and refuses anything else."""

from __future__ import annotations

import hashlib
import hmac
import random
import re
import time
from pathlib import Path
from typing import Any

from clarimon.config import Secret
from clarimon.control import processing_jobs
from clarimon.control.context import Context
from clarimon.jobs import notifications
from clarimon.jobs.notifications import Sender, backoff, signature
from clarimon.store import Store, outbox
from clarimon.store.tables import outbox as outbox_table
from tests.documents import clarify_job
from tests.receivers import receiver

README = Path(__file__).resolve().parents[2] / "README.md"


def make_jobs(ctx: Context, count: int) -> None:
    """`count` processing jobs created Failed (an image clarimon does not run): an event each."""
    for i in range(count):
        job = clarify_job(f"job-{i}")
        job["AppSpecification"] = {"ImageUri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/other:1"}
        processing_jobs.create(ctx, job)


def pending(store: Store) -> int:
    with store.reading() as conn:
        return outbox.pending(conn)


def test_the_signature_is_the_hmac_of_timestamp_and_body() -> None:
    body = b'{"id": "x"}'
    expected = hmac.new(b"s3cret", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert signature("s3cret", "1700000000", body) == f"sha256={expected}"
    assert signature("s3cret", "1700000001", body) != signature("s3cret", "1700000000", body)


def test_backoff_doubles_up_to_its_ceiling() -> None:
    rng = random.Random(1)
    delays = [backoff(n, rng) for n in range(1, 15)]
    assert 0.8 <= delays[0] <= 1.2 and 1.6 <= delays[1] <= 2.4 and 3.2 <= delays[2] <= 4.8
    assert all(delay <= notifications.MAX_RETRY_SECONDS * 1.2 for delay in delays)
    assert delays[-1] >= notifications.MAX_RETRY_SECONDS * 0.8


def test_each_receiver_gets_each_event_once_signed(ctx: Context) -> None:
    ctx.store.notifying = True
    make_jobs(ctx, 3)
    with receiver() as one, receiver() as two:
        sender = Sender(ctx.store, (one.url, two.url), Secret("s3cret"))
        try:
            assert sender.send_due() == 3
            assert sender.send_due() == 0
        finally:
            sender.close()
        assert sorted(e["detail"]["ProcessingJobName"] for e in one.events()) == ["job-0", "job-1", "job-2"]
        assert sorted(one.ids()) == sorted(two.ids()) and len(set(one.ids())) == 3
        for received in one.accepted:
            stamp = received.headers[notifications.TIMESTAMP_HEADER]
            assert abs(int(stamp) - time.time()) < 60
            assert received.headers[notifications.SIGNATURE_HEADER] == signature("s3cret", stamp, received.body)
            assert received.headers[notifications.EVENT_HEADER] == received.event["id"]
            assert received.headers["Content-Type"] == "application/json"
    assert pending(ctx.store) == 0


def test_a_refusing_receiver_gets_it_later_and_the_others_only_once(ctx: Context) -> None:
    ctx.store.notifying = True
    make_jobs(ctx, 1)
    with receiver() as steady, receiver() as flaky:
        flaky.refusing = True
        sender = Sender(ctx.store, (steady.url, flaky.url), None)
        try:
            assert sender.send_due() == 0
            assert flaky.refused == 1 and len(steady.accepted) == 1
            assert sender.send_due() == 0  # backing off: not due yet
            assert flaky.refused == 1
            with ctx.store.reading() as conn:
                (row,) = outbox.oldest(conn)
            assert row.attempts == 1 and row.delivered_to == (notifications.receiver_key(steady.url),)
            assert steady.url not in str(row)  # the outbox keeps no receiver's URL (a token may be in it)
            flaky.refusing = False
            time.sleep(max(0.0, row.next_attempt - time.time()) + 0.05)
            assert sender.send_due() == 1
        finally:
            sender.close()
        assert len(steady.accepted) == 1 and len(flaky.accepted) == 1
        assert "x-clarimon-signature" not in {k.lower() for k in flaky.accepted[0].headers}  # no secret given
    assert pending(ctx.store) == 0


def test_an_unreachable_receiver_is_retried_not_lost(ctx: Context) -> None:
    ctx.store.notifying = True
    make_jobs(ctx, 1)
    with receiver() as gone:
        url = gone.url
    sender = Sender(ctx.store, (url,), None, timeout=2.0)
    try:
        assert sender.send_due() == 0
    finally:
        sender.close()
    with ctx.store.reading() as conn:
        (row,) = outbox.oldest(conn)
    assert row.attempts == 1 and row.delivered_to == ()


def test_two_senders_on_one_database_send_each_event_once(ctx: Context) -> None:
    ctx.store.notifying = True
    make_jobs(ctx, 20)
    with receiver() as got:
        first = Sender(ctx.store, (got.url,), None, batch=3, interval=0.01)
        second = Sender(ctx.store, (got.url,), None, batch=3, interval=0.01)
        first.start()
        second.start()
        try:
            deadline = time.monotonic() + 30
            while pending(ctx.store) and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            first.close()
            second.close()
        ids = got.ids()
        assert len(ids) == 20 and len(set(ids)) == 20
    assert pending(ctx.store) == 0


def readme_verifier() -> Any:
    """The README's verification snippet, run as written: its `verify` function."""
    block = re.search(r"<!-- verify-snippet -->\s*```python\n(.*?)```", README.read_text(), re.S)
    assert block is not None, "README.md has no verification snippet"
    namespace: dict[str, Any] = {}
    exec(compile(block.group(1), "README.md", "exec"), namespace)
    return namespace["verify"]


def test_the_readme_snippet_verifies_what_clarimon_signs() -> None:
    verify = readme_verifier()
    body = b'{"version": "0", "id": "e"}'
    stamp = str(int(time.time()))
    headers = {"X-Clarimon-Timestamp": stamp, "X-Clarimon-Signature": signature("s3cret", stamp, body)}
    assert verify(body, headers, "s3cret") is True
    assert verify(body + b" ", headers, "s3cret") is False  # altered body
    assert verify(body, headers, "other") is False  # another secret
    old = str(int(time.time()) - 3600)  # a replay of an hour-old delivery
    assert verify(body, {"X-Clarimon-Timestamp": old, "X-Clarimon-Signature": signature("s3cret", old, body)},
                  "s3cret") is False
    assert verify(body, {}, "s3cret") is False


def test_a_sender_whose_claim_runs_out_leaves_the_event_for_the_next_round(ctx: Context) -> None:
    """No POST starts unless the claim outlasts it (another server could take the event meanwhile); what is
    left is due again at once, with no attempt counted."""
    ctx.store.notifying = True
    make_jobs(ctx, 1)
    with receiver() as got:
        hurried = Sender(ctx.store, (got.url,), None, lease_seconds=0.0, timeout=0.5)  # a claim of 1.5 s
        try:
            assert hurried.send_due() == 0
        finally:
            hurried.close()
        assert got.accepted == []
        with ctx.store.reading() as conn:
            (row,) = outbox.oldest(conn)
            assert row.attempts == 0 and outbox.any_due(conn, time.time())
        patient = Sender(ctx.store, (got.url,), None)
        try:
            assert patient.send_due() == 1
        finally:
            patient.close()
        assert len(got.accepted) == 1


def test_a_receivers_url_shows_in_logs_without_its_secrets() -> None:
    assert notifications.shown("https://user:pw@hooks.example:8443/in?token=abc") == "https://hooks.example:8443/in"
    assert notifications.shown("http://127.0.0.1/events") == "http://127.0.0.1/events"
    assert notifications.shown("http://[::1]:9000/e#x") == "http://[::1]:9000/e"


def test_an_event_that_cannot_be_made_is_retried_and_keeps_no_other_back(ctx: Context) -> None:
    ctx.store.notifying = True
    with ctx.store.transaction() as conn:
        outbox.record(conn, kind="bogus", account="000000000000", region="us-east-1", resource="r", status="S",
                      previous_status=None, time=1.0, snapshot={})
    make_jobs(ctx, 1)
    with receiver() as got:
        sender = Sender(ctx.store, (got.url,), None)
        try:
            assert sender.send_due() == 1  # the job's event
        finally:
            sender.close()
        assert [e["detail"]["ProcessingJobName"] for e in got.events()] == ["job-0"]
    with ctx.store.reading() as conn:
        (bogus,) = outbox.oldest(conn)
    assert bogus.kind == "bogus" and bogus.attempts == 1


def test_an_event_is_dropped_after_its_last_attempt(ctx: Context) -> None:
    ctx.store.notifying = True
    make_jobs(ctx, 1)
    with ctx.store.transaction() as conn:
        conn.execute(outbox_table.update().values(attempts=notifications.MAX_ATTEMPTS - 1))
    with receiver() as got:
        got.refusing = True
        sender = Sender(ctx.store, (got.url,), None)
        try:
            assert sender.send_due() == 0
        finally:
            sender.close()
        assert got.refused == 1
    assert pending(ctx.store) == 0
