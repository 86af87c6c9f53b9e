"""A real MCP client (the official Python SDK) driving `portcullis gateway serve` over stdio
through a scripted session.

Usage: client.py BINARY CONFIG STEPS_JSON

STEPS_JSON is a list of steps run in order on one session:
  {"op": "list"}                                   -> {"tools": [{name, description, annotations}]}
  {"op": "call", "tool": T, "args": {...}, "elicit": "accept"|"decline"|"none"}
                                                   -> {"is_error", "text", "structured_content", "prompts"}
  {"op": "wait_absent", "tool": T, "seconds": N}   -> {"absent": bool, "after": seconds}
    (lists the tools until T is gone, at most N seconds)
  {"op": "prompts"}                                -> {"prompts": [names]}
  {"op": "get_prompt", "name": P, "args": {...}}   -> {"error": message or null, "messages": [texts]}
  {"op": "resources"}                              -> {"resources": [[name, uri]], "templates": [[name, uriTemplate]]}
  {"op": "read", "uri": U}                         -> {"error": message or null, "texts": [texts]}
  {"op": "notified", "seconds": N}                 -> {"count": tools/list_changed notifications so far}

With GATEWAY_URL set, it connects to that streamable-HTTP endpoint instead (Authorization:
Bearer $GATEWAY_TOKEN) and BINARY and CONFIG are not used.

Prints one JSON document: {"server": name, "steps": [result, ...]}. The gateway inherits this
process's environment.
"""

import asyncio
import json
import os
import sys

import anyio
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp.shared.exceptions import MCPError
from mcp.types import ElicitResult


async def main() -> None:
    binary, config, steps = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    prompts = []
    answers = []
    notifications = []

    async def on_elicit(context, params):
        prompts.append(params.message)
        action = answers[-1] if answers else "decline"
        if action == "accept":
            return ElicitResult(action="accept", content={"confirm": True})
        return ElicitResult(action=action)

    async def on_message(message):
        root = getattr(message, "root", message)
        if getattr(root, "method", "") == "notifications/tools/list_changed":
            notifications.append(1)

    out = []
    async def drive(session):
        init = await session.initialize()
        for step in steps:
            op = step["op"]
            if op == "list":
                tools = await session.list_tools()
                out.append({
                    "tools": [
                        {
                            "name": t.name,
                            "description": t.description,
                            "annotations": t.annotations.model_dump(exclude_none=True) if t.annotations else None,
                        }
                        for t in tools.tools
                    ]
                })
            elif op == "call":
                answers.append(step.get("elicit", "decline"))
                before = len(prompts)
                r = await session.call_tool(step["tool"], step.get("args", {}))
                out.append({
                    "is_error": bool(r.is_error),
                    "text": [c.text for c in r.content if getattr(c, "type", "") == "text"],
                    "structured_content": r.structured_content,
                    "prompts": prompts[before:],
                })
            elif op == "prompts":
                listed = await session.list_prompts()
                out.append({"prompts": [p.name for p in listed.prompts]})
            elif op == "get_prompt":
                try:
                    r = await session.get_prompt(step["name"], step.get("args", {}))
                    out.append({
                        "error": None,
                        "messages": [
                            m.content.text for m in r.messages if getattr(m.content, "type", "") == "text"
                        ],
                    })
                except MCPError as e:
                    out.append({"error": e.error.message, "messages": []})
            elif op == "resources":
                listed = await session.list_resources()
                templates = await session.list_resource_templates()
                out.append({
                    "resources": [[r.name, str(r.uri)] for r in listed.resources],
                    "templates": [[t.name, t.uri_template] for t in templates.resource_templates],
                })
            elif op == "read":
                try:
                    r = await session.read_resource(step["uri"])
                    out.append({"error": None, "texts": [getattr(c, "text", None) for c in r.contents]})
                except MCPError as e:
                    out.append({"error": e.error.message, "texts": []})
            elif op == "wait_absent":
                waited = 0.0
                absent = False
                while waited <= step.get("seconds", 10):
                    names = [t.name for t in (await session.list_tools()).tools]
                    if step["tool"] not in names:
                        absent = True
                        break
                    await anyio.sleep(0.2)
                    waited += 0.2
                out.append({"absent": absent, "after": round(waited, 1)})
            elif op == "notified":
                await anyio.sleep(step.get("seconds", 0))
                out.append({"count": len(notifications)})
            else:
                raise SystemExit(f"unknown step {op}")
        return init

    url = os.environ.get("GATEWAY_URL")
    if url:
        # `portcullis gateway serve --transport http`: the owner's token from GATEWAY_TOKEN.
        http = create_mcp_http_client(headers={"Authorization": f"Bearer {os.environ['GATEWAY_TOKEN']}"})
        async with http, streamable_http_client(url, http_client=http) as (read, write):
            async with ClientSession(
                read, write, elicitation_callback=on_elicit, message_handler=on_message
            ) as session:
                init = await drive(session)
    else:
        server = StdioServerParameters(
            command=binary, args=["gateway", "serve", "--config", config], env=dict(os.environ)
        )
        async with stdio_client(server) as (read, write):
            async with ClientSession(
                read, write, elicitation_callback=on_elicit, message_handler=on_message
            ) as session:
                init = await drive(session)
    print(json.dumps({"server": init.server_info.name, "steps": out}))


if __name__ == "__main__":
    asyncio.run(main())
