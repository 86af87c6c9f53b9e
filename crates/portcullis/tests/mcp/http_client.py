"""A real MCP client (the official Python SDK) driving `portcullis serve --transport http`.

Usage: http_client.py URL TOKEN_FILE list
       http_client.py URL TOKEN_FILE call TOOL ARGS_JSON [--elicit accept|decline|cancel|none]

The bearer token is read from TOKEN_FILE (never passed on the command line). Prints one JSON
document on stdout, like client.py: the tools, or the tool result plus the elicitation prompts
the server sent (over the SSE stream of the tool call).
"""

import asyncio
import json
import sys

import httpx2
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

# The callback and the result summary are client.py's (this script's directory is on sys.path).
from client import elicitor, summarize


async def main() -> None:
    url, token_file, mode = sys.argv[1], sys.argv[2], sys.argv[3]
    elicit = "none"
    if "--elicit" in sys.argv:
        elicit = sys.argv[sys.argv.index("--elicit") + 1]
    with open(token_file, encoding="ascii") as f:
        token = f.read().strip()
    prompts = []
    on_elicit = elicitor(elicit, prompts)

    http = create_mcp_http_client(headers={"Authorization": f"Bearer {token}"})
    async with http, streamable_http_client(url, http_client=http) as (read, write):
        kwargs = {"elicitation_callback": on_elicit} if elicit != "none" else {}
        async with ClientSession(read, write, **kwargs) as session:
            init = await session.initialize()
            if mode == "list":
                tools = await session.list_tools()
                out = {
                    "protocol": init.protocol_version,
                    "server": init.server_info.name,
                    "tools": [t.name for t in tools.tools],
                }
            else:
                tool, args = sys.argv[4], json.loads(sys.argv[5])
                r = await session.call_tool(tool, args)
                out = {"protocol": init.protocol_version, **summarize(r, prompts)}
    print(json.dumps(out))


assert httpx2  # the SDK's HTTP client; imported so a missing one fails here, loudly
asyncio.run(main())
