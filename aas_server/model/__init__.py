"""Thin helpers over basyx-python-sdk and the AAS JSON form; imports nothing else of aas-server but errors."""
