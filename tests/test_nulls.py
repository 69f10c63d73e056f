"""JSON nulls removed at every depth, as SageMaker's JSON protocol reads them."""

from __future__ import annotations

import pytest

from clarimon.errors import SerializationException
from clarimon.nulls import MAX_DEPTH, without_nulls


def test_null_members_elements_and_values_go_at_every_depth() -> None:
    request = {"MaxResults": None, "Name": "a", "Config": {"Options": [{"Mode": "Input"}, None, {"Mode": None}],
                                                           "Environment": {"A": None, "B": "1"}, "Empty": None}}
    assert without_nulls(request) == {"Name": "a", "Config": {"Options": [{"Mode": "Input"}, {}],
                                                               "Environment": {"B": "1"}}}
    assert request["MaxResults"] is None  # the input is left as it was
    assert without_nulls([None, 0, False, "", []]) == [0, False, "", []]  # only null is absent


def test_nesting_is_bounded() -> None:
    deep: object = "x"
    for _ in range(MAX_DEPTH + 2):
        deep = [deep]
    with pytest.raises(SerializationException):
        without_nulls(deep)
