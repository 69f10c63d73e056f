"""ARNs as SageMaker writes them: `arn:aws:sagemaker:<region>:<account>:<type>/<name lower-cased>`."""

from __future__ import annotations

from dataclasses import dataclass

import regex

from clarimon.control.context import Context

_ARN = regex.compile(r"arn:aws[a-z-]*:sagemaker:([a-z0-9-]*):(\d{12}):([a-z-]+)/(.+)")


def arn(ctx: Context, kind: str, name: str) -> str:
    """The ARN of the caller's resource `name` of `kind` (the name lower-cased, as SageMaker does)."""
    return of(ctx.account, ctx.region, kind, name)


def of(account: str, region: str, kind: str, name: str) -> str:
    """The ARN of the resource `name` of `kind` in an account and region."""
    return f"arn:aws:sagemaker:{region}:{account}:{kind}/{name.lower()}"


@dataclass(frozen=True)
class ParsedArn:
    """The parts of a SageMaker ARN: region, account, resource kind and name."""

    region: str
    account: str
    kind: str
    name: str


def parse(text: str) -> ParsedArn | None:
    """The parts of a SageMaker ARN, or None when it is not one."""
    found = _ARN.fullmatch(text)
    if found is None:
        return None
    return ParsedArn(found.group(1), found.group(2), found.group(3), found.group(4))


def canonical(text: str) -> str | None:
    """The ARN as clarimon stores it (names lower-cased, partition `aws`), or None when not a SageMaker ARN."""
    parts = parse(text)
    if parts is None:
        return None
    return f"arn:aws:sagemaker:{parts.region}:{parts.account}:{parts.kind}/{parts.name.lower()}"
