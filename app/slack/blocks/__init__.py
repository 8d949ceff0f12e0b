"""Block Kit builders: pure functions of loaded data."""
