"""Whether a URL's host is this machine: plain http is allowed only there (providers, MCP).

Its own module, free of the core, because settings parsing needs it and the ``--shared``
forwarder reads the settings without loading the providers.
"""

from __future__ import annotations

import ipaddress


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
