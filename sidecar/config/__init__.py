"""Parsing configuration sources into located documents."""
