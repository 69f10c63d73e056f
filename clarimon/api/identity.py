"""Who is asking, and where: account and region from a request's SigV4 credential scope.

clarimon does not verify signatures (it holds no secrets); it reads the credential scope
``Credential=<access key>/<date>/<region>/<service>/aws4_request`` of the `Authorization` header.
"""

from __future__ import annotations

from dataclasses import dataclass

import regex

_CREDENTIAL = regex.compile(r"Credential=([^/,\s]+)/[^/,\s]*/([^/,\s]+)/[^/,\s]*/aws4_request")


@dataclass(frozen=True)
class Caller:
    """The account and region a request acts in."""

    account: str
    region: str


def identify(
    authorization: str | None, *, default_region: str, default_account: str, accounts: dict[str, str]
) -> Caller:
    """Caller of a request: region from the credential scope (else `default_region`), account from the
    access-key map (else `default_account`)."""
    if authorization:
        found = _CREDENTIAL.search(authorization)
        if found:
            key, region = found.group(1), found.group(2)
            return Caller(accounts.get(key, default_account), region)
    return Caller(default_account, default_region)
