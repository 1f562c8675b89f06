"""Training trials: ``runner.TrialRunner`` (one trial's models, epoch by epoch, no Ray) and
``vae.StudyTrainable`` (the Ray Tune Trainable wrapping it). Import the one you need: this
package imports neither, so the Ray-free parts load without Ray."""
