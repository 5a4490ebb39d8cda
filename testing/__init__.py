"""Test support shared by every app's tests: factories for rows, waiters and thread runners."""
