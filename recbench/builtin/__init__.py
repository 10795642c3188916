"""Built-in plugins. They use the same hooks as third parties; the host registers them first."""
