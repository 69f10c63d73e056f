"""The console's page frame and the small pieces every page is made of (escaped text, tables, links, badges)."""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from urllib.parse import quote

from clarimon.console.charts import when

ROOT = "/console/"


def e(value: object) -> str:
    """`value` as HTML text, escaped."""
    return html.escape("" if value is None else str(value), quote=True)


def page(title: str, body: str, *, account: str | None = None, signed_in: bool = False,
         crumbs: Sequence[tuple[str, str | None]] = ()) -> str:
    """A whole console page: the header (account, sign-out when signed in), breadcrumbs, `body`."""
    trail = " / ".join(f'<a href="{e(href)}">{e(text)}</a>' if href else e(text)
                       for text, href in (("Overview", ROOT), *crumbs))
    who = ""
    if account is not None:
        who = f'<span class="account">account {e(account)}</span>'
        if signed_in:
            who += (f'<form method="post" action="{ROOT}sign-out" class="inline">'
                    '<button type="submit">Sign out</button></form>')
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{e(title)} · clarimon</title><link rel="icon" href="data:,">
<link rel="stylesheet" href="{ROOT}static/console.css">
<script src="{ROOT}static/console.js" defer></script></head>
<body><header><a class="brand" href="{ROOT}">clarimon</a><nav>{trail}</nav>{who}</header>
<main><h1>{e(title)}</h1>
{body}
</main><div id="tip" class="tip" hidden></div></body></html>
"""


def table(headers: Sequence[str], rows: Iterable[Sequence[str]], *, empty: str = "None yet.",
          css: str = "") -> str:
    """A table of already-escaped cells; `empty` when there are no rows."""
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    if not body:
        return f'<p class="empty">{e(empty)}</p>'
    head = "".join(f"<th>{e(h)}</th>" for h in headers)
    return f'<table class="{e(css)}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def facts(pairs: Sequence[tuple[str, str]]) -> str:
    """A definition list of (term, already-escaped value)."""
    return '<dl class="facts">' + "".join(f"<dt>{e(k)}</dt><dd>{v}</dd>" for k, v in pairs) + "</dl>"


def link(href: str, text: object) -> str:
    """An escaped link."""
    return f'<a href="{e(href)}">{e(text)}</a>'


def status(value: str | None) -> str:
    """A status as a coloured badge."""
    if not value:
        return '<span class="badge none">-</span>'
    return f'<span class="badge s-{e(value)}">{e(value)}</span>'


def alert(value: str) -> str:
    """An alert status as a badge: red when InAlert."""
    return f'<span class="badge {"alarm" if value == "InAlert" else "ok"}">{e(value)}</span>'


def time_cell(seconds: float | None) -> str:
    """A time cell, UTC."""
    return e(when(seconds)) if seconds is not None else "-"


def number(value: float | None, digits: int = 4) -> str:
    """A number, or '-' when there is none."""
    return "-" if value is None else e(f"{value:.{digits}g}")


def part(name: str) -> str:
    """A name as one path segment of a console URL."""
    return quote(name, safe="")


def schedule_href(region: str, name: str) -> str:
    """A schedule's page."""
    return f"{ROOT}schedules/{part(region)}/{part(name)}"


def execution_href(region: str, execution_id: int) -> str:
    """An execution's page."""
    return f"{ROOT}executions/{part(region)}/{execution_id}"


def endpoint_href(region: str, name: str) -> str:
    """An endpoint's page."""
    return f"{ROOT}endpoints/{part(region)}/{part(name)}"

