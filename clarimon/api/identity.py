"""Who is asking, and where: the account and region a request acts in.

With credentials configured (access key id -> secret and account), every request must carry a valid Signature
Version 4 (`signatures.verify`); the account is the key's, the region the credential scope's. Without them
(anonymous mode: a loopback bind, or `--allow-anonymous`), the credential scope is read but not checked: the
region comes from it and the account from the `--access-keys` map, else the defaults. In both modes, only the
configured regions are served.
"""

from __future__ import annotations

import fnmatch
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from clarimon.api import signatures
from clarimon.config import Credential
from clarimon.errors import (
    IncompleteSignatureException,
    InvalidSignatureException,
    MissingAuthenticationTokenException,
    UnrecognizedClientException,
)

# What boto3 signs SageMaker and sagemaker-runtime requests with: both models' `signingName` is "sagemaker"
# (CloudWatch Logs requests are signed for "logs": the caller of `before_body` says which service it serves).
SIGNING_SERVICE = "sagemaker"


@dataclass(frozen=True)
class Caller:
    """The account and region a request acts in."""

    account: str
    region: str


class Regions:
    """The regions served: names, and patterns ending in `*` (`test-*`) that match by prefix."""

    def __init__(self, names: Iterable[str]) -> None:
        self.names = tuple(names)
        self._exact = frozenset(name for name in self.names if "*" not in name)
        self._patterns = tuple(name for name in self.names if "*" in name)

    def __contains__(self, region: object) -> bool:
        if not isinstance(region, str):
            return False
        return region in self._exact or any(fnmatch.fnmatchcase(region, p) for p in self._patterns)


@dataclass(frozen=True)
class Received:
    """What of an HTTP request its signature covers."""

    method: str
    raw_path: bytes
    query: bytes
    headers: Iterable[tuple[bytes, bytes]]
    authorization: str | None
    amz_date: str | None


@dataclass(frozen=True)
class Signed:
    """A request's signature, still to be checked against its body."""

    auth: signatures.Authorization
    amz_date: str
    secret: str


class Identities:
    """The server's rule for callers: verified signatures when it has credentials, else anonymous callers."""

    def __init__(
        self,
        *,
        credentials: Mapping[str, Credential],
        regions: Regions,
        default_account: str,
        default_region: str,
        access_keys: Mapping[str, str],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.credentials = dict(credentials)
        self.regions = regions
        self.default_account = default_account
        self.default_region = default_region
        self.access_keys = dict(access_keys)
        self.clock = clock  # real time, never the scheduling clock file: signatures carry the client's real time

    @property
    def anonymous(self) -> bool:
        """True when requests are not verified (no credentials configured)."""
        return not self.credentials

    def before_body(self, request: Received, service: str = SIGNING_SERVICE) -> tuple[Caller, Signed | None]:
        """The caller, checked as far as it can be without the body (header, key, time, scope: signed for
        `service`); with what `after_body` verifies the signature against (None in anonymous mode)."""
        if self.anonymous:
            return self._anonymous(request.authorization), None
        if not request.authorization:
            raise MissingAuthenticationTokenException("Missing Authentication Token")
        auth = signatures.parse(request.authorization)
        credential = self.credentials.get(auth.key)
        if credential is None:
            raise UnrecognizedClientException("The security token included in the request is invalid.")
        amz_date, when = signatures.timestamp(request.amz_date, request.authorization)
        signatures.check_time(auth, amz_date, when, datetime.fromtimestamp(self.clock(), UTC))
        if auth.service != service:
            raise InvalidSignatureException(f"Credential should be scoped to correct service: '{service}'.")
        self._served(auth.region)
        return Caller(credential.account, auth.region), Signed(auth, amz_date, credential.secret)

    def after_body(self, request: Received, signed: Signed | None, body: bytes) -> None:
        """InvalidSignatureException unless the request, body included, carries the signature it claims."""
        if signed is not None:
            signatures.verify(signed.auth, signed.secret, method=request.method, raw_path=request.raw_path,
                              query=request.query, headers=request.headers, body=body, amz_date=signed.amz_date)

    def _anonymous(self, authorization: str | None) -> Caller:
        if not authorization:
            return Caller(self.default_account, self.default_region)
        try:
            auth = signatures.parse(authorization)
        except IncompleteSignatureException:
            return Caller(self.default_account, self.default_region)
        self._served(auth.region)
        return Caller(self.access_keys.get(auth.key, self.default_account), auth.region)

    def _served(self, region: str) -> None:
        if region not in self.regions:
            # AWS's answer for a credential scoped to a region the endpoint does not serve.
            raise InvalidSignatureException(
                f"Credential should be scoped to a valid region, not '{signatures.echo(region)}'.")
