import time
from datetime import UTC, datetime, timedelta

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from clarimon.api import signatures
from clarimon.errors import IncompleteSignatureException, InvalidSignatureException

HEADER = ("AWS4-HMAC-SHA256 Credential=AKIDALICE/20261201/eu-west-1/sagemaker/aws4_request, "
          "SignedHeaders=host;x-amz-date;x-amz-target, Signature=" + "ab" * 32)
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def signed(body: bytes, secret: str = "alice-secret", path: str = "/", query: str = "",
           extra: dict[str, str] | None = None) -> tuple[str, list[tuple[bytes, bytes]], str]:
    """A request as boto3 signs it (botocore's add_auth, at the real time): its Authorization, headers, date."""
    url = "http://127.0.0.1:8080" + path + (f"?{query}" if query else "")
    request = AWSRequest(method="POST", url=url, data=body,
                         headers={"X-Amz-Target": "SageMaker.ListModels", "Content-Type": "application/x-amz-json-1.1",
                                  **(extra or {})})
    SigV4Auth(Credentials("AKIDALICE", secret), "sagemaker", "eu-west-1").add_auth(request)
    headers = [(b"host", b"127.0.0.1:8080"),
               *((k.lower().encode(), v.encode()) for k, v in request.headers.items())]
    return request.headers["Authorization"], headers, request.headers["X-Amz-Date"]


def check(authorization: str, headers: list[tuple[bytes, bytes]], amz_date: str, body: bytes, *,
          secret: str = "alice-secret", path: str = "/", query: str = "") -> None:
    signatures.verify(signatures.parse(authorization), secret, method="POST", raw_path=path.encode(),
                      query=query.encode(), headers=headers, body=body, amz_date=amz_date)


def test_parse_reads_every_part() -> None:
    auth = signatures.parse(HEADER)
    assert (auth.key, auth.date, auth.region, auth.service) == ("AKIDALICE", "20261201", "eu-west-1", "sagemaker")
    assert auth.signed_headers == ("host", "x-amz-date", "x-amz-target")
    assert auth.signature == "ab" * 32


@pytest.mark.parametrize(("header", "says"), [
    ("Bearer token", "Unsupported AWS 'algorithm'"),
    ("AWS4-HMAC-SHA256 SignedHeaders=host, Signature=00", "requires 'Credential' parameter"),
    ("AWS4-HMAC-SHA256 Credential=A/20261201/eu-west-1/sagemaker/aws4_request, Signature=00",
     "requires 'SignedHeaders' parameter"),
    ("AWS4-HMAC-SHA256 Credential=A/20261201/eu-west-1/sagemaker/aws4_request, SignedHeaders=host",
     "requires 'Signature' parameter"),
    ("AWS4-HMAC-SHA256 Credential=short, SignedHeaders=host, Signature=00", "Credential should be of the form"),
    ("AWS4-HMAC-SHA256 Credential=A/20261201/eu-west-1/sagemaker/aws5_request, SignedHeaders=host, Signature=00",
     "valid terminator: 'aws4_request', not 'aws5_request'"),
])
def test_incomplete_headers_are_refused_naming_what_is_missing(header: str, says: str) -> None:
    with pytest.raises(IncompleteSignatureException, match=says):
        signatures.parse(header)


def test_a_huge_header_is_refused_at_once_and_parsing_is_linear() -> None:
    # Today's regex took seconds over 88 KB of "Credential=a/" repeats; the bound refuses it before reading.
    huge = "AWS4-HMAC-SHA256 " + "Credential=a/" * 7000
    started = time.perf_counter()
    with pytest.raises(IncompleteSignatureException, match="longer than 4096 bytes"):
        signatures.parse(huge)
    assert time.perf_counter() - started < 0.05
    # Within the bound, the worst shapes still parse in linear time.
    for shape in ("Credential=a/" * 300, "," * 4000, "=" * 4000, "/" * 4000):
        started = time.perf_counter()
        with pytest.raises(IncompleteSignatureException):
            signatures.parse("AWS4-HMAC-SHA256 " + shape)
        assert time.perf_counter() - started < 0.05


def test_messages_echo_at_most_a_bounded_part_of_the_header() -> None:
    with pytest.raises(IncompleteSignatureException) as caught:
        signatures.parse("AWS4-HMAC-SHA256 " + "x" * 4000)
    assert len(caught.value.message) < 400


def test_what_boto3_signs_verifies() -> None:
    body = b'{"MaxResults": 10}'
    authorization, headers, amz_date = signed(body)
    check(authorization, headers, amz_date, body)


def test_a_path_and_query_are_signed_as_received() -> None:
    body = b"1,2,3"
    authorization, headers, amz_date = signed(body, path="/endpoints/my-endpoint/invocations", query="b=2&a=1")
    check(authorization, headers, amz_date, body, path="/endpoints/my-endpoint/invocations", query="b=2&a=1")
    with pytest.raises(InvalidSignatureException):
        check(authorization, headers, amz_date, body, path="/endpoints/other/invocations", query="b=2&a=1")


@pytest.mark.parametrize("change", ["secret", "body", "header", "signature"])
def test_any_change_breaks_the_signature(change: str) -> None:
    body = b'{"MaxResults": 10}'
    authorization, headers, amz_date = signed(body)
    secret = "wrong" if change == "secret" else "alice-secret"
    if change == "body":
        body = b'{"MaxResults": 11}'
    if change == "header":
        headers = [(k, b"SageMaker.DeleteModel" if k == b"x-amz-target" else v) for k, v in headers]
    if change == "signature":
        authorization = authorization[:-1] + ("0" if authorization[-1] != "0" else "1")
    with pytest.raises(InvalidSignatureException, match="does not match the signature you provided"):
        check(authorization, headers, amz_date, body, secret=secret)


def test_a_body_hash_header_must_be_the_bodys() -> None:
    body = b"{}"
    authorization, headers, amz_date = signed(body, extra={"X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD"})
    with pytest.raises(InvalidSignatureException, match="x-amz-content-sha256"):
        check(authorization, headers, amz_date, body)


def test_time_and_scope_date() -> None:
    auth = signatures.parse(HEADER)
    stamp = "20261201T120000Z"
    _, when = signatures.timestamp(stamp, HEADER)
    signatures.check_time(auth, stamp, when, NOW + timedelta(minutes=14))
    with pytest.raises(InvalidSignatureException,
                       match=r"Signature expired: 20261201T120000Z is now earlier than 20261201T120100Z "
                             r"\(20261201T121600Z - 15 min.\)"):
        signatures.check_time(auth, stamp, when, NOW + timedelta(minutes=16))
    with pytest.raises(InvalidSignatureException, match="Signature not yet current"):
        signatures.check_time(auth, stamp, when, NOW - timedelta(minutes=16))
    with pytest.raises(InvalidSignatureException, match="Date in Credential scope does not match"):
        signatures.check_time(auth, "20261202T000000Z", when, NOW)
    for bad in (None, "", "2026-12-01T12:00:00Z", "2026121T12000Z", "x" * 5000):
        with pytest.raises(IncompleteSignatureException):
            signatures.timestamp(bad, HEADER)
