"""Monitoring schedules and their executions: when they run, and (issue 6) running them."""
