"""`s3://bucket/key` on an S3-compatible server (MinIO, Ceph, AWS itself), through boto3.

Credentials and region come from the usual AWS variables and files, as for any boto3 client.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
import botocore.exceptions

from clarimon.objects.local import ObjectError, split


class S3Objects:
    """`s3://` URIs on an S3-compatible store (boto3; `endpoint_url` None: AWS itself)."""

    def __init__(self, endpoint_url: str | None, client: Any = None) -> None:
        self.endpoint_url = endpoint_url
        self.client = client or boto3.client("s3", endpoint_url=endpoint_url)

    def read(self, uri: str) -> bytes:
        """The object's bytes; ObjectError when it cannot be read."""
        bucket, key = split(uri)
        with _failures(uri, "cannot read"):
            body: bytes = self.client.get_object(Bucket=bucket, Key=key)["Body"].read()
        return body

    def size(self, uri: str) -> int:
        """The object's size in bytes (a HEAD request); ObjectError when it cannot be read."""
        bucket, key = split(uri)
        with _failures(uri, "cannot read"):
            size: int = self.client.head_object(Bucket=bucket, Key=key)["ContentLength"]
        return size

    def list(self, prefix: str) -> list[str]:
        """The URIs of the objects under `prefix`, sorted."""
        bucket, key = split(prefix, prefix=True)
        found: list[str] = []
        with _failures(prefix, "cannot list"):
            for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=key):
                found.extend(f"s3://{bucket}/{item['Key']}" for item in page.get("Contents", []))
        return sorted(found)

    def write(self, uri: str, data: bytes) -> None:
        """Put the object in one request."""
        bucket, key = split(uri)
        with _failures(uri, "cannot write"):
            self.client.put_object(Bucket=bucket, Key=key, Body=data)  # one PUT: the object appears whole

    def move_in(self, uri: str, path: Path) -> None:
        """Put the file's bytes in one request, then remove the file."""
        self.write(uri, path.read_bytes())
        path.unlink()


@contextmanager
def _failures(uri: str, doing: str) -> Iterator[None]:
    """The store's errors as ObjectError naming the URI and S3's code: never the store's own address, which the
    caller of a job or endpoint has no business knowing (an unreachable store is said to be so)."""
    try:
        yield
    except botocore.exceptions.ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        raise ObjectError(f"{uri[:256]}: {code or doing}") from None
    except botocore.exceptions.BotoCoreError as error:
        raise ObjectError(f"{uri[:256]}: {doing}: the object store cannot be reached ({type(error).__name__})") \
            from None
