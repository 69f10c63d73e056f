"""JSON `null` as SageMaker's JSON protocol reads it: an absent member.

AWS's JSON 1.1 services deserialize `{"MaxResults": null}` as if `MaxResults` were not sent, so a null never
reaches validation or an operation. A null list element or map value is dropped the same way (a list left too
short then fails its length constraint, as an empty one would). Stored documents are made from requests after
this, and the store strips again, so no code reading a document meets a null.
"""

from __future__ import annotations

from typing import Any

from clarimon.errors import SerializationException

MAX_DEPTH = 64  # as request validation: no SageMaker shape nests deeper, and recursion stays far from Python's limit


def without_nulls(value: Any, depth: int = 0) -> Any:
    """`value` with every null member, list element and map value removed, at every depth (a new object; the
    input is not changed). SerializationException past MAX_DEPTH levels."""
    if depth > MAX_DEPTH and isinstance(value, (dict, list)):
        raise SerializationException(f"The request nests deeper than {MAX_DEPTH} levels.")
    if isinstance(value, dict):
        return {k: without_nulls(v, depth + 1) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [without_nulls(v, depth + 1) for v in value if v is not None]
    return value
