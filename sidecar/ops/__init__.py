"""Operating-system integration: service-manager notification and health plumbing."""
