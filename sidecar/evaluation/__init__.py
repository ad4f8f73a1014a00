"""Pure flag evaluation: flagd flag definitions compiled into Python callables."""
