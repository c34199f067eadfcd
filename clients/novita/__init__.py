"""Package clients/novita."""
