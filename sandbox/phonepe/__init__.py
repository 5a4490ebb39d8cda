"""PhonePe payment-gateway sandbox: PG v1 (X-VERIFY) and v2 (OAuth) over real HTTP.

Start it with `python -m sandbox.phonepe --port 8082`, or in-process with
`sandbox.phonepe.server.PhonePeSandbox(port=0).start()`. See docs/sandbox-phonepe.md.
"""
