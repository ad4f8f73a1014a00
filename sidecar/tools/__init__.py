"""Developer tools shipped with the package."""
