"""Structured answers: the schema a ``chat/ask`` answer must match, and checking that it does.

Every provider gets the same request: one JSON value matching the caller's schema. APIs that
only take an object at the top (Anthropic tool input, OpenAI strict ``json_schema``) get any
other schema wrapped as ``{"value": <schema>}``, for every provider alike, and the answer is
unwrapped here. ``jsonschema`` is imported on first use, not at start-up.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from typing import Any

from chatd.errors import InvalidParams

DEFAULT_ANSWER_NAME = "submit_response"
"""The reference's name for the answer tool; OpenAI's schema name and Claude's tool name."""

ANSWER_TOOL_DESCRIPTION = "Submit the answer: its input is the JSON the user asked for."

WRAPPED_KEY = "value"

MAX_REPORTED_ERRORS = 8
"""Validation errors sent back to the model and the client: enough to fix, short enough to read."""

NAME_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
"""What Anthropic tool names and OpenAI schema names both accept."""


@dataclass(frozen=True, slots=True)
class AnswerFormat:
    schema: dict[str, Any]
    """The caller's schema, as given."""
    name: str = DEFAULT_ANSWER_NAME

    @property
    def wrapped(self) -> bool:
        return self.schema.get("type") != "object"

    @property
    def wire_schema(self) -> dict[str, Any]:
        """The schema sent to the provider: always an object."""
        if not self.wrapped:
            return self.schema
        return {
            "type": "object",
            "properties": {WRAPPED_KEY: self.schema},
            "required": [WRAPPED_KEY],
            "additionalProperties": False,
        }

    def read(self, raw: str | dict[str, Any]) -> tuple[Any, list[str]]:
        """The answer from the model's JSON text (or tool input), and what is wrong with it."""
        if isinstance(raw, str):
            try:
                value: Any = json.loads(raw)
            except json.JSONDecodeError as exc:
                return None, [f"the answer is not JSON: {exc.msg} at position {exc.pos}"]
        else:
            value = raw
        if self.wrapped:
            if not isinstance(value, dict) or WRAPPED_KEY not in value:
                return None, [f"the answer must be an object with the key {WRAPPED_KEY!r}"]
            value = value[WRAPPED_KEY]
        return value, validation_errors(value, self.schema)


def answer_format(schema: Any, name: str | None) -> AnswerFormat:
    """:raises InvalidParams: the schema is not a valid JSON Schema, or the name is unusable."""
    if not isinstance(schema, dict):
        raise InvalidParams("schema must be a JSON Schema object", field="schema")
    _check_schema(json.dumps(schema, sort_keys=True))
    if name is not None and not NAME_PATTERN.match(name):
        raise InvalidParams(
            "schemaName must be 1-64 letters, digits, '_' or '-'", field="schemaName"
        )
    return AnswerFormat(schema, name or DEFAULT_ANSWER_NAME)


@functools.lru_cache(maxsize=256)
def _check_schema(canonical: str) -> None:
    """Checking against the meta-schema takes milliseconds: a client asking with the same
    schema again pays it once (an invalid one raises, and is not cached)."""
    from jsonschema import SchemaError, validators

    schema = json.loads(canonical)
    try:
        validators.validator_for(schema).check_schema(schema)
    except SchemaError as exc:
        message = f"schema is not a valid JSON Schema: {exc.message}"
        raise InvalidParams(message, field="schema") from None


def validation_errors(value: Any, schema: dict[str, Any]) -> list[str]:
    from jsonschema import validators

    validator = validators.validator_for(schema)(schema)
    errors = sorted(validator.iter_errors(value), key=lambda error: list(error.absolute_path))
    return [
        f"at {error.json_path}: {error.message}"[:300] for error in errors[:MAX_REPORTED_ERRORS]
    ]


def example_value(schema: Any) -> Any:
    """A deterministic value of ``schema``'s shape, for the offline echo provider."""
    if not isinstance(schema, dict):
        return None
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    for key in ("anyOf", "oneOf", "allOf"):
        if schema.get(key):
            return example_value(schema[key][0])
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object" or (kind is None and "properties" in schema):
        properties = schema.get("properties") or {}
        return {name: example_value(sub) for name, sub in properties.items()}
    if kind == "array":
        count = max(1, int(schema.get("minItems", 1)))
        return [example_value(schema.get("items", {})) for _ in range(count)]
    if kind in ("integer", "number"):
        low = schema.get("minimum", schema.get("exclusiveMinimum", -1) + 1)
        return int(low) if kind == "integer" else float(low)
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    length = int(schema.get("minLength", 0))
    return "echo" + "o" * max(0, length - 4)
