"""Stop-all: which instances match (rules), stopping each (action), the report."""
