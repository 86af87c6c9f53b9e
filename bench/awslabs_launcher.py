"""Runs the pinned awslabs.aws-api-mcp-server offline (benchmarks only; run with .venv-awslabs/bin/python).

At start-up the server fetches the AWS service-reference index over the network and refuses to start
without it. Offline, its bundled metadata (data/api_metadata.json) is enough: give it an empty index
instead, then call its own main(). Nothing else is changed.
"""

from awslabs.aws_api_mcp_server import server
from awslabs.aws_api_mcp_server.core.metadata.read_only_operations_list import ReadOnlyOperations

# server.py imported get_read_only_operations by name, so replace it in that module.
server.get_read_only_operations = lambda: ReadOnlyOperations({})
server.main()
