"""Predictors: a callable from an (n, m) array to an (n, K) array of model outputs, from saved model files.

A scikit-learn classifier answers with `predict_proba` (one output per class), a regressor with `predict`;
XGBoost and LightGBM boosters and ONNX models answer with their output scores.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from clarimon.engine.config import by_index

Predictor = Callable[[np.ndarray], np.ndarray]


class ModelError(ValueError):
    """A model file that cannot be loaded or run; the message names the file."""


def as_outputs(predictions: Any) -> np.ndarray:
    """Predictions as an (n, K) float64 array."""
    array = np.asarray(predictions, dtype=np.float64)
    return array.reshape(len(array), -1)


def load(path: Path) -> Predictor:
    """The predictor in a saved model file: joblib/pickle (scikit-learn), XGBoost, LightGBM or ONNX."""
    if not path.is_file():
        raise ModelError(f"{path}: no such model file")
    suffix = path.suffix.lower()
    head = path.read_bytes()[:64]
    if suffix == ".onnx":
        return _onnx(path)
    if suffix in (".joblib", ".pkl", ".pickle"):
        return estimator_predictor(_joblib(path), str(path))
    if suffix in (".txt", ".lgb") or head.startswith(b"tree\n"):
        return _lightgbm(path)
    if suffix in (".json", ".ubj", ".bst", ".model", ".xgb") or path.name == "xgboost-model":
        return _xgboost(path)
    try:
        return estimator_predictor(_joblib(path), str(path))
    except ModelError:
        raise ModelError(
            f"{path}: not a model clarimon can load (scikit-learn joblib/pickle, XGBoost, LightGBM, ONNX)"
        ) from None


def estimator_predictor(model: Any, name: str = "model") -> Predictor:
    """A scikit-learn style estimator: `predict_proba` for classifiers, else `predict`."""
    method = getattr(model, "predict_proba", None) or getattr(model, "predict", None)
    if method is None:
        raise ModelError(f"{name}: {type(model).__name__} has neither predict_proba nor predict")

    def predict(rows: np.ndarray) -> np.ndarray:
        return as_outputs(method(rows))

    return predict


def _joblib(path: Path) -> Any:
    import joblib

    try:
        return joblib.load(path)
    except Exception as error:  # unpickling raises anything the pickled code raises
        raise ModelError(f"{path}: cannot load with joblib ({type(error).__name__}: {error})") from None


def _xgboost(path: Path) -> Predictor:
    import xgboost

    booster = xgboost.Booster()
    try:
        # From memory, XGBoost tells JSON from UBJSON by the bytes; from a path it guesses by the extension, and
        # SageMaker's `xgboost-model` has none.
        booster.load_model(bytearray(path.read_bytes()))
    except xgboost.core.XGBoostError as error:
        raise ModelError(f"{path}: not an XGBoost model ({error})") from None

    def predict(rows: np.ndarray) -> np.ndarray:
        return as_outputs(booster.inplace_predict(np.asarray(rows, dtype=np.float32)))

    return predict


def _lightgbm(path: Path) -> Predictor:
    import lightgbm

    try:
        booster = lightgbm.Booster(model_file=str(path))
    except lightgbm.basic.LightGBMError as error:
        raise ModelError(f"{path}: not a LightGBM model ({error})") from None

    def predict(rows: np.ndarray) -> np.ndarray:
        return as_outputs(booster.predict(np.asarray(rows, dtype=np.float64)))

    return predict


def _onnx(path: Path) -> Predictor:
    import onnxruntime

    try:
        session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    except Exception as error:  # onnxruntime raises its own untyped exceptions
        raise ModelError(f"{path}: not an ONNX model ({error})") from None
    name = session.get_inputs()[0].name
    outputs = session.get_outputs()
    # A converted classifier answers (label, probabilities): explain the probabilities.
    chosen = next((o.name for o in outputs if "prob" in o.name.lower()), outputs[-1].name)

    def predict(rows: np.ndarray) -> np.ndarray:
        result = session.run([chosen], {name: np.asarray(rows, dtype=np.float32)})[0]
        if isinstance(result, list) and result and isinstance(result[0], dict):  # a ZipMap: one dict per row
            keys = sorted(result[0])
            result = [[row[k] for k in keys] for row in result]
        return as_outputs(result)

    return predict


def select(predictor: Predictor, probability: str | int | None) -> Predictor:
    """Only output `probability` (an index) of a multi-output predictor, as Clarify's `probability` picks one."""
    if probability is None:
        return predictor
    if not by_index(probability):
        raise ModelError(f"predictor.probability {probability!r}: a local model's outputs are chosen by index")
    index = int(probability)

    def chosen(rows: np.ndarray) -> np.ndarray:
        outputs = predictor(rows)
        if index >= outputs.shape[1]:
            raise ModelError(f"predictor.probability {index}: the model has {outputs.shape[1]} outputs")
        return outputs[:, index : index + 1]

    return chosen
