"""Protocols the daemon speaks besides gRPC, on its management HTTP listener."""
