"""Service errors, each carrying its AWS error code and HTTP status.

Every layer raises these; `clarimon.api.wire` is the one place that renders them.
"""

from __future__ import annotations


class ServiceError(Exception):
    """An error the client sees as an AWS error response."""

    code = "InternalFailure"
    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ValidationException(ServiceError):
    code = "ValidationException"


class ResourceInUse(ServiceError):
    code = "ResourceInUse"


class ResourceNotFound(ServiceError):
    code = "ResourceNotFound"


class ResourceLimitExceeded(ServiceError):
    code = "ResourceLimitExceeded"


class SerializationException(ServiceError):
    code = "SerializationException"


class UnknownOperationException(ServiceError):
    code = "UnknownOperationException"


class InternalFailure(ServiceError):
    code = "InternalFailure"
    status = 500


class RequestTimeout(ServiceError):
    """The client did not send its whole request in time."""

    code = "RequestTimeout"
    status = 408


class ServiceUnavailable(ServiceError):
    """A dependency (the database) is down; retryable, as AWS answers it."""

    code = "ServiceUnavailable"
    status = 503
