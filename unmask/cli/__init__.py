"""Command-line interface: ``app.py`` holds the root; each command lives in its own module with ``register(app)``."""
