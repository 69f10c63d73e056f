"""clarimon: SageMaker Model Monitor's model explainability, self-hosted."""

__version__ = "0.1.0"
