"""Signature Version 4: the `Authorization` header read in linear time, and a received request's signature
checked by recomputing it with botocore's own signer.

The expected signature is what `botocore.auth.SigV4Auth` computes for an `AWSRequest` rebuilt from the received
method, raw path, raw query, the headers the client says it signed and the body: the canonical request is
botocore's, not a copy of it, so that what boto3 signs is what is checked.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from clarimon.errors import IncompleteSignatureException, InvalidSignatureException

ALGORITHM = "AWS4-HMAC-SHA256"
MAX_AUTHORIZATION_BYTES = 4096  # a real header is ~250 bytes; past this it is refused before any parsing
MAX_SKEW = timedelta(minutes=15)
TIMESTAMP = "%Y%m%dT%H%M%SZ"
_ECHO = 120  # AWS echoes the header in IncompleteSignature messages; clarimon echoes at most this much of it


@dataclass(frozen=True)
class Authorization:
    """The parts of an `AWS4-HMAC-SHA256 Credential=<key>/<date>/<region>/<service>/aws4_request,
    SignedHeaders=<a;b>, Signature=<hex>` header."""

    key: str
    date: str
    region: str
    service: str
    signed_headers: tuple[str, ...]
    signature: str


def parse(header: str) -> Authorization:
    """The parts of an `Authorization` header; IncompleteSignatureException naming what is missing.

    One pass of `str.split` over a header bounded by MAX_AUTHORIZATION_BYTES: linear, whatever the input.
    """
    if len(header) > MAX_AUTHORIZATION_BYTES:
        raise IncompleteSignatureException(
            f"The Authorization header is longer than {MAX_AUTHORIZATION_BYTES} bytes.")
    algorithm, _, rest = header.strip().partition(" ")
    if algorithm != ALGORITHM:
        raise IncompleteSignatureException(
            f"Unsupported AWS 'algorithm': '{echo(algorithm)}'. Only {ALGORITHM} is accepted.")
    fields: dict[str, str] = {}
    for part in rest.split(","):
        name, sep, value = part.strip().partition("=")
        if sep:
            fields.setdefault(name, value.strip())
    missing = [f"Authorization header requires '{name}' parameter."
               for name in ("Credential", "Signature", "SignedHeaders") if not fields.get(name)]
    if missing:
        raise IncompleteSignatureException(" ".join(missing) + f" Authorization={echo(header)}")
    scope = fields["Credential"].split("/")
    if len(scope) != 5 or not all(scope):
        raise IncompleteSignatureException(
            "Credential should be of the form <access key>/<date>/<region>/<service>/aws4_request, not "
            f"'{echo(fields['Credential'])}'.")
    key, date, region, service, terminator = scope
    if terminator != "aws4_request":
        # AWS's wording for a wrong terminator.
        raise IncompleteSignatureException(
            f"Credential should be scoped with a valid terminator: 'aws4_request', not '{echo(terminator)}'.")
    signed = tuple(fields["SignedHeaders"].split(";"))
    return Authorization(key, date, region, service, signed, fields["Signature"])


def timestamp(value: str | None, header: str) -> tuple[str, datetime]:
    """The request's `X-Amz-Date`, and as a UTC datetime; IncompleteSignatureException when absent or
    malformed."""
    if not value:
        raise IncompleteSignatureException(
            f"Authorization header requires existence of a 'X-Amz-Date' header. Authorization={echo(header)}")
    try:
        if len(value) != len("20261201T000000Z"):  # strptime would take one-digit months and days
            raise ValueError(value)
        return value, datetime.strptime(value, TIMESTAMP).replace(tzinfo=UTC)
    except ValueError:
        raise IncompleteSignatureException(
            f"Date must be in ISO-8601 'basic format'. Got '{echo(value)}'. See http://en.wikipedia.org/wiki/ISO_8601"
        ) from None


def check_time(auth: Authorization, amz_date: str, when: datetime, now: datetime) -> None:
    """The scope's date is the request's date, and the request is within 15 minutes of `now` (AWS's words)."""
    if auth.date != amz_date[:8]:
        raise InvalidSignatureException(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: "
            f"'{echo(auth.date)}' != '{amz_date[:8]}', from '{amz_date}'.")
    if when < now - MAX_SKEW:
        raise InvalidSignatureException(
            f"Signature expired: {amz_date} is now earlier than {(now - MAX_SKEW).strftime(TIMESTAMP)} "
            f"({now.strftime(TIMESTAMP)} - 15 min.)")
    if when > now + MAX_SKEW:
        raise InvalidSignatureException(
            f"Signature not yet current: {amz_date} is still later than {(now + MAX_SKEW).strftime(TIMESTAMP)} "
            f"({now.strftime(TIMESTAMP)} + 15 min.)")


def verify(auth: Authorization, secret: str, *, method: str, raw_path: bytes, query: bytes,
           headers: Iterable[tuple[bytes, bytes]], body: bytes, amz_date: str) -> None:
    """InvalidSignatureException unless `auth.signature` is the signature of this request under `secret`."""
    digest = hashlib.sha256(body).hexdigest()
    signed = set(auth.signed_headers)
    kept = [(name.decode("latin-1").lower(), value.decode("latin-1")) for name, value in headers]
    kept = [(name, value) for name, value in kept if name in signed]
    for name, value in kept:
        # A client may send the body's hash (S3 style); it is signed, so it has to be the body's.
        if name == "x-amz-content-sha256" and value != digest:
            raise InvalidSignatureException(
                "The provided 'x-amz-content-sha256' header does not match what was computed.")
    host = next((value for name, value in kept if name == "host"), "localhost")
    url = f"http://{host}{raw_path.decode('latin-1')}"
    if query:
        url += "?" + query.decode("latin-1")
    request = AWSRequest(method=method, url=url, data=body)
    for name, value in kept:
        request.headers[name] = value  # HTTPHeaders adds: a repeated header stays repeated, as it was signed
    request.context["timestamp"] = amz_date
    signer = SigV4Auth(Credentials(auth.key, secret), auth.service, auth.region)
    expected = signer.signature(signer.string_to_sign(request, signer.canonical_request(request)), request)
    if not hmac.compare_digest(expected.encode(), auth.signature.encode("latin-1")):
        raise InvalidSignatureException(
            "The request signature we calculated does not match the signature you provided. Check your AWS Secret "
            "Access Key and signing method. Consult the service documentation for details.")


def echo(text: str) -> str:
    """`text`, cut to what an error message may echo of it."""
    return text if len(text) <= _ECHO else text[:_ECHO] + "..."
