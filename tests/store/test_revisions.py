"""Migrations generated from the tables: a lost revision comes back from `store.tables` alone."""

from __future__ import annotations

import shutil
from pathlib import Path

from clarimon.store.revisions import MIGRATIONS, generate


def test_the_next_revision_is_what_the_tables_add(tmp_path: Path) -> None:
    migrations = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS, migrations, ignore=shutil.ignore_patterns("__pycache__"))
    for lost in (migrations / "versions").glob("0*.py"):  # the revisions after 0001
        if not lost.name.startswith("0001_"):
            lost.unlink()

    written = generate("executions again", migrations)

    assert written.name == "0002_executions_again.py"
    text = written.read_text()
    assert "revision = '0002'" in text and "down_revision = '0001'" in text
    for made in ("op.create_table('executions'", "op.create_table('leases'", "op.create_index('executions_by_schedule'",
                 "name='executions_once'", "op.add_column('resources', sa.Column('job_definition_name'",
                 "op.add_column('resources', sa.Column('monitoring_type'", "op.create_table('buckets'",
                 "op.create_table('execution_results'", "op.create_table('alert_history'"):
        assert made in text, made


def test_nothing_to_add_writes_an_empty_revision(tmp_path: Path) -> None:
    migrations = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS, migrations, ignore=shutil.ignore_patterns("__pycache__"))
    head = max(int(path.name[:4]) for path in (migrations / "versions").glob("0*.py"))
    written = generate("nothing", migrations)
    assert written.name == f"{head + 1:04d}_nothing.py"
    upgrade = written.read_text().split("def upgrade() -> None:")[1].split("def downgrade")[0]
    assert [line.strip() for line in upgrade.splitlines() if line.strip() and not line.strip().startswith("#")] == [
        "pass"]
