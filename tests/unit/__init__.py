"""Unit tests, one folder per package of sidecar/."""
