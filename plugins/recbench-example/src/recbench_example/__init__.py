"""A template recbench plugin package."""
