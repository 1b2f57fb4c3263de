"""The built-in model flavours, one module each, imported on first use (models/registry.py)."""
