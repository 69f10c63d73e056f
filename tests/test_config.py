import pytest

from clarimon.config import DEFAULT_QUOTAS, parse_access_keys, parse_quotas


def test_access_keys() -> None:
    assert parse_access_keys("A=111111111111, B=222222222222") == {"A": "111111111111", "B": "222222222222"}
    assert parse_access_keys("") == {}
    for bad in ("A", "A=12", "=111111111111"):
        with pytest.raises(ValueError):
            parse_access_keys(bad)


def test_quotas() -> None:
    assert parse_quotas("") == DEFAULT_QUOTAS
    assert parse_quotas("model-explainability-job-definition=5")["model-explainability-job-definition"] == 5
    for bad in ("nothing=1", "model-explainability-job-definition=-1", "model-explainability-job-definition=x"):
        with pytest.raises(ValueError):
            parse_quotas(bad)
