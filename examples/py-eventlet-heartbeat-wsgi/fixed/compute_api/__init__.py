"""The compute API service. Patching comes first so every later import sees green modules."""
from compute_api import monkey_patch  # noqa: F401
