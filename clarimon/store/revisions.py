"""New migrations, generated from `store.tables` (the one schema): the difference between a database at the
current head and the tables, written as the next numbered revision (`clarimon db revision`).

It compares on SQLite; a difference only PostgreSQL shows (a collation) is added to the generated file by hand,
and `tests/store/test_tables.py` checks both backends.
"""

from __future__ import annotations

import importlib.resources as package_files
import tempfile
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory

MIGRATIONS = Path(str(package_files.files("clarimon.store") / "migrations"))


def generate(message: str, script_location: Path = MIGRATIONS) -> Path:
    """Write the next revision under `script_location`/versions and return its path (its upgrade is `pass`
    when the migrations already build the tables)."""
    config = Config()
    config.set_main_option("script_location", str(script_location))
    head = ScriptDirectory.from_config(config).get_current_head()
    revision = f"{int(head or 0) + 1:04d}"
    with tempfile.TemporaryDirectory(prefix="clarimon-revision-") as folder:
        engine = sa.create_engine(f"sqlite:///{Path(folder) / 'head.db'}")
        try:
            with engine.connect() as conn:
                config.attributes["connection"] = conn
                command.upgrade(config, "head")
                conn.commit()
                script = command.revision(config, message=message, autogenerate=True, rev_id=revision)
        finally:
            engine.dispose()
    if script is None or isinstance(script, list):  # alembic's answer when the history has several heads
        raise RuntimeError(f"No single revision was written under {script_location}: is there one head?")
    return Path(script.path)
