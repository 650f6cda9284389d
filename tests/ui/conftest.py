import importlib

# The states are registered by the app module, as when Reflex loads it.
importlib.import_module("ephem.ephem")
