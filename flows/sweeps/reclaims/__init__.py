"""Reclaims answered in minutes: the watcher's decision and its `novita.instance.reclaimed`."""
