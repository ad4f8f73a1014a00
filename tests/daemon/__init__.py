"""Tests that drive one real daemon over its sockets."""
