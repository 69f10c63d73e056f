"""Request validation driven by botocore's input shapes, with AWS's error messages.

AWS (Coral) reports every violated constraint of a request in one ValidationException:
``2 validation errors detected: Value 'x' at 'jobDefinitionName' failed to satisfy constraint: ...; ...``.
Member paths are lower camel case, list elements are ``name.<1-based index>.member``. A value of the wrong
JSON type is not a validation error but a SerializationException, as AWS answers it.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import regex
from botocore.model import ListShape, MapShape, Shape, StructureShape

from clarimon.errors import SerializationException, ValidationException
from clarimon.timestamps import parse_timestamp

MAX_DEPTH = 64

# Values a member's documentation lists where the model's constraints are wider, by botocore shape name:
# ServerlessConfig.MemorySizeInMB has min 1024 and max 6144 in the model, but "Valid values are in 1 GB
# increments: 1024 MB, 2048 MB, 3072 MB, 4096 MB, 5120 MB, or 6144 MB" (SageMaker refuses 1111).
DOCUMENTED_VALUES: dict[str, tuple[int, ...]] = {
    "ServerlessMemorySizeInMB": (1024, 2048, 3072, 4096, 5120, 6144),
}


_SURROGATE_PAIR = regex.compile(r"\\u(D[89AB][0-9A-F]{2})\\u(D[C-F][0-9A-F]{2})", regex.IGNORECASE)


@functools.cache
def compiled_pattern(pattern: str) -> regex.Pattern[str]:
    """A botocore pattern compiled for full matching (patterns use `\\p{L}` and friends).

    The models are written for Java, whose strings are UTF-16: a range such as `\\uD800\\uDC00-\\uDBFF\\uDFFF`
    means the code points U+10000 to U+10FFFF, which Python spells `\\U00010000-\\U0010FFFF`."""
    return regex.compile(_SURROGATE_PAIR.sub(_code_point, pattern))


def _code_point(pair: regex.Match[str]) -> str:
    high, low = int(pair.group(1), 16), int(pair.group(2), 16)
    return f"\\U{0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00):08X}"


def validate(shape: StructureShape | None, request: dict[str, Any]) -> None:
    """Raise ValidationException naming every violated constraint of `request`, or return."""
    if shape is None:
        return
    errors: list[str] = []
    _check_structure(shape, request, "", errors, 0)
    if errors:
        noun = "error" if len(errors) == 1 else "errors"
        raise ValidationException(f"{len(errors)} validation {noun} detected: " + "; ".join(errors))


def member_path(parent: str, member: str) -> str:
    """The path of `member` under `parent` as AWS's messages write it: lower camel case, dotted."""
    name = member[:1].lower() + member[1:]
    return f"{parent}.{name}" if parent else name


def render(value: Any) -> str:
    """A value as AWS's Java services print it inside quotes."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(render(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={render(v)}" for k, v in value.items()) + "}"
    return str(value)


def _violation(value: Any, path: str, constraint: str) -> str:
    shown = "null" if value is None else f"'{render(value)}'"
    return f"Value {shown} at '{path}' failed to satisfy constraint: {constraint}"


def _check(shape: Shape, value: Any, path: str, errors: list[str], depth: int) -> None:
    if depth > MAX_DEPTH:
        raise SerializationException(f"Request nests deeper than {MAX_DEPTH} levels at '{path}'.")
    kind = shape.type_name
    if isinstance(shape, StructureShape):
        _expect(isinstance(value, dict), value, shape, path)
        _check_structure(shape, value, path, errors, depth)
    elif isinstance(shape, ListShape):
        _expect(isinstance(value, list), value, shape, path)
        errors.extend(_size_errors(shape, value, path, "length"))
        for index, item in enumerate(value, start=1):
            if item is not None:
                _check(shape.member, item, f"{path}.{index}.member", errors, depth + 1)
    elif isinstance(shape, MapShape):
        _expect(isinstance(value, dict), value, shape, path)
        errors.extend(_size_errors(shape, value, path, "length"))
        _check_map(shape, value, path, errors, depth)
    elif kind == "string":
        _expect(isinstance(value, str), value, shape, path)
        errors.extend(_string_errors(shape, value, path))
    elif kind in ("integer", "long"):
        integral = isinstance(value, int) or (isinstance(value, float) and value.is_integer())
        _expect(integral and not isinstance(value, bool), value, shape, path)
        outside = _size_errors(shape, value, path, "value")
        errors.extend(outside)
        allowed = DOCUMENTED_VALUES.get(shape.name)
        if allowed is not None and not outside and value not in allowed:
            errors.append(_violation(value, path, "Member must satisfy enum value set: ["
                                     + ", ".join(str(v) for v in allowed) + "]"))
    elif kind in ("double", "float"):
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        _expect(number and math.isfinite(value), value, shape, path)
        errors.extend(_size_errors(shape, value, path, "value"))
    elif kind == "boolean":
        _expect(isinstance(value, bool), value, shape, path)
    elif kind == "timestamp":
        parse_timestamp(value, path)
    elif kind == "blob":
        _expect(isinstance(value, str), value, shape, path)


def _check_structure(
    shape: StructureShape, value: dict[str, Any], path: str, errors: list[str], depth: int
) -> None:
    for name in shape.required_members:
        if value.get(name) is None:
            errors.append(_violation(None, member_path(path, name), "Member must not be null"))
    for name, member in shape.members.items():
        item = value.get(name)
        if item is not None:
            _check(member, item, member_path(path, name), errors, depth + 1)


def _check_map(shape: MapShape, value: dict[str, Any], path: str, errors: list[str], depth: int) -> None:
    key_problems: list[str] = []
    value_problems: list[str] = []
    for key, item in value.items():
        key_problems.extend(c for c in _string_constraints(shape.key, key) if c not in key_problems)
        if item is None:
            continue
        if shape.value.type_name == "string":
            _expect(isinstance(item, str), item, shape.value, f"{path}.{key}")
            value_problems.extend(c for c in _string_constraints(shape.value, item) if c not in value_problems)
        else:
            _check(shape.value, item, f"{path}.{key}", errors, depth + 1)
    if key_problems:
        errors.append(_violation(value, path, "Map keys must satisfy constraint: [" + ", ".join(key_problems) + "]"))
    if value_problems:
        errors.append(
            _violation(value, path, "Map value must satisfy constraint: [" + ", ".join(value_problems) + "]")
        )


def _string_constraints(shape: Shape, value: str) -> list[str]:
    meta = shape.metadata
    problems = []
    if "max" in meta and len(value) > meta["max"]:
        problems.append(f"Member must have length less than or equal to {meta['max']}")
    if "min" in meta and len(value) < meta["min"]:
        problems.append(f"Member must have length greater than or equal to {meta['min']}")
    if "enum" in meta and value not in meta["enum"]:
        problems.append("Member must satisfy enum value set: [" + ", ".join(meta["enum"]) + "]")
    if "pattern" in meta and compiled_pattern(meta["pattern"]).fullmatch(value) is None:
        # AWS prints the model's pattern as it stands (its messages show no anchors the model lacks).
        problems.append(f"Member must satisfy regular expression pattern: {meta['pattern']}")
    return problems


def _string_errors(shape: Shape, value: str, path: str) -> list[str]:
    return [_violation(value, path, c) for c in _string_constraints(shape, value)]


def string_errors(shape: Shape, value: str, path: str) -> str | None:
    """AWS's ValidationException message for a string member outside its constraints (one taken from a URL path,
    where no request body names it), or None."""
    errors = _string_errors(shape, value, path)
    if not errors:
        return None
    noun = "error" if len(errors) == 1 else "errors"
    return f"{len(errors)} validation {noun} detected: " + "; ".join(errors)


def _size_errors(shape: Shape, value: Any, path: str, measure: str) -> list[str]:
    meta = shape.metadata
    size = len(value) if measure == "length" else value
    problems = []
    if "max" in meta and size > meta["max"]:
        problems.append(_violation(value, path, f"Member must have {measure} less than or equal to {meta['max']}"))
    if "min" in meta and size < meta["min"]:
        problems.append(_violation(value, path, f"Member must have {measure} greater than or equal to {meta['min']}"))
    return problems


_JSON_KIND = {
    "structure": "START_OBJECT",
    "map": "START_OBJECT",
    "list": "START_ARRAY",
    "string": "VALUE_STRING",
    "blob": "VALUE_STRING",
    "boolean": "VALUE_TRUE or VALUE_FALSE",
    "integer": "VALUE_NUMBER_INT",
    "long": "VALUE_NUMBER_INT",
    "double": "VALUE_NUMBER_FLOAT",
    "float": "VALUE_NUMBER_FLOAT",
}


def _expect(ok: bool, value: Any, shape: Shape, path: str) -> None:
    if not ok:
        raise SerializationException(
            f"Unexpected value {render(value)!r} at '{path}': "
            f"expected {_JSON_KIND.get(shape.type_name, shape.type_name)} for {shape.name}."
        )
