"""CSV files: the streaming source of the ``csv`` adapter (see ``source``)."""
