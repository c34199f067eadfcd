"""Auto-stop: who is idle (rules) and how one idle machine is stopped (action)."""
