"""Tests of what ships: container image, systemd unit, generated code."""
