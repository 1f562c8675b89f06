"""Every verdict's rule on 1,000 simulated studies per preset shape and kind of noise
(``analysis.calibration``): wrong calls at most the nominal 2.5% each way (plus three
Monte-Carlo standard errors), and the power docs/analysis.md states. Issue #25: a percentile
bootstrap over 3 seeds made wrong calls 9.8% of the time at a nominal 2.5%."""

from __future__ import annotations

import numpy as np
import pytest

from analysis import calibration
from analysis.statistics import power

STUDIES = 1000
LIMIT = calibration.ALPHA / 2 + 3 * np.sqrt(0.025 * 0.975 / STUDIES)
#: The seed share's noncentral F interval is exact for normal seed noise; with kurtotic noise
#: (the lognormal's excess kurtosis is 5.9) a sample that lacks the tail's values understates
#: the seeds' variance and it calls "contradicted" too often (4–8%), as docs/analysis.md's
#: calibration table states; this ceiling keeps the measured excess from growing unnoticed.
SKEWED_CONTRADICTED = {"locatello": 0.09}


@pytest.fixture(scope="module")
def rows():
    return calibration.table(STUDIES)


def test_every_rule_holds_its_level_where_it_can_decide(rows):
    decided = [row for row in rows if not row.needs]
    assert len(decided) >= 2 * 2 * 8  # normal and skewed, core and locatello, 8+ claims
    for row in decided:
        name = (row.claim, row.preset, row.data)
        assert row.false_confirmed <= LIMIT, name
        if row.data == "skewed" and row.claim in SKEWED_CONTRADICTED:
            assert row.false_contradicted <= SKEWED_CONTRADICTED[row.claim], name
        else:
            assert row.false_contradicted <= LIMIT, name


def test_the_power_at_one_seed_sd_is_what_the_report_states(rows):
    """Two settings of 3 seeds (the quick preset): the simulated power of Welch's rule is the
    noncentral t's that every verdict's power line quotes; more seeds, more power."""
    by_key = {(row.claim, row.preset, row.data): row for row in rows}
    quick = by_key[("higgins", "quick", "normal")]
    assert quick.power == pytest.approx(power(3, 0.95), abs=3 * np.sqrt(0.1 * 0.9 / STUDIES))
    assert 0.05 < quick.power < 0.2
    for claim in ("higgins", "reconstruction_vs_beta", "better_tradeoff", "tc_vs_gamma",
                  "tc_discriminator", "critique_trained"):
        assert by_key[(claim, "locatello", "normal")].power > \
            by_key[(claim, "core", "normal")].power, claim
    assert by_key[("tc_discriminator", "locatello", "normal")].power > 0.9


def test_shapes_too_small_for_a_rule_say_what_they_need(rows):
    needs = {(row.claim, row.preset): row.needs for row in rows if row.needs}
    assert needs[("disentanglement_vs_beta", "quick")] == "3 values of β (the VAE and two β > 1)"
    assert needs[("locatello_selection", "quick")] == "2 kinds at 2 values"
    assert ("higgins", "quick") not in needs
    lines = calibration.markdown(rows)
    assert lines[0].startswith("| claim | preset | noise | false confirmed")
    assert len(lines) == 2 + len(rows)


def test_the_selection_boundary_is_where_its_rule_says():
    """The simulated 'fails to select' boundary: the shared-effect loading gives P(s→t) =
    0.6 on fresh studies."""
    from analysis.locatello.statistics import transfer

    shape = calibration.SHAPES["locatello"]
    loading = calibration.loading_for(0.6, "locatello", "normal")
    rng = np.random.default_rng(11)
    effect = rng.standard_normal((20_000, shape["values"], 1, 1))
    seeds = rng.standard_normal((20_000, shape["values"], shape["seeds"], 2))
    probability = transfer(loading * effect + seeds, np.array([1, 1]), [1])[:, 0, 0].mean()
    assert probability == pytest.approx(0.6, abs=0.005)
