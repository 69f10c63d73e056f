"""The host's deployments, and requests held (bounded) for an endpoint that is reloading."""

from __future__ import annotations

import threading
import time

from clarimon.serving.host import Deployment, Host

ARN = "arn:aws:sagemaker:us-east-1:000000000000:endpoint/churn"


def test_a_request_for_an_expected_endpoint_waits_for_its_deployment() -> None:
    host = Host()
    host.expect(ARN)
    deployment = Deployment([])
    threading.Timer(0.2, host.put, (ARN, deployment)).start()
    started = time.monotonic()
    assert host.wait(ARN, 10) is deployment
    assert 0.1 < time.monotonic() - started < 5


def test_the_wait_is_bounded_and_ends_when_the_deployment_is_abandoned() -> None:
    host = Host()
    assert host.wait(ARN, 10) is None  # not expected: no wait at all
    host.expect(ARN)
    started = time.monotonic()
    assert host.wait(ARN, 0.2) is None
    assert time.monotonic() - started >= 0.2
    threading.Timer(0.1, host.abandon, (ARN,)).start()
    started = time.monotonic()
    assert host.wait(ARN, 10) is None
    assert time.monotonic() - started < 5
