"""The health verdict of `novita-health`: checks with I/O, pure rules, the artifact and event."""
