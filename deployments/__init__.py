"""Package deployments."""
