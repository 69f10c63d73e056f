"""Opaque, tamper-evident NextToken values.

A token is the page's position plus a digest of what was asked (operation, account, region, filters),
signed with the database's secret: a forged token, or one from another listing, is a ValidationException.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

import orjson

from clarimon.errors import ValidationException

_SIGNATURE_BYTES = 16


def encode(secret: bytes, scope: dict[str, Any], position: Any) -> str:
    """A NextToken for `position` within the list `scope`: signed with `secret`, opaque to the client."""
    body = orjson.dumps({"s": _digest(scope), "p": position})
    signature = hmac.new(secret, body, hashlib.sha256).digest()[:_SIGNATURE_BYTES]
    return base64.urlsafe_b64encode(signature + body).decode().rstrip("=")


def decode(secret: bytes, token: str, scope: dict[str, Any]) -> Any:
    """The position a token carries; ValidationException when it was not issued for `scope`."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except ValueError:
        raise _invalid() from None
    signature, body = raw[:_SIGNATURE_BYTES], raw[_SIGNATURE_BYTES:]
    expected = hmac.new(secret, body, hashlib.sha256).digest()[:_SIGNATURE_BYTES]
    if not hmac.compare_digest(signature, expected):
        raise _invalid()
    content = orjson.loads(body)
    if content.get("s") != _digest(scope):
        raise _invalid()
    return content["p"]


def cursor(secret: bytes, token: str, scope: dict[str, Any]) -> tuple[Any, int]:
    """The (sort value, row id) a keyset page resumes after; ValidationException for a token not of `scope`."""
    position = decode(secret, token, scope)
    if not (isinstance(position, list) and len(position) == 2 and isinstance(position[1], int)):
        raise _invalid()
    return position[0], position[1]


def _digest(scope: dict[str, Any]) -> str:
    return hashlib.sha256(orjson.dumps(scope, option=orjson.OPT_SORT_KEYS)).hexdigest()[:32]


def _invalid() -> ValidationException:
    return ValidationException("The NextToken is not valid for this request.")
