"""Standalone servers that speak the PhonePe and Rista wire protocols (see docs/sandboxes.md)."""
