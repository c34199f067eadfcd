"""Package clients."""
