"""Storage: the engine, the schema and its migrations."""
