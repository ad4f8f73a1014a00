"""Unit tests of the store: SQLite state and the configuration directory."""
