"""Buckets belong to accounts: every `s3://` URI in a create request must be in a bucket of the caller's account.

A bucket is owned by the account `--bucket-owners` names, else by the first account that uses it in a create
(claimed in that create's transaction, so a refused create claims nothing). Another account naming it gets
AccessDeniedException at create time, not a failure when a job later reads or writes there.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import regex
from sqlalchemy.engine import Connection

from clarimon.control.context import Context, Request
from clarimon.errors import AccessDeniedException, ValidationException
from clarimon.store import buckets

SCHEME = "s3://"
# S3's bucket names are 3-63 lower-case letters, digits, '.' and '-'; clarimon's local store has taken upper case and
# '_' too, so those stay, but nothing longer or stranger reaches the owners table.
BUCKET = regex.compile(r"[A-Za-z0-9._-]{1,63}")


def uris(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """Every `s3://` string in a request document (tags aside: they are labels, not locations), with its path."""
    if isinstance(value, str):
        if value.startswith(SCHEME):
            yield path, value
    elif isinstance(value, dict):
        for key, member in value.items():
            if not (path == "" and key == "Tags"):
                yield from uris(member, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, member in enumerate(value):
            yield from uris(member, f"{path}[{index}]")


def bucket_of(uri: str) -> str:
    """The bucket of an `s3://bucket/key` URI."""
    return uri[len(SCHEME):].split("/", 1)[0]


def check(ctx: Context, conn: Connection, request: Request) -> None:
    """AccessDeniedException unless every bucket the request names is the caller's; unowned ones are claimed for
    it (inside the create's transaction `conn`)."""
    configured = ctx.settings.bucket_owners
    for path, uri in uris(request):
        bucket = bucket_of(uri)
        if not BUCKET.fullmatch(bucket):
            raise ValidationException(f"{path} {uri[:256]!r} does not name a valid bucket.")
        owner = configured.get(bucket)
        if owner is None:
            ctx.store.lock(conn, "bucket", bucket)
            owner = buckets.owner(conn, bucket)
            if owner is None:
                buckets.claim(conn, bucket, ctx.account, ctx.now())
                owner = ctx.account
        if owner != ctx.account:
            # S3's "Access Denied", as SageMaker's AccessDeniedException; the owner is not named.
            raise AccessDeniedException(
                f"Access Denied: {path} {uri[:256]!r} is in bucket {bucket!r}, which belongs to another account.")
