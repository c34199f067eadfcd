"""Package tasks."""
