"""The wire shape: error bodies (the one renderer, for JSON 1.1 and the runtime alike), and responses cut to the
operation's output shape."""

from __future__ import annotations

from typing import Any

from botocore.model import ListShape, MapShape, Shape, StructureShape

from clarimon.errors import ServiceError

CONTENT_TYPE = "application/x-amz-json-1.1"


def error_body(error: ServiceError) -> dict[str, object]:
    """The error's body: botocore reads the code from `__type` and the text from `message`; the runtime's
    ModelError adds its OriginalStatusCode and OriginalMessage."""
    return {"__type": error.code, "message": error.message, **error.fields}


def project(shape: Shape | None, value: Any) -> Any:
    """`value` with only the members `shape` has, at every depth (stored documents may hold more)."""
    if shape is None:
        return {}
    if isinstance(shape, StructureShape):
        return {k: project(shape.members[k], v) for k, v in value.items() if k in shape.members and v is not None}
    if isinstance(shape, ListShape):
        return [project(shape.member, v) for v in value]
    if isinstance(shape, MapShape):
        return {k: project(shape.value, v) for k, v in value.items()}
    return value
