"""Ray Tune Trainable wrappers of the VAE variants, thin over ``disentangle``."""
