"""The fault suite: provisioning and sweeps under 5xx, 429, latency, killed workers, Novita down."""
