"""Face navigation (InterfaceGAN-style): attribute boundaries in each model's latent space."""
