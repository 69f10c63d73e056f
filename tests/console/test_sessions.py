"""Console sessions: a cookie for a key id and its secret, signed, expiring, ended when the key goes."""

from __future__ import annotations

from clarimon.config import Credential
from clarimon.console.sessions import COOKIE, Sessions, Viewer, cookie_value

KEYS = {"AKIDALICE": Credential("alice-secret", "111111111111"), "AKIDBOB": Credential("bob-secret", "222222222222")}


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def sessions(clock: Clock, keys: dict[str, Credential] | None = None, secret: bytes = b"s" * 32) -> Sessions:
    return Sessions(KEYS if keys is None else keys, lambda: secret, "000000000000", clock=clock, lifetime=3600)


def header(value: str) -> str:
    return f"other=1; {COOKIE}={value}"


def test_the_right_secret_gives_a_session_of_the_keys_account() -> None:
    clock = Clock()
    value = sessions(clock).sign_in("AKIDALICE", "alice-secret")
    assert value is not None
    assert sessions(clock).viewer(header(value)) == Viewer("111111111111", "AKIDALICE")


def test_a_wrong_secret_or_unknown_key_gets_nothing() -> None:
    clock = Clock()
    assert sessions(clock).sign_in("AKIDALICE", "bob-secret") is None
    assert sessions(clock).sign_in("AKIDALICE", "") is None
    assert sessions(clock).sign_in("AKIDNOBODY", "alice-secret") is None


def test_a_tampered_forged_or_foreign_cookie_is_no_session() -> None:
    clock = Clock()
    value = sessions(clock).sign_in("AKIDALICE", "alice-secret")
    assert value is not None
    payload, mac = value.split(".")
    bob = sessions(clock).sign_in("AKIDBOB", "bob-secret")
    assert bob is not None
    assert sessions(clock).viewer(header(f"{bob.split('.')[0]}.{mac}")) is None  # Bob's payload, Alice's MAC
    assert sessions(clock).viewer(header(f"{payload}.{mac[:-2]}AA")) is None
    assert sessions(clock).viewer(header("garbage")) is None
    assert sessions(clock).viewer(header("a.b.c")) is None
    assert sessions(clock).viewer(header("!!!.???")) is None
    assert sessions(clock).viewer(None) is None
    # another database (another secret) does not accept it
    assert sessions(clock, secret=b"t" * 32).viewer(header(value)) is None


def test_a_session_expires() -> None:
    clock = Clock()
    value = sessions(clock).sign_in("AKIDALICE", "alice-secret")
    assert value is not None
    clock.now += 3599
    assert sessions(clock).viewer(header(value)) is not None
    clock.now += 2
    assert sessions(clock).viewer(header(value)) is None


def test_a_key_removed_from_the_credentials_ends_its_sessions() -> None:
    clock = Clock()
    value = sessions(clock).sign_in("AKIDALICE", "alice-secret")
    assert value is not None
    assert sessions(clock, {"AKIDBOB": KEYS["AKIDBOB"]}).viewer(header(value)) is None


def test_anonymous_mode_shows_the_default_account_without_sign_in() -> None:
    anonymous = Sessions({}, lambda: b"s" * 32, "000000000000")
    assert anonymous.anonymous and anonymous.viewer(None) == Viewer("000000000000", None)


def test_the_cookie_is_http_only_same_site_strict_and_bounded() -> None:
    cookie = sessions(Clock()).set_cookie("v")
    assert cookie.startswith(f"{COOKIE}=v;")
    for attribute in ("HttpOnly", "SameSite=Strict", "Path=/console", "Max-Age=3600"):
        assert attribute in cookie
    assert "Max-Age=0" in Sessions.clear_cookie()


def test_cookie_values_are_read_by_name() -> None:
    assert cookie_value("a=1; b=2", "b") == "2"
    assert cookie_value("ab=1", "a") is None
    assert cookie_value(None, "a") is None
