"""Test-wide settings (none yet: the knowledge has no cache to keep private any more)."""
