"""Who is looking at the console: a session cookie, given for an access key id and its secret.

A browser cannot sign each request with Signature Version 4, so the console's sign-in form takes an access key id
and secret, checks them against the server's credentials (`--credentials`, the same keys the API verifies), and
answers with a session cookie: HttpOnly (no script reads it), SameSite=Strict (no other site's page sends it),
limited to `/console`, expiring after `SESSION_SECONDS`, and signed with a key derived from the database's secret,
so every replica of one database accepts it and nobody can make one up. The cookie names the key and its
account; a key removed from the credentials ends its sessions. In anonymous mode (no credentials: a loopback
server) the console needs no sign-in and shows the default account.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import orjson

from clarimon.config import Credential

COOKIE = "clarimon_console"
SESSION_SECONDS = 8 * 3600
_PURPOSE = b"clarimon console session v1"


@dataclass(frozen=True)
class Viewer:
    """The account a console request shows, and the access key it signed in with (None: anonymous mode)."""

    account: str
    key_id: str | None


class Sessions:
    """Sign-in and session cookies over the server's credentials."""

    def __init__(self, credentials: Mapping[str, Credential], database_secret: Callable[[], bytes],
                 default_account: str, *, clock: Callable[[], float] = time.time,
                 lifetime: float = SESSION_SECONDS) -> None:
        self.credentials = dict(credentials)
        self._database_secret = database_secret
        self._key: bytes | None = None
        self.default_account = default_account
        self.clock = clock  # real time: a session's expiry is the browser's, never the scheduling clock file's
        self.lifetime = lifetime

    @property
    def anonymous(self) -> bool:
        """True when no credentials are configured: every visitor sees the default account."""
        return not self.credentials

    def sign_in(self, key_id: str, secret: str) -> str | None:
        """A session cookie's value for a key id and its secret, or None when they do not match a credential
        (the secrets are compared in constant time)."""
        credential = self.credentials.get(key_id)
        # An unknown key is compared with a dummy secret, so a wrong key and a wrong secret take the same time.
        expected = credential.secret if credential is not None else "\x00" * max(len(secret), 1)
        if not hmac.compare_digest(expected.encode(), secret.encode()) or credential is None:
            return None
        payload = orjson.dumps({"k": key_id, "a": credential.account, "e": int(self.clock() + self.lifetime)})
        return f"{_encode(payload)}.{_encode(self._mac(payload))}"

    def viewer(self, cookie_header: str | None) -> Viewer | None:
        """Who the request's cookie stands for; None without a valid, unexpired session of a key still configured.
        In anonymous mode, the default account."""
        if self.anonymous:
            return Viewer(self.default_account, None)
        value = cookie_value(cookie_header, COOKIE)
        if value is None or value.count(".") != 1 or len(value) > 1024:
            return None
        encoded, signature = value.split(".")
        try:
            payload, mac = _decode(encoded), _decode(signature)
        except ValueError:
            return None
        if not hmac.compare_digest(mac, self._mac(payload)):
            return None
        session = orjson.loads(payload)
        credential = self.credentials.get(session["k"])
        if credential is None or credential.account != session["a"] or session["e"] < self.clock():
            return None
        return Viewer(credential.account, session["k"])

    def set_cookie(self, value: str) -> str:
        """The Set-Cookie header that starts a session."""
        return f"{COOKIE}={value}; Path=/console; Max-Age={int(self.lifetime)}; HttpOnly; SameSite=Strict"

    @staticmethod
    def clear_cookie() -> str:
        """The Set-Cookie header that ends a session."""
        return f"{COOKIE}=; Path=/console; Max-Age=0; HttpOnly; SameSite=Strict"

    def _mac(self, payload: bytes) -> bytes:
        if self._key is None:
            self._key = hmac.new(self._database_secret(), _PURPOSE, hashlib.sha256).digest()
        return hmac.new(self._key, payload, hashlib.sha256).digest()


def cookie_value(header: str | None, name: str) -> str | None:
    """The value of cookie `name` in a Cookie header, or None."""
    for part in (header or "").split(";"):
        key, sep, value = part.strip().partition("=")
        if sep and key == name:
            return value
    return None


def _encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _decode(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError):
        raise ValueError("not base64") from None
