from pathlib import Path

import pytest

from clarimon.config import (
    DEFAULT_QUOTAS,
    Credential,
    default_regions,
    is_loopback,
    parse_access_keys,
    parse_credentials,
    parse_quotas,
    parse_regions,
    read_credentials,
)


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


def test_credentials_from_json_and_ini(tmp_path: Path) -> None:
    expected = {"AKIDALICE": Credential("s1", "111111111111"), "AKIDBOB": Credential("s2", "222222222222")}
    text = ('{"AKIDALICE": {"secret": "s1", "account": "111111111111"}, '
            '"AKIDBOB": {"secret": "s2", "account": "222222222222"}}')
    assert read_credentials(text) == expected  # CLARIMON_CREDENTIALS may hold the JSON itself
    (tmp_path / "c.json").write_text(text)
    assert read_credentials(str(tmp_path / "c.json")) == expected
    (tmp_path / "c.ini").write_text("[AKIDALICE]\nsecret = s1\naccount = 111111111111\n\n"
                                    "[AKIDBOB]\nsecret = s2\naccount = 222222222222\n")
    assert read_credentials(str(tmp_path / "c.ini")) == expected


@pytest.mark.parametrize(("text", "says"), [
    ('{"AKIDALICE": {"secret": "s1", "account": "12"}}', "must be 12 digits"),
    ('{"AKIDALICE": {"account": "111111111111"}}', "has no secret"),
    ('{"A/B!": {"secret": "s", "account": "111111111111"}}', "not an access key id"),
    ('{"AKIDALICE": "s1"}', "expected"),
    ("{nope", "not valid JSON"),
    ("[AKIDALICE\nsecret", "not an INI file"),
    ("", "no access key"),
])
def test_bad_credentials_are_refused_without_showing_secrets(text: str, says: str) -> None:
    with pytest.raises(ValueError, match=says) as caught:
        parse_credentials(text, "creds")
    assert "s1" not in str(caught.value).replace("creds", "")


def test_a_missing_credentials_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="cannot read"):
        read_credentials(str(tmp_path / "absent.json"))


def test_a_credential_never_shows_its_secret() -> None:
    assert "hidden" not in repr(Credential("hidden", "111111111111"))


def test_regions() -> None:
    assert "us-east-1" in default_regions() and "eu-west-1" in default_regions()
    assert not any(r.startswith(("cn-", "us-gov-", "us-iso")) for r in default_regions())  # commercial only
    assert parse_regions("us-east-1, test-*") == ("us-east-1", "test-*")
    for bad in ("", " , ", "US-EAST-1", "us east"):
        with pytest.raises(ValueError):
            parse_regions(bad)


def test_loopback() -> None:
    assert all(is_loopback(h) for h in ("127.0.0.1", "127.8.9.1", "::1", "[::1]", "localhost"))
    assert not any(is_loopback(h) for h in ("0.0.0.0", "::", "192.168.1.4", "example.com"))
