"""Encoding answers as the containers do, whatever Accept the client sends."""

from __future__ import annotations

import numpy as np
import orjson
import pytest

from clarimon.serving import codecs


@pytest.mark.parametrize("accept", [None, "", "*/*", "*/*; q=0.8"])
def test_any_accept_gets_the_containers_default(accept: str | None) -> None:
    body, kind = codecs.encode(np.array([[0.25, 0.75]]), accept)
    assert (kind, orjson.loads(body)) == ("application/json", [[0.25, 0.75]])
    assert codecs.accepted(accept, codecs.CSV) == "text/csv"


def test_named_types_are_kept_and_unknown_ones_refused() -> None:
    assert codecs.encode(np.array([[1.5, 2.0]]), "text/csv; charset=utf-8") == (b"1.5,2.0\n", "text/csv")
    with pytest.raises(codecs.UnsupportedFormat, match="Accept type image/png is not supported"):
        codecs.encode(np.array([1.0]), "image/png")
