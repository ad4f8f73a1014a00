"""Unit tests of the located YAML/JSON parser and its budgets."""
