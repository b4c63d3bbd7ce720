"""Private simulation engine."""
