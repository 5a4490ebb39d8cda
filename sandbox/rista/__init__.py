"""Rista POS sandbox: a local HTTP server speaking Rista's real /v1 wire protocol.

Start it with `python -m sandbox.rista --port 8081`, or in-process with
`RistaSandbox(port=0).start()` from `sandbox.rista.server`. See
docs/sandbox-rista.md.
"""
