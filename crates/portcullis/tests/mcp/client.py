"""A real MCP client (the official Python SDK) driving `portcullis serve` over stdio.

Usage: client.py BINARY list
       client.py BINARY call TOOL ARGS_JSON [--elicit accept|decline|cancel|none]

Prints one JSON document on stdout: the tools, or the tool result plus the elicitation
prompts the server sent. The server inherits this process's environment.
"""

import asyncio
import json
import os
import sys

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.types import ElicitResult


async def main() -> None:
    binary, mode = sys.argv[1], sys.argv[2]
    elicit = "none"
    if "--elicit" in sys.argv:
        elicit = sys.argv[sys.argv.index("--elicit") + 1]
    prompts = []

    async def on_elicit(context, params):
        prompts.append({"message": params.message, "schema": params.requested_schema})
        if elicit == "accept":
            return ElicitResult(action="accept", content={"confirm": True})
        return ElicitResult(action=elicit)

    server = StdioServerParameters(command=binary, args=["serve"], env=dict(os.environ))
    async with stdio_client(server) as (read, write):
        kwargs = {"elicitation_callback": on_elicit} if elicit != "none" else {}
        async with ClientSession(read, write, **kwargs) as session:
            init = await session.initialize()
            if mode == "list":
                tools = await session.list_tools()
                out = {
                    "protocol": init.protocol_version,
                    "server": init.server_info.name,
                    "tools": [
                        {
                            "name": t.name,
                            "input_schema": t.input_schema,
                            "output_schema": t.output_schema,
                            "annotations": t.annotations.model_dump(exclude_none=True) if t.annotations else None,
                        }
                        for t in tools.tools
                    ],
                }
            else:
                tool, args = sys.argv[3], json.loads(sys.argv[4])
                r = await session.call_tool(tool, args)
                out = {
                    "is_error": r.is_error,
                    "structured_content": r.structured_content,
                    "text": [c.text for c in r.content if getattr(c, "type", "") == "text"],
                    "prompts": prompts,
                }
    print(json.dumps(out))


asyncio.run(main())
