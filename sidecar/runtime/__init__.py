"""Long-running adapters that drive the pure core: the rollout loop and its durable state."""
