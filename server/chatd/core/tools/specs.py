"""Checking tool specs as clients give them, and tool arguments as models write them."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from chatd.core.store.base import ToolSpec
from chatd.errors import InvalidParams

log = logging.getLogger(__name__)

TOOL_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
"""What Anthropic, OpenAI and Gemini all accept as a function name."""

APPROVALS = ("auto", "ask", "deny")

DEFAULT_TIMEOUT_MS = 60_000
"""A tool answering in a minute is slow; one that never answers must not hold the turn."""

MAX_TIMEOUT_MS = 600_000
"""Ten minutes: a build or a test run, not an unattended wait forever."""

DEFAULT_PARAMETERS: dict[str, Any] = {"type": "object"}

TOP_LEVEL_COMBINATORS = ("oneOf", "anyOf", "allOf")
"""Anthropic rejects these at the root of ``input_schema``, OpenAI wants a plain object there."""


def checked_spec(spec: ToolSpec) -> ToolSpec:
    """``spec`` with its defaults filled in.

    :raises InvalidParams: bad name, approval, timeout or JSON Schema.
    """
    if not TOOL_NAME.match(spec.name):
        raise InvalidParams(
            f"tool name {spec.name[:80]!r} must match {TOOL_NAME.pattern}", field="tools"
        )
    if spec.approval not in APPROVALS:
        raise InvalidParams(
            f"tool {spec.name}: approval must be one of {', '.join(APPROVALS)}", field="tools"
        )
    if spec.timeout_ms is not None and not 1 <= spec.timeout_ms <= MAX_TIMEOUT_MS:
        raise InvalidParams(
            f"tool {spec.name}: timeoutMs must be between 1 and {MAX_TIMEOUT_MS}", field="tools"
        )
    parameters = {**DEFAULT_PARAMETERS, **(spec.parameters or {})}
    problem = schema_problem(parameters)
    if problem is not None:
        raise InvalidParams(f"tool {spec.name}: parameters: {problem}", field="tools")
    return replace(spec, parameters=parameters)


def checked_specs(specs: Iterable[ToolSpec]) -> list[ToolSpec]:
    """:raises InvalidParams: as ``checked_spec``, or a name given twice."""
    checked = [checked_spec(spec) for spec in specs]
    names = [spec.name for spec in checked]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise InvalidParams(f"tool names given twice: {', '.join(duplicates)}", field="tools")
    return checked


def schema_problem(schema: dict[str, Any]) -> str | None:
    """Why ``schema`` is not a JSON Schema for an object, or None."""
    import jsonschema

    if schema.get("type", "object") != "object":
        return 'the schema must describe an object ("type": "object")'
    combinators = [key for key in TOP_LEVEL_COMBINATORS if key in schema]
    if combinators:
        return f"{combinators[0]} is not accepted at the top level; put it inside a property"
    try:
        jsonschema.validators.validator_for(schema).check_schema(schema)
    except jsonschema.SchemaError as exc:
        return str(exc.message)
    return None


def arguments_problem(spec: ToolSpec, arguments: dict[str, Any]) -> str | None:
    """Why the model's ``arguments`` do not fit the tool's schema, or None."""
    import jsonschema
    import referencing.exceptions

    schema = spec.parameters or DEFAULT_PARAMETERS
    try:
        validator = jsonschema.validators.validator_for(schema)(schema)
        error = jsonschema.exceptions.best_match(validator.iter_errors(arguments))
    except (
        jsonschema.SchemaError,
        jsonschema.exceptions.UnknownType,
        referencing.exceptions.Unresolvable,
    ) as exc:
        log.info("tool %s has a schema chatd cannot check against: %s", spec.name, exc)
        return None  # an MCP server's broken schema: the server judges the arguments
    if error is None:
        return None
    where = "/".join(str(part) for part in error.absolute_path)
    return f"{where}: {error.message}" if where else error.message
