"""flagd's evaluation and sync gRPC APIs, served from the daemon's own evaluation core."""
