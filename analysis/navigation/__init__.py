"""The face navigation study's report: the last steps of its route.

data -> classifier -> boundaries -> edits (``disentangle.navigation``, run over the models by
``study.navigation.workflow``) -> ``measures`` (each setting's matched side effects over its
seeds, with their intervals) -> ``verdicts`` (which setting edits most cleanly) -> ``report``
(``write_navigation``: the ``tables``, the ``figures`` and the report section)."""
