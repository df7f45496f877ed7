"""Build, annotation and notebook tools (importable from the project root)."""
