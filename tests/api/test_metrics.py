"""GET /metrics: who may scrape it, and what a scrape holds (parsed with prometheus_client's own parser)."""

from __future__ import annotations

from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from clarimon.config import Credential, Settings
from clarimon.server import assemble
from clarimon.store import Store
from tests.api.test_app import call, store  # noqa: F401 (fixture)


def test_a_token_is_required_when_set(store: Store, tmp_path: Path) -> None:  # noqa: F811
    app = assemble(Settings(home=tmp_path, database_url=store.url, metrics_token="s3cret-token"), store)
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic s3cret-token"},
                    {"Authorization": "Bearer s3cret-token-and-more"}):
        status, answer_headers, body = call(app, "GET", "/metrics", headers=headers)
        assert (status, answer_headers["www-authenticate"]) == (401, "Bearer"), headers
        assert b"--metrics-token" in body and b"s3cret" not in body
    status, answer_headers, body = call(app, "GET", "/metrics", headers={"Authorization": "Bearer s3cret-token"})
    assert status == 200 and answer_headers["content-type"].startswith("text/plain; version=0.0.4")
    names = {family.name for family in text_string_to_metric_families(body.decode())}
    assert {"clarimon_api_requests", "clarimon_capture_dropped_records"} <= names
    assert "s3cret" not in repr(app.services.settings)


def test_open_in_anonymous_mode_and_closed_with_credentials_but_no_token(store: Store,  # noqa: F811
                                                                         tmp_path: Path) -> None:
    anonymous = assemble(Settings(home=tmp_path, database_url=store.url), store)
    assert call(anonymous, "GET", "/metrics")[0] == 200
    signed = assemble(Settings(home=tmp_path, database_url=store.url,
                               credentials={"AKIDALICE": Credential("secret", "111111111111")}), store)
    status, _, body = call(signed, "GET", "/metrics")
    assert status == 403 and b"start it with --metrics-token" in body
