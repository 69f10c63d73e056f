"""Resource families as operations: plain functions of (context, request) -> response."""
