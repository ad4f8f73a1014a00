"""Configuration sources (files, SQLite) and the immutable snapshots built from them."""
