"""What SageMaker Clarify computes for explainability: Kernel SHAP attributions, in Clarify's formats.

A library (no server, no database): `explain(config, data, predictor)`.
"""

from clarimon.engine.explain import Explanation, explain

__all__ = ["Explanation", "explain"]
