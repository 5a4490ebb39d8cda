"""PostgreSQL, the way an outage should meet it (the `ENGINE` of every PostgreSQL database: see base.py)."""
