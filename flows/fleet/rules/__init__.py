"""The pure decisions of the fleet: reconciliation and the fleet table's columns (no I/O)."""
