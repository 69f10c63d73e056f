"""Per-account, per-region quotas on how many resources of a kind may exist."""

from __future__ import annotations

from sqlalchemy.engine import Connection

from clarimon.control.context import Context
from clarimon.errors import ResourceLimitExceeded
from clarimon.store import resources

_NOUNS = {
    "model-explainability-job-definition": "model explainability job definitions",
    "model": "models",
    "endpoint-config": "endpoint configurations",
    "endpoint": "endpoints",
    "monitoring-schedule": "monitoring schedules",
}


def reserve(ctx: Context, conn: Connection, kind: str) -> None:
    """Raise ResourceLimitExceeded when one more `kind` would pass the quota (call inside the write)."""
    limit = ctx.settings.quotas.get(kind)
    if limit is None:
        return
    ctx.store.lock(conn, "quota", ctx.account, ctx.region, kind)
    if resources.count(conn, kind, ctx.account, ctx.region) >= limit:
        raise ResourceLimitExceeded(
            f"The account-level service limit for {_NOUNS.get(kind, kind)} is {limit} in {ctx.region};"
            " delete some or raise the quota (--quota)."
        )
