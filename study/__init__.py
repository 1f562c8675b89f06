"""Studies: presets, search spaces, launching Ray Tune sweeps, and the ``vae-study`` CLI."""
