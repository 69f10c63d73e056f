from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

import pytest
import sqlalchemy as sa

from clarimon.errors import ResourceInUse
from clarimon.store import Store, resources
from tests.conftest import database_url


def add(store: Store, conn: sa.Connection, name: str, now: float = 1.0) -> None:
    resources.insert(conn, kind="k", account="000000000000", region="r", name=name, arn=f"arn:k/{name.lower()}",
                     now=now, document={"Name": name}, tags=[])


def test_upgrade_is_idempotent(store: Store) -> None:
    store.upgrade()
    with store.reading() as conn:
        assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == "0005"


def test_transaction_commits(store: Store) -> None:
    with store.transaction() as conn:
        add(store, conn, "a")
    with store.reading() as conn:
        found = resources.get(conn, "arn:k/a")
    assert found is not None and found.document == {"Name": "a"}


def test_transaction_rolls_back_on_error_and_maps_conflicts(store: Store) -> None:
    with pytest.raises(RuntimeError):
        with store.transaction() as conn:
            add(store, conn, "b")
            raise RuntimeError("boom")
    with store.reading() as conn:
        assert resources.get(conn, "arn:k/b") is None
    with store.transaction() as conn:
        add(store, conn, "c")
    with pytest.raises(ResourceInUse, match="taken"):
        with store.transaction(conflict=ResourceInUse("taken")) as conn:
            add(store, conn, "d")
            add(store, conn, "C")  # same ARN as "c"
    with store.reading() as conn:
        assert resources.get(conn, "arn:k/d") is None  # the whole transaction rolled back


def test_secret_is_stable_across_store_objects(store: Store) -> None:
    other = Store(store.url)
    try:
        assert other.secret() == store.secret()
        assert len(store.secret()) == 32
    finally:
        other.close()


def test_page_orders_names_bytewise_and_pages_by_keyset(store: Store) -> None:
    with store.transaction() as conn:
        for i, name in enumerate(["b-1", "B-2", "a-3", "a_4"]):
            add(store, conn, name, now=float(i))
    query = resources.ListQuery(kind="k", account="000000000000", region="r", limit=2, sort_by="Name",
                                descending=False)
    with store.reading() as conn:
        first = resources.page(conn, query)
        assert [r.name for r in first] == ["B-2", "a-3", "a_4"]
        after = (first[1].name, first[1].id)
        second = resources.page(conn, resources.ListQuery(**{**query.__dict__, "after": after}))
        assert [r.name for r in second] == ["a_4", "b-1"]
        like = resources.page(conn, resources.ListQuery(**{**query.__dict__, "name_contains": "_"}))
        assert [r.name for r in like] == ["a_4"]  # LIKE wildcards are escaped


def test_upgrading_keeps_what_was_stored(backend: str, tmp_path: Path) -> None:
    """A database of the first schema, with a job definition in it, upgraded to the newest: the row stays whole."""
    with ExitStack() as stack:
        store = Store(database_url(stack, backend, tmp_path))
        store.upgrade("0001")
        with store.engine.begin() as conn:
            conn.execute(sa.text(
                "INSERT INTO resources (kind, account, region, name, arn, creation_time, last_modified_time, "
                "endpoint_name, status, document, tags) VALUES ('model-explainability-job-definition', "
                "'000000000000', 'us-east-1', 'old', 'arn:old', 1.5, 2.5, 'churn', NULL, '{\"RoleArn\": \"r\"}', "
                "'[{\"Key\": \"k\", \"Value\": \"v\"}]')"))
        store.upgrade()
        with store.reading() as conn:
            kept = resources.get(conn, "arn:old")
        store.close()
    assert kept is not None
    assert (kept.name, kept.endpoint_name, kept.creation_time, kept.document, kept.tags) == (
        "old", "churn", 1.5, {"RoleArn": "r"}, [{"Key": "k", "Value": "v"}])
    assert (kept.job_definition_name, kept.monitoring_type) == (None, None)
