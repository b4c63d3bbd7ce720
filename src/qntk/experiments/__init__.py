"""Experiments: one module per workload or reproduced figure, each exposing ``run(config)``."""
