import pytest

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
