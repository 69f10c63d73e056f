"""botocore's service models, loaded once: the source of truth for shapes and constraints."""

from __future__ import annotations

import functools

import botocore.session
from botocore.model import OperationModel, ServiceModel


@functools.cache
def service_model(service: str = "sagemaker") -> ServiceModel:
    """The installed botocore's model of `service` (cached for the process)."""
    return botocore.session.get_session().get_service_model(service)


def operation_model(name: str, service: str = "sagemaker") -> OperationModel:
    """One operation of `service`; raises botocore's OperationNotFoundError when unknown."""
    return service_model(service).operation_model(name)
