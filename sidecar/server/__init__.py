"""gRPC adapters: thin servicers translating protos to domain calls and back."""
