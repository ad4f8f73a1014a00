"""Unit tests of the gRPC adapters."""
