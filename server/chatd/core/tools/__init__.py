"""A session's tools: in-process handlers, client-hosted tools, MCP servers, approval."""

from chatd.core.tools.registry import MAX_PARALLEL_TOOL_CALLS, Tool, ToolHandler, ToolRegistry

__all__ = ["MAX_PARALLEL_TOOL_CALLS", "Tool", "ToolHandler", "ToolRegistry"]
