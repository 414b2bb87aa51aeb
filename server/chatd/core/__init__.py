"""The core: live sessions, providers, tools and the store. No JSON-RPC, no sockets here."""
