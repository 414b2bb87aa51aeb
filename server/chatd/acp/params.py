"""Request params checked against the ACP SDK's own schema models (``acp.schema``).

The schema module is pydantic and costs about a second to import, so it is loaded on the
first request that needs it (and warmed on a thread after ``initialize``), never at start-up.
"""

from __future__ import annotations

import gc
import importlib
import threading
from typing import Any

from chatd.errors import InvalidParams

_lock = threading.Lock()


def schema() -> Any:
    """The ``acp.schema`` module, imported once."""
    with _lock:
        return importlib.import_module("acp.schema")


def warm_up() -> None:
    """Import the schema on a thread, so the first ``session/new`` does not wait for it."""
    threading.Thread(target=_import_for_good, name="acp-schema-import", daemon=True).start()


def _import_for_good() -> None:
    """The schema's objects live as long as the process: kept out of every full collection
    (one over them took 20-27 ms here)."""
    schema()
    gc.freeze()


def client_capabilities(initialize: Any) -> dict[str, Any]:
    """``initialize``'s ``clientCapabilities``, checked by hand: the schema is not loaded yet.

    :raises InvalidParams: no integer ``protocolVersion``.
    """
    if not isinstance(initialize, dict) or type(initialize.get("protocolVersion")) is not int:
        raise InvalidParams("initialize needs an integer protocolVersion", field="protocolVersion")
    capabilities = initialize.get("clientCapabilities")
    return capabilities if isinstance(capabilities, dict) else {}


def parse(params: Any, model: str) -> Any:
    """``params`` as the named ``acp.schema`` model.

    :raises InvalidParams: naming the first wrong field.
    """
    from pydantic import ValidationError

    cls = getattr(schema(), model)
    try:
        return cls.model_validate({} if params is None else params)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "params"
        raise InvalidParams(
            f"invalid params: {where}: {first['msg']}",
            field=str(first["loc"][0]) if first["loc"] else None,
        ) from None
