"""chatd: a JSON-RPC daemon holding persistent, multi-provider LLM conversations."""

__version__ = "0.1.0"
