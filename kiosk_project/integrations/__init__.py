"""HTTP clients of external systems that more than one app uses (one module per system).

Each owns its base URL, credentials, (connect, read) timeouts and the translation of
the system's failures into our errors; nothing else talks to that system.
"""
