import time
from datetime import UTC, datetime

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from clarimon.api.identity import Caller, Identities, Received, Regions
from clarimon.config import Credential
from clarimon.errors import (
    IncompleteSignatureException,
    InvalidSignatureException,
    MissingAuthenticationTokenException,
    UnrecognizedClientException,
)

HEADER = ("AWS4-HMAC-SHA256 Credential=AKIDALICE/20261125/eu-west-1/sagemaker/aws4_request, "
          "SignedHeaders=host;x-amz-date, Signature=abc")
REGIONS = Regions(["us-east-1", "eu-west-1", "ap-south-1", "test-*"])
CREDENTIALS = {"AKIDALICE": Credential("alice-secret", "111111111111"),
               "AKIDBOB": Credential("bob-secret", "222222222222")}


def anonymous(access_keys: dict[str, str] | None = None, region: str = "us-east-1") -> Identities:
    return Identities(credentials={}, regions=REGIONS, default_account="000000000000", default_region=region,
                      access_keys=access_keys or {})


def verifying(clock: float | None = None) -> Identities:
    return Identities(credentials=CREDENTIALS, regions=REGIONS, default_account="000000000000",
                      default_region="us-east-1", access_keys={}, clock=(lambda: clock) if clock else time.time)


def unsigned(authorization: str | None, amz_date: str | None = None) -> Received:
    return Received("POST", b"/", b"", [], authorization, amz_date)


def boto3_request(key: str, secret: str, region: str = "eu-west-1", service: str = "sagemaker",
                  body: bytes = b"{}") -> Received:
    request = AWSRequest(method="POST", url="http://127.0.0.1:8080/", data=body,
                         headers={"X-Amz-Target": "SageMaker.ListModels"})
    SigV4Auth(Credentials(key, secret), service, region).add_auth(request)
    headers = [(b"host", b"127.0.0.1:8080"), *((k.lower().encode(), v.encode()) for k, v in request.headers.items())]
    return Received("POST", b"/", b"", headers, request.headers["Authorization"], request.headers["X-Amz-Date"])


def test_anonymous_region_and_account_from_credential_scope() -> None:
    caller, signed = anonymous({"AKIDALICE": "111111111111"}).before_body(unsigned(HEADER))
    assert caller == Caller("111111111111", "eu-west-1") and signed is None  # AKIDALICE maps to its account


def test_anonymous_unmapped_key_gets_default_account() -> None:
    caller, _ = anonymous().before_body(unsigned(HEADER))
    assert (caller.account, caller.region) == ("000000000000", "eu-west-1")


def test_anonymous_missing_or_malformed_header_gets_defaults() -> None:
    for header in (None, "", "Bearer token", "AWS4-HMAC-SHA256 Credential=short", "x" * 100_000):
        caller, _ = anonymous(region="ap-south-1").before_body(unsigned(header))
        assert (caller.account, caller.region) == ("000000000000", "ap-south-1")


def test_anonymous_unknown_region_is_refused() -> None:
    with pytest.raises(InvalidSignatureException, match="Credential should be scoped to a valid region, not 'mars-1'"):
        anonymous().before_body(unsigned(HEADER.replace("eu-west-1", "mars-1")))


def test_regions_match_names_and_patterns() -> None:
    assert "eu-west-1" in REGIONS and "test-0123" in REGIONS
    assert "eu-west-9" not in REGIONS and "xtest-1" not in REGIONS and "" not in REGIONS


def test_verified_caller_is_the_keys_account_in_the_scope_region() -> None:
    identities = verifying()
    request = boto3_request("AKIDBOB", "bob-secret", body=b'{"a": 1}')
    caller, signed = identities.before_body(request)
    assert caller == Caller("222222222222", "eu-west-1")
    identities.after_body(request, signed, b'{"a": 1}')
    with pytest.raises(InvalidSignatureException):
        identities.after_body(request, signed, b'{"a": 2}')


def test_verifying_refusals() -> None:
    identities = verifying()
    with pytest.raises(MissingAuthenticationTokenException, match="Missing Authentication Token"):
        identities.before_body(unsigned(None))
    with pytest.raises(UnrecognizedClientException, match="The security token included in the request is invalid"):
        identities.before_body(boto3_request("AKIDNOBODY", "x"))
    with pytest.raises(IncompleteSignatureException):
        identities.before_body(unsigned("AWS4-HMAC-SHA256 Credential=AKIDALICE"))
    with pytest.raises(IncompleteSignatureException, match="X-Amz-Date"):
        identities.before_body(unsigned(HEADER))
    with pytest.raises(InvalidSignatureException, match="valid region, not 'mars-1'"):
        identities.before_body(boto3_request("AKIDALICE", "alice-secret", region="mars-1"))
    with pytest.raises(InvalidSignatureException, match="correct service: 'sagemaker'"):
        identities.before_body(boto3_request("AKIDALICE", "alice-secret", service="s3"))
    wrong = boto3_request("AKIDALICE", "bob-secret")
    _, signed = identities.before_body(wrong)  # the secret only shows once the signature is checked
    with pytest.raises(InvalidSignatureException, match="does not match"):
        identities.after_body(wrong, signed, b"{}")


def test_a_signature_from_twenty_minutes_ago_has_expired() -> None:
    request = boto3_request("AKIDALICE", "alice-secret")
    later = time.time() + 20 * 60
    with pytest.raises(InvalidSignatureException, match="Signature expired"):
        verifying(clock=later).before_body(request)
    when = datetime.strptime(request.amz_date or "", "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC).timestamp()
    verifying(clock=when + 14 * 60).before_body(request)


def test_each_route_checks_the_service_its_requests_are_signed_for() -> None:
    identities = verifying()
    for_logs = boto3_request("AKIDALICE", "alice-secret", service="logs")
    caller, signed = identities.before_body(for_logs, "logs")
    identities.after_body(for_logs, signed, b"{}")
    assert caller == Caller("111111111111", "eu-west-1")
    with pytest.raises(InvalidSignatureException, match="Credential should be scoped to correct service: 'logs'"):
        identities.before_body(boto3_request("AKIDALICE", "alice-secret"), "logs")
    with pytest.raises(InvalidSignatureException, match="scoped to correct service: 'sagemaker'"):
        identities.before_body(for_logs)
