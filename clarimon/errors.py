"""Service errors, each carrying its AWS error code and HTTP status: the one error hierarchy.

Every layer raises these; `clarimon.api.wire.error_body` is the one place that renders them, for SageMaker's
JSON 1.1 protocol and for sagemaker-runtime's InvokeEndpoint alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path


class ServiceError(Exception):
    """An error the client sees as an AWS error response: `code`, HTTP `status`, `message` and, for the errors
    that carry them, further members of the error body (`fields`)."""

    code = "InternalFailure"
    status = 400

    def __init__(self, message: str, fields: Mapping[str, object] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fields = dict(fields or {})


class ValidationException(ServiceError):
    """A request that breaks a constraint of the service model, or a rule of the resource it names."""

    code = "ValidationException"


class ResourceInUse(ServiceError):
    """The resource exists already, or another resource still uses it."""

    code = "ResourceInUse"


class ResourceNotFound(ServiceError):
    """The named resource does not exist (for the operations that declare this error)."""

    code = "ResourceNotFound"


class ResourceLimitExceeded(ServiceError):
    """A quota of the account would be exceeded."""

    code = "ResourceLimitExceeded"


class AccessDeniedException(ServiceError):
    """A request naming an object location (an s3:// bucket) of another account; SageMaker's common error."""

    code = "AccessDeniedException"


class SerializationException(ServiceError):
    """The request body is not the JSON object the protocol carries."""

    code = "SerializationException"


class UnknownOperationException(ServiceError):
    """No operation clarimon serves at that target or route."""

    code = "UnknownOperationException"


class InternalFailure(ServiceError):
    """A failure of clarimon itself; the details go to the operator's log, never to the client."""

    code = "InternalFailure"
    status = 500


class InvalidParameterException(ServiceError):
    """A CloudWatch Logs request with a bad parameter: that service's code for what SageMaker calls a
    ValidationException, with the same "1 validation error detected: ..." messages for broken constraints."""

    code = "InvalidParameterException"


class LogsResourceNotFound(ServiceError):
    """A CloudWatch Logs group or stream that does not exist (the service's code, unlike SageMaker's
    ResourceNotFound, ends in Exception)."""

    code = "ResourceNotFoundException"


class InvocationError(ServiceError):
    """An InvokeEndpoint failure as sagemaker-runtime reports it (its code also in the x-amzn-ErrorType header)."""


class InvocationValidationError(InvocationError):
    """A request the runtime refuses: the runtime calls it ValidationError, not SageMaker's ValidationException."""

    code = "ValidationError"


class ModelError(InvocationError):
    """The model answered with an error; `fields` carry its OriginalStatusCode and OriginalMessage."""

    code = "ModelError"
    status = 424


class EndpointUnavailable(InvocationError):
    """The endpoint cannot serve requests now (not InService, or its worker is down)."""

    code = "ServiceUnavailable"
    status = 503


class InvocationFailure(InvocationError):
    """A failure of clarimon itself while invoking, reported as the runtime's InternalFailure."""

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


# Signature Version 4 errors, as AWS's JSON services answer them. The statuses follow the "Common Errors" page
# of the JSON services (AWS Signer, Personalize: IncompleteSignature 403, MissingAuthenticationToken 403); the
# older query services list IncompleteSignature as 400, which botocore does not care about (it reads the code).


class SignatureError(ServiceError):
    """A request whose caller cannot be established: it changes nothing and is answered in its route's protocol."""

    status = 403


class MissingAuthenticationTokenException(SignatureError):
    """A request without an `Authorization` header where signatures are required."""

    code = "MissingAuthenticationTokenException"


class UnrecognizedClientException(SignatureError):
    """A request signed with an access key id the server does not know."""

    code = "UnrecognizedClientException"
    status = 403


class InvalidSignatureException(SignatureError):
    """A signature that does not match, has expired, or is scoped to another date, region or service."""

    code = "InvalidSignatureException"
    status = 403


class IncompleteSignatureException(SignatureError):
    """An `Authorization` header that is not a complete AWS4-HMAC-SHA256 header."""

    code = "IncompleteSignatureException"
    status = 403


def without_folders(message: str, home: Path) -> str:
    """`message` with the server's home folder (as configured and as resolved) shown as `<home>`: a reason a
    caller reads (FailureReason, ExitMessage) never says where the server keeps its files."""
    for spelling in sorted({str(home), str(home.resolve())}, key=len, reverse=True):
        if len(spelling) > 1:  # never the root "/" itself
            message = message.replace(spelling, "<home>")
    return message
