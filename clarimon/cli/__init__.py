"""The `clarimon` command."""
