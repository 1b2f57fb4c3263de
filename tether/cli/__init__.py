"""The ``tether`` command: thin wrappers that call the Python API."""
