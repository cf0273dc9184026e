"""Tools: the MCP server and client (land with their own issue)."""
