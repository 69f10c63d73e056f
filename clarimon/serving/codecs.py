"""Request and response bodies as the SageMaker inference toolkit's default decoder and encoder treat them."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import orjson

CSV = "text/csv"
JSON = "application/json"
NPY = "application/x-npy"
SUPPORTED = (CSV, JSON, NPY)


class UnsupportedFormat(ValueError):
    """A content type or accept type the container does not handle."""


def base_type(content_type: str | None, default: str = JSON) -> str:
    """`text/csv; charset=utf-8` -> `text/csv`."""
    return (content_type or default).split(";", 1)[0].strip().lower()


def decode(body: bytes, content_type: str | None) -> np.ndarray:
    """A request body as an array of rows, by its content type (CSV, JSON or NPY)."""
    kind = base_type(content_type)
    if kind == CSV:
        text = body.decode("utf-8")
        rows = [line for line in text.splitlines() if line.strip()]
        return np.atleast_2d(np.genfromtxt(io.StringIO("\n".join(rows)), delimiter=",", dtype=np.float64))
    if kind == JSON:
        return np.array(orjson.loads(body))
    if kind == NPY:
        return np.asarray(np.load(io.BytesIO(body), allow_pickle=False))
    raise UnsupportedFormat(f"Content type {kind} is not supported by this framework; use one of {SUPPORTED}.")


def accepted(accept: str | None, default: str = JSON) -> str:
    """The answer's type: `accept`, or the container's default for none or `*/*` (what the SDK's Predictor asks
    for; the SageMaker inference toolkit answers JSON, the XGBoost container CSV)."""
    kind = base_type(accept, default)
    return default if kind in ("*/*", "") else kind


def encode(prediction: Any, accept: str | None) -> tuple[bytes, str]:
    """A prediction as a response body in the accepted type, and that type."""
    kind = accepted(accept)
    array = np.asarray(prediction)
    if kind == JSON:
        return orjson.dumps(array.tolist()), JSON
    if kind == CSV:
        out = io.StringIO()
        np.savetxt(out, array.reshape(len(array), -1) if array.ndim else array.reshape(1, 1), delimiter=",",
                   fmt="%s")
        return out.getvalue().encode(), CSV
    if kind == NPY:
        out_bytes = io.BytesIO()
        np.save(out_bytes, array, allow_pickle=False)
        return out_bytes.getvalue(), NPY
    raise UnsupportedFormat(f"Accept type {kind} is not supported by this framework; use one of {SUPPORTED}.")
