"""Core science of the VAE disentanglement study: datasets, models, objectives, metrics and
latent-space navigation. Never imports Ray, so everything here runs from a notebook."""

__version__ = "0.1.0"
