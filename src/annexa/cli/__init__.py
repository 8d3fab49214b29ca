"""The `annexa` command line: a thin layer over the domain services."""
