"""Built-in runtimes matched by container image: what SageMaker's serving containers do with a model folder.

- `sagemaker-scikit-learn`: the user's entry point (`SAGEMAKER_PROGRAM`, in the artifact's `code/` or under
  `SAGEMAKER_SUBMIT_DIRECTORY`) with `model_fn` and optional `input_fn`, `predict_fn`, `output_fn`; the
  container's defaults fill the gaps (`predict_fn` = `model.predict`; CSV, JSON, NPY in and out). Without an
  entry point clarimon loads `model.joblib` itself, an extension the real container lacks.
- `sagemaker-xgboost`, and the older built-in algorithm repository `xgboost`: every file of the artifact loaded
  as the container's `serve_utils.get_loaded_booster` loads it (a pickled `Booster` first, then
  `Booster.load_model`; several files are an ensemble whose predictions are averaged); headerless CSV in, as the
  built-in algorithm takes it.
- an ONNX runtime image (a repository named with `onnx`): the artifact's `*.onnx` file.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import regex

from clarimon.serving import codecs
from clarimon.serving.artifacts import unpack

Handler = Callable[[bytes, "str | None", "str | None"], tuple[bytes, str]]
Fetch = Callable[[str], bytes]
# Predictions for rows already decoded (what the handler computes after its default CSV decoding): an array, or
# the encoded answer when the user's output_fn writes it. The accept type is the second argument.
Rows = Callable[[np.ndarray, str], "np.ndarray | tuple[bytes, str]"]


@dataclass(frozen=True)
class Served:
    """A loaded model: its request handler, and a path for decoded rows when the container's default decoder
    would be used (None when the user's input_fn must see the bytes)."""

    handler: Handler
    rows: Rows | None

SUPPORTED = ("sagemaker-scikit-learn, sagemaker-xgboost (or the built-in algorithm's xgboost), or an ONNX runtime "
             "image (repository named *onnx*)")
XGBOOST_REPOSITORIES = ("sagemaker-xgboost", "xgboost")
_REPOSITORY = regex.compile(r"(?:.*/)?([^/:@]+)(?::[^/@]*)?(?:@.*)?")
_TEXT_TYPES = ("text/", "application/json", "application/jsonlines")
MODEL_DIR = "/opt/ml/model"  # where the container unpacks ModelDataUrl


class UnsupportedImage(ValueError):
    """An image clarimon has no runtime for (it runs no containers)."""


class LoadError(ValueError):
    """A model folder the runtime cannot load; the message says what is missing."""


class InferenceError(RuntimeError):
    """The model (or the user's handler code) failed on a request; the message is the model's."""


def repository(image: str) -> str:
    """`123.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1` -> `sagemaker-xgboost`."""
    found = _REPOSITORY.fullmatch(image.strip())
    return found.group(1) if found else image


def load(image: str, model_dir: Path, environment: dict[str, str], fetch: Fetch, cache: Path) -> Handler:
    """The request handler for `image` serving the model unpacked in `model_dir`."""
    return serve(image, model_dir, environment, fetch, cache).handler


def serve(image: str, model_dir: Path, environment: dict[str, str], fetch: Fetch, cache: Path) -> Served:
    """The model of `image` unpacked in `model_dir`, loaded in this process.

    Errors (LoadError, InferenceError) show the model's folder as the container's `/opt/ml/model`, never where
    this server keeps it."""
    scrub = scrubber(model_dir, cache)
    try:
        served = _serve(image, model_dir, environment, fetch, cache)
    except UnsupportedImage:
        raise
    except LoadError as error:
        raise LoadError(scrub(str(error))) from error
    except Exception as error:  # a framework's loader (XGBoost, ONNX) names the files it read
        raise LoadError(scrub(f"{type(error).__name__}: {error}")) from error
    return Served(_scrubbed(served.handler, scrub), None if served.rows is None else _scrubbed_rows(served.rows, scrub))


def scrubber(model_dir: Path, cache: Path) -> Callable[[str], str]:
    """A message with the server's folders (the model's, the cache, the home above it) replaced by what the caller
    may see: `/opt/ml/model` as in the container, `<home>` for the rest."""
    names: dict[str, str] = {}
    for place, shown in ((cache.parent, "<home>"), (cache, "<home>/models"), (model_dir, MODEL_DIR)):
        for spelling in (str(place), str(place.resolve())):
            if len(spelling) > 1:  # never replace the root "/" itself
                names[spelling] = shown
    ordered = sorted(names, key=len, reverse=True)

    def scrub(message: str) -> str:
        for spelling in ordered:
            message = message.replace(spelling, names[spelling])
        return message

    return scrub


def _scrubbed(handler: Handler, scrub: Callable[[str], str]) -> Handler:
    def handle(body: bytes, content_type: str | None, accept: str | None) -> tuple[bytes, str]:
        try:
            return handler(body, content_type, accept)
        except InferenceError as error:
            raise InferenceError(scrub(str(error))) from error

    return handle


def _scrubbed_rows(rows: Rows, scrub: Callable[[str], str]) -> Rows:
    def predict(data: np.ndarray, accept: str) -> np.ndarray | tuple[bytes, str]:
        try:
            return rows(data, accept)
        except InferenceError as error:
            raise InferenceError(scrub(str(error))) from error

    return predict


def _serve(image: str, model_dir: Path, environment: dict[str, str], fetch: Fetch, cache: Path) -> Served:
    name = repository(image)
    if name == "sagemaker-scikit-learn":
        return _scikit_learn(model_dir, environment, fetch, cache)
    if name in XGBOOST_REPOSITORIES:
        return _xgboost(model_dir)
    if "onnx" in name:
        return _onnx(model_dir)
    raise UnsupportedImage(
        f"Image {image} is not supported: clarimon runs no containers and serves {SUPPORTED}."
    )


def _guarded_rows(rows: Rows) -> Rows:
    def predict(data: np.ndarray, accept: str) -> np.ndarray | tuple[bytes, str]:
        try:
            return rows(data, accept)
        except Exception as error:  # the user's code may raise anything: it is the model's error
            raise InferenceError(f"{type(error).__name__}: {error}") from error

    return predict


def _guarded(handler: Handler) -> Handler:
    def handle(body: bytes, content_type: str | None, accept: str | None) -> tuple[bytes, str]:
        try:
            return handler(body, content_type, accept)
        except codecs.UnsupportedFormat:
            raise
        except Exception as error:  # the user's code may raise anything: it is the model's error
            raise InferenceError(f"{type(error).__name__}: {error}") from error

    return handle


def _scikit_learn(model_dir: Path, environment: dict[str, str], fetch: Fetch, cache: Path) -> Served:
    program = environment.get("SAGEMAKER_PROGRAM")
    if not program:
        path = model_dir / "model.joblib"
        if not path.is_file():
            raise LoadError("no SAGEMAKER_PROGRAM entry point and no model.joblib in the model artifact")
        import joblib

        model = joblib.load(path)

        def predict_rows(rows: np.ndarray) -> np.ndarray:
            return np.asarray(model.predict(rows))

        return Served(
            _guarded(lambda body, kind, accept: codecs.encode(predict_rows(codecs.decode(body, kind)), accept)),
            _guarded_rows(lambda rows, accept: predict_rows(rows)),
        )

    module = _entry_point(program, model_dir, environment.get("SAGEMAKER_SUBMIT_DIRECTORY"), fetch, cache)
    if not hasattr(module, "model_fn"):
        raise LoadError(f"{program} defines no model_fn(model_dir)")
    try:
        model = module.model_fn(str(model_dir))
    except Exception as error:  # the user's loading code
        raise LoadError(f"{program}: model_fn failed: {type(error).__name__}: {error}") from error
    input_fn = getattr(module, "input_fn", None)
    predict_fn = getattr(module, "predict_fn", None)
    output_fn = getattr(module, "output_fn", None)

    def predict(data: Any) -> Any:
        return predict_fn(data, model) if predict_fn is not None else model.predict(data)

    def output(prediction: Any, accept: str | None) -> tuple[bytes, str]:
        if output_fn is None:
            return codecs.encode(prediction, accept)
        answer: Any = output_fn(prediction, codecs.accepted(accept))
        if isinstance(answer, tuple):
            answer, accept = answer
        if isinstance(answer, str):
            answer = answer.encode()
        return bytes(answer), codecs.base_type(accept)

    def handle(body: bytes, content_type: str | None, accept: str | None) -> tuple[bytes, str]:
        kind = codecs.base_type(content_type)
        if input_fn is not None:
            # As the container hands it over: text for text and JSON types, bytes otherwise.
            payload: Any = body.decode("utf-8") if kind.startswith(_TEXT_TYPES) else body
            data = input_fn(payload, content_type or codecs.JSON)
        else:
            data = codecs.decode(body, content_type)
        prediction = predict(data)
        return output(prediction, accept)

    def rows(data: np.ndarray, accept: str) -> np.ndarray | tuple[bytes, str]:
        prediction = predict(data)
        return np.asarray(prediction) if output_fn is None else output(prediction, accept)

    return Served(_guarded(handle), None if input_fn is not None else _guarded_rows(rows))


def check_entry_point(environment: dict[str, str]) -> None:
    """LoadError unless `SAGEMAKER_PROGRAM` and `SAGEMAKER_SUBMIT_DIRECTORY` can only name places inside the model
    (its archive, its `code/`, or a source archive): no absolute program, no `..`, no folder elsewhere on the host."""
    program = environment.get("SAGEMAKER_PROGRAM")
    if program is not None and (not program or _leaves(program)):
        raise LoadError(f"SAGEMAKER_PROGRAM {_shown(program)} must name a file inside the model's code (code/ or "
                        "SAGEMAKER_SUBMIT_DIRECTORY): a relative path without '..'")
    submit = environment.get("SAGEMAKER_SUBMIT_DIRECTORY")
    if submit is None or submit.startswith("s3://"):
        return
    inside = submit == MODEL_DIR or submit.startswith(MODEL_DIR + "/")
    if not inside or _leaves(submit[len(MODEL_DIR):].lstrip("/")):
        raise LoadError(f"SAGEMAKER_SUBMIT_DIRECTORY {_shown(submit)} must be an s3:// source archive or a folder "
                        f"under {MODEL_DIR} (the model archive) without '..'")


def _leaves(path: str) -> bool:
    parts = path.replace("\\", "/").split("/")
    return path.startswith(("/", "\\")) or ".." in parts


def _shown(value: str) -> str:
    """A value as errors echo it: quoted, cut to 256 characters."""
    return repr(value if len(value) <= 256 else value[:256] + "...")


def _entry_point(program: str, model_dir: Path, submit: str | None, fetch: Fetch, cache: Path) -> Any:
    check_entry_point({"SAGEMAKER_PROGRAM": program, **({"SAGEMAKER_SUBMIT_DIRECTORY": submit} if submit else {})})
    places = [model_dir / "code", model_dir]
    if submit and submit.startswith("s3://"):
        places.insert(0, unpack(fetch(submit), cache, submit))
    elif submit:
        places.insert(0, model_dir / submit[len(MODEL_DIR):].lstrip("/"))
    script = next((place / program for place in places if _inside(place / program, place)), None)
    if script is None:
        raise LoadError(f"entry point {program[:256]} not found in the artifact's code/ or "
                        "SAGEMAKER_SUBMIT_DIRECTORY")
    sys.path.insert(0, str(script.parent))  # the script's own helper modules import as in the container
    spec = importlib.util.spec_from_file_location(f"clarimon_entry_{abs(hash(str(script)))}", script)
    if spec is None or spec.loader is None:
        raise LoadError(f"entry point {program[:256]} cannot be imported")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as error:  # the user's module-level code
        raise LoadError(f"{program}: import failed: {type(error).__name__}: {error}") from error
    return module


def _inside(script: Path, place: Path) -> bool:
    """Whether `script` is a file that, links followed, stays inside `place` (an archive's link cannot lead the
    entry point elsewhere on the host)."""
    if not script.is_file():
        return False
    return script.resolve().is_relative_to(place.resolve())


def _xgboost(model_dir: Path) -> Served:
    files = sorted(p for p in model_dir.iterdir() if p.is_file() and not p.name.startswith("."))
    if not files:
        raise LoadError("no model file in the model artifact (the XGBoost container loads every file of it)")
    boosters = [_booster(path) for path in files]

    def predict(rows: np.ndarray) -> np.ndarray:
        predictions = [np.asarray(b.inplace_predict(rows.astype(np.float32))) for b in boosters]
        return predictions[0] if len(predictions) == 1 else np.mean(predictions, axis=0)

    def handle(body: bytes, content_type: str | None, accept: str | None) -> tuple[bytes, str]:
        if codecs.base_type(content_type, codecs.CSV) != codecs.CSV:
            raise codecs.UnsupportedFormat(f"Content type {content_type} is not supported: send headerless text/csv.")
        return codecs.encode(predict(codecs.decode(body, codecs.CSV)), codecs.accepted(accept, codecs.CSV))

    return Served(_guarded(handle), _guarded_rows(lambda rows, accept: predict(rows)))


def _booster(path: Path) -> Any:
    """One model file as the SageMaker XGBoost container loads it: a pickled Booster, else `Booster.load_model`
    (this runs in the model's boxed worker, which runs the user's code anyway)."""
    import pickle

    import xgboost

    data = path.read_bytes()
    try:
        booster = pickle.loads(data)
        if isinstance(booster, xgboost.Booster):
            return booster
        unpickled: str | None = f"it unpickles to a {type(booster).__name__}, not an xgboost.Booster"
    except Exception as error:  # not a pickle, or one this XGBoost cannot restore: try the model formats next
        unpickled = None if data[:1] != b"\x80" else f"{type(error).__name__}: {_first_line(str(error))}"
    booster = xgboost.Booster()
    try:
        booster.load_model(bytearray(data))
        return booster
    except xgboost.core.XGBoostError as error:
        native = _first_line(str(error))
    if not data.lstrip()[:1] == b"{":  # JSON and UBJSON both open an object; the legacy binary format does not
        raise LoadError(
            f"{path.name} is in XGBoost's legacy binary model format, which XGBoost {xgboost.__version__} cannot "
            "load (support ended with XGBoost 3.0). Re-save it with the XGBoost version that wrote it (1.x or 2.x): "
            "load it and call booster.save_model('xgboost-model.json') (or .ubj), then package that file"
            + (f" ({unpickled})" if unpickled else "") + ".")
    raise LoadError(f"{path.name} is not an XGBoost model this XGBoost ({xgboost.__version__}) can load: {native}"
                    + (f"; as a pickle: {unpickled}" if unpickled else ""))


def _first_line(message: str) -> str:
    """XGBoost's error without its native stack trace: the first line, without the timestamp and source path."""
    line = message.strip().splitlines()[0] if message.strip() else message
    return str(regex.sub(r"^\[[\d:]+\] [^:]+:\d+: ", "", line))


def _onnx(model_dir: Path) -> Served:
    import onnxruntime

    files = sorted(model_dir.glob("*.onnx"))
    if len(files) != 1:
        raise LoadError(f"expected one *.onnx file in the model artifact, found {len(files)}")
    session = onnxruntime.InferenceSession(str(files[0]), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    outputs = session.get_outputs()
    chosen = next((o.name for o in outputs if "prob" in o.name.lower()), outputs[-1].name)

    def predict(rows: np.ndarray) -> np.ndarray:
        return np.asarray(session.run([chosen], {name: np.atleast_2d(rows.astype(np.float32))})[0])

    def handle(body: bytes, content_type: str | None, accept: str | None) -> tuple[bytes, str]:
        return codecs.encode(predict(codecs.decode(body, content_type)), accept)

    return Served(_guarded(handle), _guarded_rows(lambda rows, accept: predict(rows)))
