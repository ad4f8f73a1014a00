"""Tests of several real sidecars syncing with each other."""
