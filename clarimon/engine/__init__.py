"""What SageMaker Clarify computes for explainability: Kernel SHAP attributions, in Clarify's formats.

A library (no server, no database): `explain(config, data, predictor)`.
"""

from clarimon.engine.explain import Explanation, background_of, explain, merge

__all__ = ["Explanation", "background_of", "explain", "merge"]
