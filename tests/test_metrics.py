"""The BetaVAE and FactorVAE metrics: disentanglement_lib's results, deduplicated encoding
identical to the plain algorithm, shared cache, diagnostics, settings errors, and the model's
representation function."""

import numpy as np
import pytest
import torch

from disentangle.data.base import GroundTruthDataset
from disentangle.errors import UserError
from disentangle.metrics import PRESETS, beta_vae_metric, evaluate, factor_vae_metric
from disentangle.metrics.sanity import FactorObservations

SMALL_BETA = {"batch_size": 16, "num_train": 300, "num_eval": 200}
SMALL_FACTOR = {"batch_size": 16, "num_train": 300, "num_eval": 200,
                "num_variance_estimate": 1000, "prune_threshold": 0.05}

DATA = FactorObservations()
SIZES = np.asarray(DATA.factors_num_values, dtype=np.float64)
MIXING = np.random.RandomState(7).normal(size=(5, 6))
MIXING[:, :5] += 3 * np.eye(5)  # mostly aligned, partly entangled: scores strictly inside (0, 1)


def entangled(observations):
    """A deterministic, row-wise, partly entangled representation with one collapsed dim."""
    factors = observations.reshape(len(observations), -1) / (SIZES - 1)
    mixed = np.tanh(factors @ MIXING)
    mixed[:, 5] = 0.01 * mixed[:, 5]  # std under 0.05: pruned by the FactorVAE metric
    return mixed.astype(np.float32)


def identity(observations):
    return observations.reshape(len(observations), -1) / (SIZES - 1)


def without_timing(result):
    return {k: v for k, v in result.items() if k not in ("seconds", "num_encoded")}


# disentanglement_lib's code (beta_vae.py / factor_vae.py), transcribed loop for loop. One
# stated change: the BetaVAE logistic regression may take 5,000 lbfgs iterations instead of 100
# (same objective; see disentangle/metrics/beta_vae.py).
def reference_beta_vae(data, represent, rs, batch_size, num_train, num_eval):
    from sklearn.linear_model import LogisticRegression

    def batch(num_points):
        points, labels = None, np.zeros(num_points, dtype=np.int64)
        for i in range(num_points):
            index = rs.randint(data.num_factors)
            factors1 = data.sample_factors(batch_size, rs)
            factors2 = data.sample_factors(batch_size, rs)
            factors2[:, index] = factors1[:, index]
            r1 = represent(data.sample_observations_from_factors(factors1, rs))
            r2 = represent(data.sample_observations_from_factors(factors2, rs))
            feature = np.mean(np.abs(r1 - r2), axis=0)
            points = np.zeros((num_points, feature.shape[0])) if points is None else points
            labels[i], points[i] = index, feature
        return points, labels

    train_points, train_labels = batch(num_train)
    model = LogisticRegression(random_state=rs, max_iter=5000).fit(train_points, train_labels)
    eval_points, eval_labels = batch(num_eval)
    return model.score(train_points, train_labels), model.score(eval_points, eval_labels)


def reference_factor_vae(data, represent, rs, batch_size, num_train, num_eval,
                         num_variance_estimate, prune_threshold):
    _, observations = data.sample(num_variance_estimate, rs)
    global_variances = np.var(represent(observations), axis=0, ddof=1)
    active = np.sqrt(global_variances) >= prune_threshold

    def batch(num_points):
        votes = np.zeros((data.num_factors, global_variances.shape[0]), dtype=np.int64)
        for _ in range(num_points):
            index = rs.randint(data.num_factors)
            factors = data.sample_factors(batch_size, rs)
            factors[:, index] = factors[0, index]
            r = represent(data.sample_observations_from_factors(factors, rs))
            local = np.var(r, axis=0, ddof=1)
            votes[index, np.argmin(local[active] / global_variances[active])] += 1
        return votes

    train_votes = batch(num_train)
    classifier = np.argmax(train_votes, axis=0)
    other = np.arange(train_votes.shape[1])
    eval_votes = batch(num_eval)
    return (train_votes[classifier, other].sum() / train_votes.sum(),
            eval_votes[classifier, other].sum() / eval_votes.sum())


def as_float64(function):
    return lambda observations: function(observations).astype(np.float64)


def test_beta_vae_matches_disentanglement_lib_and_the_plain_algorithm():
    reference = reference_beta_vae(DATA, as_float64(entangled), np.random.RandomState(3),
                                   **SMALL_BETA)
    fast = beta_vae_metric(DATA, entangled, np.random.RandomState(3), **SMALL_BETA)
    plain = beta_vae_metric(DATA, entangled, np.random.RandomState(3), deduplicate=False,
                            **SMALL_BETA)
    assert (fast["train_accuracy"], fast["eval_accuracy"]) == pytest.approx(reference, abs=0)
    assert without_timing(fast) == without_timing(plain)
    assert 0.3 < fast["eval_accuracy"] < 0.99  # a non-trivial case
    assert plain["num_encoded"] == fast["num_drawn"] == 500 * 2 * 16
    assert fast["num_encoded"] < fast["num_drawn"]


def test_factor_vae_matches_disentanglement_lib_and_the_plain_algorithm():
    reference = reference_factor_vae(DATA, as_float64(entangled), np.random.RandomState(4),
                                     **SMALL_FACTOR)
    fast = factor_vae_metric(DATA, entangled, np.random.RandomState(4), **SMALL_FACTOR)
    plain = factor_vae_metric(DATA, entangled, np.random.RandomState(4), deduplicate=False,
                              **SMALL_FACTOR)
    assert (fast["train_accuracy"], fast["eval_accuracy"]) == pytest.approx(reference, abs=1e-12)
    assert without_timing(fast) == without_timing(plain)
    assert fast["num_active_dims"] == 5 and fast["active_dims"][5] is False
    assert 0.3 < fast["eval_accuracy"] < 0.99
    assert plain["num_encoded"] == fast["num_drawn"] == 1000 + 500 * 16


class CountingRepresentation:
    """Records every observation it encodes (as factor rows)."""

    def __init__(self, function):
        self.function, self.seen = function, []

    def __call__(self, observations):
        self.seen.append(observations.reshape(len(observations), -1).astype(np.int64))
        return self.function(observations)


def test_evaluate_shares_one_cache_and_equals_both_metrics_in_sequence():
    overrides = {**{f"beta_vae_{k}": v for k, v in SMALL_BETA.items()},
                 **{f"factor_vae_{k}": v for k, v in SMALL_FACTOR.items()}}
    counting = CountingRepresentation(entangled)
    together = evaluate(DATA, counting, np.random.RandomState(5), preset="paper",
                        metrics=["beta_vae", "factor_vae"], details=True, **overrides)
    encoded = DATA.factors_to_index(np.concatenate(counting.seen))
    assert len(encoded) == len(np.unique(encoded)) == together["metric_images_encoded"]
    assert together["metric_images_drawn"] == 500 * 2 * 16 + 1000 + 500 * 16

    rs = np.random.RandomState(5)
    beta = beta_vae_metric(DATA, entangled, rs, **SMALL_BETA)
    factor = factor_vae_metric(DATA, entangled, rs, **SMALL_FACTOR)
    assert together["beta_vae_score"] == beta["eval_accuracy"]
    assert together["beta_vae_train_accuracy"] == beta["train_accuracy"]
    assert together["factor_vae_score"] == factor["eval_accuracy"]
    assert together["factor_vae_train_accuracy"] == factor["train_accuracy"]
    assert together["factor_vae_active_dims"] == factor["num_active_dims"] == 5
    assert together["factor_vae"]["eval_votes"] == factor["eval_votes"]
    assert together["metric_images_encoded"] < beta["num_encoded"] + factor["num_encoded"]


@pytest.mark.parametrize("ratio", [0, 1000])
def test_the_encoding_cache_gives_each_index_its_own_row_through_either_lookup(ratio):
    """The cache finds rows by binary search in the sorted distinct indices or, where a
    dataset-sized table is small next to them (``dense_table_max_ratio``; 0 = never, 1000 =
    here), through that table: either way each index gets its own representation, for the
    indices added before the first lookup and for those encoded on demand after it, each
    distinct index encoded once."""
    from disentangle.metrics import encoding

    rs = np.random.RandomState(0)
    drawn = [rs.randint(0, len(DATA), size=(50, 16)), rs.randint(0, len(DATA), size=300)]
    cache = encoding.EncodingCache(DATA, identity, encode_batch_size=64,
                                   dense_table_max_ratio=ratio)
    cache.add(drawn)
    for indices in drawn:
        expected = identity(DATA.images(indices.ravel())).reshape(*indices.shape, -1)
        assert np.array_equal(cache(indices), expected)
    later = np.array([5, 5, len(DATA) - 1, drawn[1][0]])
    assert np.array_equal(cache(later), identity(DATA.images(later)))
    assert (cache.table is not None) == (ratio > 0)
    assert cache.encoded == len(np.unique(np.concatenate([drawn[0].ravel(), drawn[1], later])))


def test_diagnostics_of_the_factors_themselves():
    beta = beta_vae_metric(DATA, identity, np.random.RandomState(0), **SMALL_BETA)
    factor = factor_vae_metric(DATA, identity, np.random.RandomState(0), **SMALL_FACTOR)
    assert beta["eval_accuracy"] == factor["eval_accuracy"] == 1.0
    assert beta["factor_to_dim"] == [0, 1, 2, 3, 4]
    assert beta["per_factor_accuracy"] == [1.0] * 5
    confusion = np.asarray(beta["confusion"])
    assert confusion.sum() == 200 and np.count_nonzero(confusion - np.diag(np.diag(confusion))) == 0
    votes = np.asarray(factor["eval_votes"])
    assert votes.sum() == 200 and np.count_nonzero(votes - np.diag(np.diag(votes))) == 0
    assert factor["dim_to_factor"] == [0, 1, 2, 3, 4]
    assert factor["factor_to_dims"] == [[0], [1], [2], [3], [4]]
    assert factor["per_factor_accuracy"] == [1.0] * 5


def test_all_collapsed_scores_zero_with_a_warning():
    result = evaluate(DATA, lambda o: np.zeros((len(o), 3)), np.random.RandomState(0))
    assert result["factor_vae_score"] == result["factor_vae_train_accuracy"] == 0.0
    assert result["factor_vae_active_dims"] == 0
    assert "collapsed" in result["factor_vae_warning"]
    assert result["mig_score"] == 0.0  # a constant code carries no information about any factor


def test_presets():
    assert PRESETS["paper"]["beta_vae"] == {"batch_size": 64, "num_train": 10_000,
                                            "num_eval": 5_000}
    assert PRESETS["paper"]["factor_vae"] == {
        "batch_size": 64, "num_train": 10_000, "num_eval": 5_000,
        "num_variance_estimate": 10_000, "prune_threshold": 0.05}
    for metric in ("beta_vae", "factor_vae"):  # fast keeps the definitions, draws fewer
        assert PRESETS["fast"][metric]["batch_size"] == 64


@pytest.mark.parametrize("call, message", [
    (lambda rs: factor_vae_metric(DATA, identity, rs, batch_size=1), "batch_size=1"),
    (lambda rs: factor_vae_metric(DATA, identity, rs, num_variance_estimate=1), ">= 2"),
    (lambda rs: factor_vae_metric(DATA, identity, rs, prune_threshold=-1), "prune_threshold"),
    (lambda rs: beta_vae_metric(DATA, identity, rs, num_train=2.5), "integer"),
    (lambda rs: beta_vae_metric(DATA, identity, rs, batchsize=64), "unknown"),
    (lambda rs: evaluate(DATA, identity, rs, preset="quick"), "unknown metric preset"),
    (lambda rs: evaluate(DATA, identity, rs, num_train=5), "prefix it"),
    (lambda rs: evaluate(DATA, identity, rs, deduplicate="yes"), "True or False"),
    (lambda rs: beta_vae_metric(DATA, lambda o: identity(o)[:-1], rs, **SMALL_BETA),
     "one row per observation"),
    (lambda rs: beta_vae_metric(DATA, lambda o: identity(o) * np.nan, rs, **SMALL_BETA),
     "NaN"),
    (lambda rs: beta_vae_metric(FactorObservations({"only": 4}), identity, rs, batch_size=8,
                                     num_train=5, num_eval=2), "only one factor"),
])
def test_invalid_settings_and_representations_give_clear_errors(call, message):
    with pytest.raises(UserError, match=message):
        call(np.random.RandomState(1))


def test_non_ground_truth_data_is_refused():
    from disentangle.data.base import ImageDataset

    class Pictures(ImageDataset):
        observation_shape = (1, 2, 2)

        def __len__(self):
            return 4

        def images(self, indices):
            return np.zeros((len(indices), 1, 2, 2), np.float32)

    with pytest.raises(UserError, match="ground-truth dataset"):
        evaluate(Pictures(), identity, np.random.RandomState(0))


class RandomImages(GroundTruthDataset):
    """A tiny image dataset: one fixed random binary 1x64x64 image per factor combination."""

    factor_names = ("a", "b", "c")
    factors_num_values = (2, 3, 4)
    observation_shape = (1, 64, 64)

    def __init__(self):
        self.table = (np.random.RandomState(0).rand(len(self), 1, 64, 64) > 0.8).astype(
            np.float32)

    def images(self, indices):
        return self.table[np.asarray(indices)]


@pytest.fixture(scope="module")
def model():
    from disentangle.models import build_model

    torch.manual_seed(0)
    return build_model("standard").train()


def test_representation_function_gives_the_encoder_means(model):
    from disentangle.representation import representation_function

    images = RandomImages().table[:10]
    represent = representation_function(model, device="cpu", precision="fp32", batch_size=4)
    with torch.no_grad():
        expected = model.eval().encode(torch.from_numpy(images))[0].numpy()
    model.train()
    means = represent(images)
    assert means.shape == (10, 10) and means.dtype == np.float32
    np.testing.assert_allclose(means, expected, rtol=1e-4, atol=1e-6)
    assert model.training  # the caller's model is untouched
    assert next(model.parameters()).is_contiguous()
    bf16 = representation_function(model, device="cpu", precision="bf16")
    assert bf16.precision == "bf16"
    np.testing.assert_allclose(bf16(images), expected, atol=0.05 * np.abs(expected).max())
    assert represent(images[:0]).shape == (0, 10)


def test_model_scores_are_identical_deduplicated_and_plain(model):
    from disentangle.representation import representation_function

    represent = representation_function(model, device="cpu", precision="fp32")
    data = RandomImages()
    settings = {"beta_vae_batch_size": 8, "beta_vae_num_train": 20, "beta_vae_num_eval": 10,
                "factor_vae_batch_size": 8, "factor_vae_num_train": 20,
                "factor_vae_num_eval": 10, "factor_vae_num_variance_estimate": 100,
                "factor_vae_prune_threshold": 0.0, "mig_num_train": 100}
    fast = evaluate(data, represent, np.random.RandomState(2), details=True, **settings)
    plain = evaluate(data, represent, np.random.RandomState(2), details=True,
                     deduplicate=False, **settings)
    assert fast["metric_images_encoded"] == 24 < plain["metric_images_encoded"]
    for key in ("beta_vae_score", "beta_vae_train_accuracy", "factor_vae_score",
                "factor_vae_train_accuracy", "factor_vae_active_dims", "mig_score"):
        assert fast[key] == plain[key], key
    assert fast["factor_vae"]["train_votes"] == plain["factor_vae"]["train_votes"]


def test_the_models_encoder_is_given_images_made_on_its_device_and_scores_the_same(model):
    """This project's encoders take the dataset's images as tensors made on their device (on a
    GPU, faces rendered there rather than on one CPU thread): every image arrives that way, and
    every score, the large-sample TC included, equals that of the same encoder given host
    arrays."""
    from disentangle.representation import posterior_function, representation_function

    represent = representation_function(model, device="cpu", precision="fp32")
    posterior = posterior_function(model, device="cpu", precision="fp32")
    received = []

    def watched(function):
        def call(observations):
            received.append(type(observations))
            return function(observations)
        call.torch_device = function.torch_device
        return call

    def host_only(function):
        return lambda observations: function(np.asarray(observations))

    settings = {"mig_num_train": 100, "tc_num_images": 50, "encode_batch_size": 20}
    on_device = evaluate(RandomImages(), watched(represent), np.random.RandomState(5),
                         metrics=["mig", "tc"], posterior_function=watched(posterior),
                         **settings)
    on_host = evaluate(RandomImages(), host_only(represent), np.random.RandomState(5),
                       metrics=["mig", "tc"], posterior_function=host_only(posterior),
                       **settings)
    assert received and set(received) == {torch.Tensor}
    for key in ("mig_score", "tc_large_sample"):
        assert on_device[key] == on_host[key], key


def test_evaluate_flags_a_beta_vae_classifier_that_did_not_converge(monkeypatch):
    from sklearn.linear_model import LogisticRegression

    from disentangle.metrics import beta_vae

    overrides = {"beta_vae_num_train": 300, "beta_vae_num_eval": 50, "beta_vae_batch_size": 16}
    converged = evaluate(DATA, entangled, np.random.RandomState(9), metrics=["beta_vae"],
                         **overrides)
    assert converged["beta_vae_converged"] == 1
    monkeypatch.setattr(beta_vae, "make_classifier", lambda: LogisticRegression(max_iter=2))
    stopped = evaluate(DATA, entangled, np.random.RandomState(9), metrics=["beta_vae"],
                       details=True, **overrides)
    assert stopped["beta_vae_converged"] == 0
    assert stopped["beta_vae"]["classifier_iterations"] == 2
