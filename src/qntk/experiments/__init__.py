"""Experiments: jobs (:mod:`.kernel_stats`, :mod:`.bench`) and the seeds' figures (:mod:`.figures`, one
package per seed, registered by :mod:`.reproduce`), each exposing ``run(config)``."""
