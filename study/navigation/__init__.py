"""The face navigation study as an application: which models (checkpoints, or a sweep's
finished models), which data (synthetic faces or a CelebA folder), which classifier, and the
whole run (``workflow.run_study``). The science it runs is ``disentangle.navigation``; the
figures, verdicts and report section are drawn by ``analysis.navigation``."""
