"""``configOptions``: the provider and model selectors of a session.

A provider change follows ``chat/restore``'s rules (the session keeps its id only when the
new provider reads the same native history; otherwise -32602 naming both providers). The
model list offers the session's model and the provider's configured model; any model name
is accepted, as on ``chat/new``.
"""

from __future__ import annotations

from typing import Any

from chatd.core.providers import ProviderInfo
from chatd.core.session import Session

PROVIDER_OPTION = "provider"
MODEL_OPTION = "model"


def config_options(session: Session, providers: list[ProviderInfo]) -> list[dict[str, Any]]:
    current = session.provider.name
    provider_choices = [
        {"value": info.name, "name": info.name, "description": info.kind}
        for info in providers
        if info.available or info.name == current
    ]
    models = dict.fromkeys((session.conversation.model, session.provider.model))
    return [
        {
            "id": PROVIDER_OPTION,
            "name": "Provider",
            "description": "Which configured chatd provider answers",
            "category": "model_config",
            "type": "select",
            "currentValue": current,
            "options": provider_choices,
        },
        {
            "id": MODEL_OPTION,
            "name": "Model",
            "category": "model",
            "type": "select",
            "currentValue": session.conversation.model,
            "options": [{"value": model, "name": model} for model in models],
        },
    ]
