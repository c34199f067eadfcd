"""The sweeps: decide for the whole fleet in memory, act only where needed, report every skip."""
