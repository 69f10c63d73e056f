from typing import Any

import orjson
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from clarimon.control import pagination
from clarimon.errors import ValidationException

SECRET = b"s" * 32
SCOPE = {"op": "List", "account": "000000000000", "region": "us-east-1", "filter": None}


def test_round_trip() -> None:
    token = pagination.encode(SECRET, SCOPE, [1.5, 7])
    assert pagination.decode(SECRET, token, dict(SCOPE)) == [1.5, 7]


@pytest.mark.parametrize(
    "mutate",
    [
        lambda t: t[:-2] + ("A" if t[-2] != "A" else "B") + t[-1],
        lambda t: "x" + t,
        lambda t: "!!!",
        lambda t: "",
    ],
)
def test_tampered_tokens_are_rejected(mutate) -> None:  # type: ignore[no-untyped-def]
    token = pagination.encode(SECRET, SCOPE, [1.5, 7])
    with pytest.raises(ValidationException):
        pagination.decode(SECRET, mutate(token), SCOPE)


def test_token_of_another_scope_or_secret_is_rejected() -> None:
    token = pagination.encode(SECRET, SCOPE, [1.5, 7])
    with pytest.raises(ValidationException):
        pagination.decode(SECRET, token, {**SCOPE, "region": "eu-west-1"})
    with pytest.raises(ValidationException):
        pagination.decode(b"t" * 32, token, SCOPE)


# Properties: every position comes back from its own scope's token, and nothing else gets through.
_int64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)  # what the sort columns hold
_values = st.one_of(_int64, st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=50))
_scopes = st.dictionaries(st.text(max_size=10), st.one_of(st.none(), st.text(max_size=20), _int64),
                          max_size=5)


@given(scope=_scopes, value=_values, row=st.integers(min_value=0, max_value=2**62))
def test_every_cursor_round_trips(scope: dict[str, Any], value: Any, row: int) -> None:
    token = pagination.encode(SECRET, scope, [value, row])
    assert pagination.cursor(SECRET, token, scope) == (value, row)
    assert token.isascii() and "=" not in token  # opaque, URL-safe, unpadded


@given(scope=_scopes, other=_scopes, value=_values)
def test_a_token_serves_only_its_scope(scope: dict[str, Any], other: dict[str, Any], value: Any) -> None:
    assume(orjson.dumps(scope, option=orjson.OPT_SORT_KEYS) != orjson.dumps(other, option=orjson.OPT_SORT_KEYS))
    with pytest.raises(ValidationException):
        pagination.decode(SECRET, pagination.encode(SECRET, scope, [value, 1]), other)


@given(token=st.text(max_size=200))
def test_any_other_text_is_a_validation_error(token: str) -> None:
    with pytest.raises(ValidationException):
        pagination.decode(SECRET, token, SCOPE)
