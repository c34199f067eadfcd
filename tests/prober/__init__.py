"""Tests of the endpoint health prober (real local HTTP and TCP servers)."""
