"""The verdict framework and the claims of Higgins et al. and Kim & Mnih on a sweep.

- ``framework``: a claim's ``Verdict`` (confirmed / contradicted / inconclusive / not enough
  data) and the ``Rule`` settings every claim reads (level, seeds, margins), with the helpers
  that group the selected models by setting.
- ``rules``: each decision rule on arrays, so one function decides a sweep and the thousands of
  simulated studies of ``analysis.calibration``.
- ``training``: Higgins' and Kim & Mnih's claims about training (β, γ, reconstruction, the
  trade-off); ``metrics``: Kim & Mnih's claims about the metrics and the total correlation.

Locatello et al.'s claims, rules and statistics are in ``analysis.locatello``; every claim of
the report, in order, is ``analysis.claims``.
"""
