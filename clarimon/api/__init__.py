"""The wire: AWS JSON 1.1 for SageMaker, request validation, errors, identity."""
