from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from clarimon.store import Store
from tests.conftest import database_url


@pytest.fixture
def store(backend: str, tmp_path: Path) -> Iterator[Store]:
    """A migrated store on each backend."""
    with ExitStack() as stack:
        opened = Store(database_url(stack, backend, tmp_path))
        opened.upgrade()
        yield opened
        opened.close()
