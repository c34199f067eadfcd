"""Migration: who was reclaimed (rules), how one is brought back (action, recreate)."""
