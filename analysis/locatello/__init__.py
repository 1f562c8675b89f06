"""Locatello et al. 2019's study ("Challenging Common Assumptions in the Unsupervised Learning
of Disentangled Representations", ICML 2019) on a sweep's results: every model kind, every
metric the sweep reported, degrading to what is present.

- ``scores``: which columns are disentanglement metrics and which are unsupervised scores, in
  the score preset ``analysis.selection`` chose.
- ``statistics``: the nested variance decomposition (objective > hyperparameter value > seed)
  of the grid swept, with noncentral F intervals of its shares, and the probability that the
  hyperparameter value one score selects beats a random one on another.
- ``claims``: the two verdicts: the seed and hyperparameter matter more than the objective;
  no metric reliably selects models for the others.
- ``figures``: the metrics' rank correlations, score distributions per kind and per
  hyperparameter value, the variance shares and the selection-transfer heatmaps.
- ``report``: the report's section with the matrices behind the figures.
"""
