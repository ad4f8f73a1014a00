"""Protocols the daemon speaks besides its own gRPC API: flagd's gRPC APIs, and management HTTP."""
