"""Sending the outbox: a thread that claims due events, POSTs each to every receiver, and forgets it once all of
them answered 2xx; a failed delivery is retried with exponential backoff.

Delivery is at least once: the event is in the database from the transaction of its change until every
receiver has it, across restarts. A receiver dedupes by the event's `id` (an event is sent again when a server
dies between the POST and its record of it, as SageMaker "may send several events per change"). With several
servers on one database, a server claims the events it sends (for `lease_seconds`), so each is sent by one.

Signing (`--notify-secret`): `X-Clarimon-Timestamp: <epoch seconds>` and `X-Clarimon-Signature: sha256=<hex>`,
the HMAC-SHA256 under the secret of `<timestamp>.<body>`; a receiver recomputes it and refuses an old timestamp.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import random
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import orjson

from clarimon.config import Secret
from clarimon.control import events
from clarimon.jobs.leases import owner_gone, owner_id
from clarimon.store import Store, outbox

log = logging.getLogger("clarimon.notifications")

FIRST_RETRY_SECONDS = 1.0
MAX_RETRY_SECONDS = 300.0
# EventBridge's default retry policy gives up on a target after 185 attempts; so does clarimon (about 15 hours
# of retries once the backoff reaches its ceiling).
MAX_ATTEMPTS = 185
SIGNATURE_HEADER = "X-Clarimon-Signature"
TIMESTAMP_HEADER = "X-Clarimon-Timestamp"
EVENT_HEADER = "X-Clarimon-Event-Id"


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The `X-Clarimon-Signature` value of `body` sent at `timestamp`: `sha256=` and the hex HMAC-SHA256 under
    `secret` of `<timestamp>.<body>`."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def receiver_key(url: str) -> str:
    """How the outbox remembers that a receiver has an event: a digest of its URL (which may hold a token)."""
    return hashlib.sha256(url.encode()).hexdigest()[:32]


def shown(url: str) -> str:
    """A receiver's URL as a log line shows it: without user, password or query, where tokens live."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    host = f"[{host}]" if ":" in host else host  # an IPv6 address
    return urllib.parse.urlunsplit((parts.scheme, f"{host}:{parts.port}" if parts.port else host, parts.path, "", ""))


def backoff(attempts: int, rng: random.Random) -> float:
    """Seconds until the next try after `attempts` failed ones: doubling from FIRST_RETRY_SECONDS up to
    MAX_RETRY_SECONDS, each spread by +-20% so that receivers coming back are not hit all at once."""
    delay = min(FIRST_RETRY_SECONDS * 2 ** min(attempts - 1, 30), MAX_RETRY_SECONDS)
    return float(delay * rng.uniform(0.8, 1.2))


class Sender:
    """The sending thread of one server: every `interval` seconds, the due events, `batch` at a time, sent by
    `workers` threads (one slow receiver delays only the events in its hands, each POST bounded by `timeout`)."""

    def __init__(self, store: Store, urls: tuple[str, ...], secret: Secret | None, *, interval: float = 0.5,
                 lease_seconds: float = 60.0, timeout: float = 10.0, batch: int = 32, workers: int = 4) -> None:
        self.store = store
        self.urls = urls
        self.secret = secret
        self.owner = owner_id()
        self.interval = interval
        self.lease_seconds = max(lease_seconds, 3 * timeout)
        self.timeout = timeout
        self.batch = batch
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="clarimon-notify")
        self._rng = random.Random()
        self._closing = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True, name="clarimon-notifications")
        # urllib without proxies: receivers are addressed directly, as configured.
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def start(self) -> None:
        """Take back the events of senders of this host that died, then send every `interval` seconds."""
        with self.store.transaction() as conn:
            released = outbox.release_gone(conn, owner_gone)
        if released:
            log.warning("notifications of a stopped server taken back count=%d", released)
        self._thread.start()

    def close(self) -> None:
        """Stop sending; events not yet delivered stay in the outbox for the next start (or another server)."""
        self._closing.set()
        if self._thread.is_alive():
            self._thread.join(timeout=2 * self.timeout + 5)
        self._pool.shutdown(wait=True, cancel_futures=True)
        try:  # what this server claimed and did not send is anyone's again at once
            with self.store.transaction() as conn:
                outbox.release_gone(conn, lambda owner: owner == self.owner)
        except Exception:  # the database is away: the claims run out by themselves
            log.warning("notification claims not released owner=%s", self.owner)

    def send_due(self) -> int:
        """One round: claim the due events and send them; returns how many every receiver now has."""
        now = time.time()
        with self.store.reading() as conn:  # a cheap look first: no write transaction while nothing is due
            if not outbox.any_due(conn, now):
                return 0
        with self.store.transaction() as conn:
            claimed = outbox.claim(conn, self.owner, now, self.lease_seconds, self.batch)
        # A POST starts only while the claim outlasts it, so no other server takes an event being sent.
        deadline = time.monotonic() + self.lease_seconds - self.timeout - 1
        # One resource's events go out one after the other, in the order of their changes; resources in parallel.
        by_resource: dict[str, list[outbox.Event]] = {}
        for row in claimed:
            by_resource.setdefault(row.resource, []).append(row)
        return sum(self._pool.map(lambda rows: sum(self._send(row, deadline) for row in rows), by_resource.values()))

    def _send(self, row: outbox.Event, deadline: float) -> bool:
        """POST one event to the receivers that lack it; record the outcome. True when all have it."""
        delivered = list(row.delivered_to)
        error, late = "", False
        try:
            body = orjson.dumps(events.event(row))
        except Exception as failure:  # a row that cannot be rendered is retried, then dropped, never loops
            log.exception("notification cannot be made event=%s kind=%s", row.event_id, row.kind)
            body, error = b"", f"{type(failure).__name__}: {failure}"
        if body:
            for url in self.urls:
                if receiver_key(url) in delivered:
                    continue
                if time.monotonic() > deadline:  # the claim runs out: the rest goes next round, not a failure
                    late = True
                    break
                problem = self._post(url, row.event_id, body)
                if problem is None:
                    delivered.append(receiver_key(url))
                else:
                    error = f"{shown(url)}: {problem}"
        done = not error and not late
        attempts = row.attempts + 1 if error else row.attempts
        with self.store.transaction() as conn:
            if done or attempts >= MAX_ATTEMPTS:
                outbox.delivered(conn, row.id)
            else:
                at = time.time() + backoff(attempts, self._rng) if error else time.time()
                outbox.retry(conn, row.id, self.owner, at=at, delivered_to=tuple(delivered), error=error,
                             failed=bool(error))
        if done:
            log.info("notification sent event=%s kind=%s status=%s receivers=%d", row.event_id, row.kind,
                     row.status, len(self.urls))
        elif attempts >= MAX_ATTEMPTS:
            log.error("notification dropped after %d attempts event=%s kind=%s error=%s", attempts, row.event_id,
                      row.kind, error)
        elif error:
            log.warning("notification not delivered event=%s attempt=%d error=%s", row.event_id, attempts, error)
        return done

    def _post(self, url: str, event_id: str, body: bytes) -> str | None:
        """POST the body; None when the receiver answered 2xx, else what went wrong."""
        headers = {"Content-Type": "application/json", "User-Agent": "clarimon-notifications",
                   EVENT_HEADER: event_id}
        if self.secret is not None:
            stamp = str(int(time.time()))
            headers[TIMESTAMP_HEADER] = stamp
            headers[SIGNATURE_HEADER] = signature(self.secret.value, stamp, body)
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                response.read(65536)
                return None if 200 <= response.status < 300 else f"HTTP {response.status}"
        except urllib.error.HTTPError as failure:
            return f"HTTP {failure.code}"
        except (OSError, ValueError) as failure:  # refused, unreachable, timed out, a malformed answer
            return f"{type(failure).__name__}: {failure}"

    def _loop(self) -> None:
        while not self._closing.is_set():
            try:
                self.send_due()
            except Exception:  # the database may be briefly away: keep sending
                log.exception("sending notifications failed")
            self._closing.wait(self.interval)
