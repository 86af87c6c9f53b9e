"""A real MCP client (the official Python SDK) driving `portcullis serve` over stdio.

Usage: client.py BINARY list
       client.py BINARY call TOOL ARGS_JSON|@FILE [--elicit accept|decline|cancel|none] [--elicit-content JSON] [--modern]
                 [--progress]
       client.py BINARY rounds TOOL ARGS_JSON RETRY_ARGS_JSON [--state-from first|forged|none] [--replay]
                 [--elicit accept|decline|cancel] [--elicit-content JSON]

Prints one JSON document on stdout: the tools, or the tool result plus the elicitation
prompts the server sent. The server inherits this process's environment.

`--modern` speaks protocol 2026-07-28 (no initialize; consent comes back as an
InputRequiredResult that the SDK answers through the same callback and retries).
`rounds` drives the multi-round-trip loop by hand: the first call must return an
InputRequiredResult; the retry sends RETRY_ARGS_JSON with every prompt accepted and the
request state chosen by --state-from, to prove an approval cannot be moved to another request.

`--progress` (stdio `call`) sends a progressToken with the call and adds the
`notifications/progress` received for it, in order, as "progress": [{progress, total, message,
seconds}] (seconds since the call was sent).

`--elicit-content JSON` answers an accept with that content instead of {"confirm": true}
(JSON `null`: an accept with no content at all), on every path: the elicitation callback
(stdio and --modern) and the hand-built answers of `rounds`.
"""

import asyncio
import json
import os
import sys

from mcp import ClientSession, StdioServerParameters
from mcp.client.client import Client
from mcp.client.stdio import stdio_client
from mcp.types import ElicitResult


YES = {"confirm": True}


def accept_content():
    """The content of an accept: `--elicit-content JSON` (null: none), else {"confirm": true}."""
    if "--elicit-content" in sys.argv:
        return json.loads(sys.argv[sys.argv.index("--elicit-content") + 1])
    return YES


def answer(elicit):
    """The answer to one prompt, as a wire dict: `elicit`, with accept_content() on an accept."""
    if elicit != "accept":
        return {"action": elicit}
    content = accept_content()
    return {"action": "accept"} if content is None else {"action": "accept", "content": content}


def elicitor(elicit, prompts):
    """The elicitation callback: records each prompt, answers with `elicit` (accept confirms
    unless --elicit-content says otherwise)."""

    async def on_elicit(context, params):
        prompts.append({"message": params.message, "schema": params.requested_schema})
        return ElicitResult(**answer(elicit))

    return on_elicit


def summarize(r, prompts):
    return {
        "is_error": r.is_error,
        "structured_content": r.structured_content,
        "text": [c.text for c in r.content if getattr(c, "type", "") == "text"],
        "prompts": prompts,
    }


async def modern(binary: str, mode: str, elicit: str) -> dict:
    """Protocol 2026-07-28: `call` through the SDK's automatic loop, or `rounds` by hand."""
    prompts = []
    on_elicit = elicitor(elicit, prompts)

    server = StdioServerParameters(command=binary, args=["serve"], env=dict(os.environ))
    kwargs = {"elicitation_callback": on_elicit} if elicit != "none" else {}
    async with Client(server, mode="2026-07-28", **kwargs) as client:
        tool, args = sys.argv[3], json.loads(sys.argv[4])
        if mode == "call":
            r = await client.call_tool(tool, args)
            out = summarize(r, prompts)
            out["protocol"] = client.session.protocol_version
            return out
        first = await client.session.call_tool(tool, args, allow_input_required=True)
        requests = getattr(first, "input_requests", None)
        if not requests:
            return {"first": first.model_dump(mode="json", by_alias=True, exclude_none=True)}
        state_from = sys.argv[sys.argv.index("--state-from") + 1] if "--state-from" in sys.argv else "first"
        state = {"first": first.request_state, "forged": "00" * 16, "none": None}[state_from]
        responses = {k: answer(elicit) for k in requests}
        retry_args = json.loads(sys.argv[5])
        r = await client.session.call_tool(tool, retry_args, input_responses=responses, request_state=state, allow_input_required=True)
        out = {"first_keys": sorted(requests), "first_messages": [v.params.message for v in requests.values()]}
        if getattr(r, "input_requests", None):
            out["second"] = "input_required"
        else:
            out.update(summarize(r, prompts))
        if "--replay" in sys.argv:
            # The same answers and state once more: an approval is good for one run only.
            again = await client.session.call_tool(tool, retry_args, input_responses=responses, request_state=state, allow_input_required=True)
            out["replay"] = summarize(again, prompts)
        return out


async def main() -> None:
    binary, mode = sys.argv[1], sys.argv[2]
    if "--modern" in sys.argv or mode == "rounds":
        elicit = sys.argv[sys.argv.index("--elicit") + 1] if "--elicit" in sys.argv else "accept"
        print(json.dumps(await modern(binary, mode, elicit)))
        return
    elicit = "none"
    if "--elicit" in sys.argv:
        elicit = sys.argv[sys.argv.index("--elicit") + 1]
    prompts = []
    on_elicit = elicitor(elicit, prompts)

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
                            "title": t.title,
                            "description": t.description,
                            "input_schema": t.input_schema,
                            "output_schema": t.output_schema,
                            "annotations": t.annotations.model_dump(exclude_none=True) if t.annotations else None,
                        }
                        for t in tools.tools
                    ],
                }
            else:
                tool, raw = sys.argv[3], sys.argv[4]
                # `@FILE`: the arguments are in a file (too large for a command line).
                args = json.loads(open(raw[1:]).read() if raw.startswith("@") else raw)
                if "--progress" in sys.argv:
                    progress = []
                    sent = asyncio.get_running_loop().time()

                    async def on_progress(value, total, message):
                        seconds = asyncio.get_running_loop().time() - sent
                        progress.append({"progress": value, "total": total, "message": message, "seconds": seconds})

                    r = await session.call_tool(tool, args, progress_callback=on_progress)
                    out = summarize(r, prompts)
                    out["progress"] = progress
                else:
                    r = await session.call_tool(tool, args)
                    out = summarize(r, prompts)
    print(json.dumps(out))


if __name__ == "__main__":
    asyncio.run(main())
