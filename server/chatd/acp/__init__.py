"""ACP v1 front end: the Agent Client Protocol over stdio, mapped onto the same core as ``rpc``.

The core never imports this package; it reaches the client only through the listeners and
interfaces it defines. Start-up imports neither pygls nor the ACP SDK's pydantic schema.
"""
