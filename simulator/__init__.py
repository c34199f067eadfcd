"""Package simulator."""
