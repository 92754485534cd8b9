"""Scripts run by the servers' own interpreters (their venvs), never imported by the project."""
