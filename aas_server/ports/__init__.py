"""Output ports: one data product served through several ports, each with its own access rules and masking."""
