"""Face navigation (InterfaceGAN-style): attribute boundaries in each model's latent space.

``data`` (labelled face images), ``classifier`` (the attribute classifier and its held-out
check), ``boundaries`` (SVM boundaries, conditional directions), ``edits`` (edits at matched
strength), ``model_study`` (one model through all of them). What the edits measure per
setting, the verdicts and the report are ``analysis.navigation``; the application around them
is ``study.navigation``."""
