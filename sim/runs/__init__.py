"""Running: one run, batches, sweeps, networks, the executor, atomic writing, provenance."""
