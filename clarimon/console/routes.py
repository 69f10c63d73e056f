"""The console's routes under `/console/`: which page a request gets, for whom, and with which headers.

Every page but the sign-in form and the static files needs a viewer (`sessions`); without one, a page request is
sent to the sign-in form. Pages are read-only: the only POSTs are signing in and out. Responses forbid framing
and any script or style not served from here (Content-Security-Policy), so a name shown on a page can never run.
"""

from __future__ import annotations

import logging
import mimetypes
from dataclasses import dataclass, field
from importlib import resources as package_files
from urllib.parse import parse_qs, quote, unquote, urlsplit

from clarimon.console import pages
from clarimon.console.charts import when
from clarimon.console.layout import ROOT, page, schedule_href
from clarimon.console.sessions import Sessions, Viewer
from clarimon.console.traffic import section
from clarimon.control import dashboard
from clarimon.control.context import Services
from clarimon.objects import ObjectError

log = logging.getLogger("clarimon.console")

HTML = "text/html; charset=utf-8"
SECURITY_HEADERS = (
    ("content-security-policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                                "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"),
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "same-origin"),
    ("cache-control", "no-store"),
)
# An execution's output files are the account's own objects: served as a sandboxed document of no origin, so
# that an HTML file among them cannot act as the console.
FILE_HEADERS = (("content-security-policy", "sandbox"), ("x-content-type-options", "nosniff"),
                ("cache-control", "no-store"))
STATIC = ("console.css", "console.js")
MAX_FORM_BYTES = 8192
MAX_FILE_BYTES = 16 * 1024 * 1024


@dataclass
class Answer:
    """What the console answers: a status, a body, its type and further headers."""

    status: int
    body: bytes
    content_type: str = HTML
    headers: list[tuple[str, str]] = field(default_factory=list)


class Console:
    """The read-only web console of one server."""

    def __init__(self, services: Services, sessions: Sessions) -> None:
        self.services = services
        self.sessions = sessions
        folder = package_files.files("clarimon.console") / "static"
        self.static = {name: (folder / name).read_bytes() for name in STATIC}

    def answer(self, method: str, path: str, query: str, headers: dict[str, str], body: bytes) -> Answer:
        """The answer to one request under /console (blocking: it reads the database)."""
        if path == "/console":
            return _redirect(ROOT)
        rest = path[len(ROOT):]
        if rest.startswith("static/") and method == "GET":
            return self._static(rest[len("static/"):])
        if rest == "sign-in":
            return self._sign_in(method, query, headers, body)
        if rest == "sign-out" and method == "POST":
            if not _same_origin(headers):
                return _plain(403, "Cross-site request refused.")
            return Answer(303, b"", HTML, [("location", f"{ROOT}sign-in"), ("set-cookie", Sessions.clear_cookie())])
        if method != "GET":
            return _plain(405, "The console is read-only.")
        viewer = self.sessions.viewer(headers.get("cookie"))
        if viewer is None:
            target = path + (f"?{query}" if query else "")
            return _redirect(f"{ROOT}sign-in?next={quote(target, safe='')}")
        return self._page(viewer, [unquote(p) for p in rest.split("/")] if rest else [], parse_qs(query))

    def _page(self, viewer: Viewer, parts: list[str], query: dict[str, list[str]]) -> Answer:
        services, account = self.services, viewer.account
        frame = _Frame(viewer)
        match parts:
            case []:
                return frame.show("Model dashboard", pages.overview(dashboard.overview(services, account)))
            case ["schedules", region, name]:
                limit = _whole(query.get("last", [""])[0], dashboard.HISTORY)
                found = dashboard.schedule(services, account, region, name, limit=limit)
                if found is None:
                    return frame.missing(f"No monitoring schedule {name} in {region}.")
                return frame.show(f"Monitoring schedule {name}", pages.schedule(found), [(name, None)])
            case ["executions", region, number] if number.isdigit():
                shown = dashboard.execution(services, account, region, int(number))
                if shown is None:
                    return frame.missing(f"No monitoring execution {number} in {region}.")
                x = shown.execution
                body = (pages.execution(shown)
                        + "<h2>Output files</h2>" + pages.files(region, x.id, self._outputs(shown))
                        + "<h2>Execution log</h2>" + pages.log(self._text(shown, "execution.log")))
                crumbs = [(x.schedule_name, schedule_href(region, x.schedule_name)),
                          (when(x.scheduled_time), None)]
                return frame.show(f"Execution of {x.schedule_name}", body, crumbs)
            case ["executions", region, number, "files", *names] if number.isdigit() and names:
                return self._file(account, region, int(number), "/".join(names))
            case ["endpoints", region, name]:
                endpoint = dashboard.endpoint(services, account, region, name)
                if endpoint is None:
                    return frame.missing(f"No endpoint {name} in {region}.")
                traffic = section(account, region, endpoint.endpoint["EndpointName"])
                return frame.show(f"Endpoint {name}", pages.endpoint(endpoint, traffic), [(name, None)])
        return frame.missing("No such console page.")

    def _outputs(self, shown: dashboard.ExecutionView) -> list[str]:
        if shown.output_uri is None:
            return []
        prefix = shown.output_uri.rstrip("/") + "/"
        try:
            return [uri[len(prefix):] for uri in self.services.objects.list(prefix)]
        except ObjectError:
            return []

    def _text(self, shown: dashboard.ExecutionView, name: str) -> str | None:
        if shown.output_uri is None:
            return None
        try:
            return self.services.objects.read(f"{shown.output_uri.rstrip('/')}/{name}").decode(errors="replace")
        except ObjectError:
            return None

    def _file(self, account: str, region: str, execution_id: int, name: str) -> Answer:
        """One output file of the account's execution; only files under that execution's output prefix."""
        shown = dashboard.execution(self.services, account, region, execution_id)
        if shown is None or shown.output_uri is None or name not in self._outputs(shown):
            return _plain(404, "No such output file.")
        data = self.services.objects.read(f"{shown.output_uri.rstrip('/')}/{name}")
        if len(data) > MAX_FILE_BYTES:
            return _plain(413, f"{name} is larger than {MAX_FILE_BYTES // 2**20} MB; read it from the object store.")
        kind = mimetypes.guess_type(name)[0] or "text/plain"
        if kind.startswith("text/") or kind == "application/json":
            kind += "; charset=utf-8"
        return Answer(200, data, kind, list(FILE_HEADERS))

    def _static(self, name: str) -> Answer:
        data = self.static.get(name)
        if data is None:
            return _plain(404, "No such file.")
        kind = "text/css; charset=utf-8" if name.endswith(".css") else "text/javascript; charset=utf-8"
        return Answer(200, data, kind, [("cache-control", "public, max-age=3600"),
                                        ("x-content-type-options", "nosniff")])

    def _sign_in(self, method: str, query: str, headers: dict[str, str], body: bytes) -> Answer:
        if self.sessions.anonymous:
            return _redirect(ROOT)
        if method == "GET":
            return _html(page("Sign in", pages.sign_in(next_path=_local(parse_qs(query).get("next", [ROOT])[0]))))
        if method != "POST":
            return _plain(405, "Sign in with GET (the form) or POST.")
        if not _same_origin(headers):
            return _plain(403, "Cross-site request refused.")
        if len(body) > MAX_FORM_BYTES:
            return _plain(413, "The sign-in form is too large.")
        form = parse_qs(body.decode(errors="replace"))
        key_id, secret = form.get("key_id", [""])[0], form.get("secret", [""])[0]
        target = _local(form.get("next", [ROOT])[0])
        cookie = self.sessions.sign_in(key_id.strip(), secret)
        if cookie is None:
            log.info("console sign-in refused key=%s", key_id.strip()[:128] or "-")
            return _html(page("Sign in", pages.sign_in(problem="The access key id or the secret is wrong.",
                                                       next_path=target)), status=401)
        log.info("console sign-in key=%s", key_id.strip())
        return Answer(303, b"", HTML, [("location", target), ("set-cookie", self.sessions.set_cookie(cookie))])


def _html(text: str, status: int = 200) -> Answer:
    return Answer(status, text.encode(), HTML, list(SECURITY_HEADERS))


def _plain(status: int, text: str) -> Answer:
    return Answer(status, text.encode(), "text/plain; charset=utf-8", list(SECURITY_HEADERS))


@dataclass(frozen=True)
class _Frame:
    """Pages framed for one viewer: their account in the header, a sign-out button when signed in."""

    viewer: Viewer

    def show(self, title: str, body: str, crumbs: list[tuple[str, str | None]] | None = None,
             status: int = 200) -> Answer:
        return _html(page(title, body, account=self.viewer.account, signed_in=self.viewer.key_id is not None,
                          crumbs=crumbs or []), status)

    def missing(self, what: str) -> Answer:
        return self.show("Not found", pages.not_found(what), status=404)


def _redirect(location: str) -> Answer:
    return Answer(303, b"", HTML, [("location", location), *SECURITY_HEADERS])


def _local(target: str) -> str:
    """A sign-in's `next` page, only ever a console page of this server (never another site)."""
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith(ROOT) or "\\" in target:
        return ROOT
    return target


def _same_origin(headers: dict[str, str]) -> bool:
    """False when the browser says the form was posted from another site (Origin, else Sec-Fetch-Site)."""
    origin = headers.get("origin")
    if origin is not None and origin != "null":
        return urlsplit(origin).netloc == headers.get("host", "")
    return headers.get("sec-fetch-site", "same-origin") in ("same-origin", "none")


def _whole(text: str, default: int) -> int:
    return int(text) if text.isdigit() and 0 < int(text) <= dashboard.MAX_HISTORY else default
