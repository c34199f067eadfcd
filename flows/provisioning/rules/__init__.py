"""The pure decisions of provisioning: region order, product choice, the plan (no I/O)."""
