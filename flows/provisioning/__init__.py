"""The steps of a provisioning: request, plan, adoption, create with failover, readiness."""
