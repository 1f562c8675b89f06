"""A large-sample estimate of the total correlation of the aggregate posterior, at evaluation
time (issue #15 point 5).

TC(z) = KL(q(z) || prod_d q(z_d)) measures how far the dimensions of the aggregate posterior
q(z) = E_x q(z|x) are from independent; FactorVAE penalises it, and the training-time
minibatch-weighted-sampling estimate (``tc_minibatch``) is bounded by (D - 1) log 64 at batch 64.

The estimator. Encode N images x_1..x_N (factors drawn uniformly, like the metrics' samples)
into Gaussian posteriors N(mu_n, diag sigma_n^2), and let q_N(z) = (1/N) sum_n q(z|x_n) be
their exact mixture, with marginals q_N(z_d) = (1/N) sum_n N(z_d; mu_nd, sigma_nd^2). Draw one
z_m ~ q(z|x_m) per image (so the z_m are a sample of q_N) and average
    log q_N(z_m) - sum_d log q_N(z_md)
over m. Every density is the exact N-component sum (log-sum-exp), computed for chunks of the
samples at a time so that memory stays bounded (about 2^23 numbers per chunk) whatever N is;
the work grows as N^2 D.

Its bias. This is an unbiased Monte Carlo estimate (error O(1/sqrt N)) of TC(q_N), the total
correlation of the N-image mixture, which equals sum_d I(z_d; n) - I(z; n) for the image index
n and so lies in [0, (D - 1) log N]. TC(q_N) converges to the TC of the aggregate posterior
over the whole dataset as N grows, but for finite N it is biased upwards whenever the
posteriors are narrow compared with the spacing of the N means: each sample then sits on its own
component in D dimensions (log q_N(z_m) ~ log q(z_m|x_m) - log N) while its one-dimensional
marginals still overlap with other components', and in the limit of point-like posteriors the
estimate reaches the ceiling (D - 1) log N whatever the true dependence. Dimensions whose
posterior equals the prior for every image (collapsed latents) contribute nothing. Read the
estimate against its ceiling, reported as ``ceiling``; N = 10,000 (the paper preset) puts it at
9.2 nats per dimension pair, against 4.2 for a batch of 64.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from disentangle.data.base import GroundTruthDataset
from disentangle.errors import UserError
from disentangle.metrics.encoding import observations_for
from disentangle.metrics.spec import MetricSpec, metric_function

#: Log-density terms (samples x components x dimensions) held in memory at once.
_TERMS_PER_CHUNK = 1 << 23


@dataclass
class PosteriorSample:
    """The images whose posteriors make the mixture, and the seed of everything random after
    drawing them (observations of a random-observation dataset, then the samples z_m)."""

    indices: np.ndarray  # (N,)
    seed: int

    @property
    def index_arrays(self) -> list[np.ndarray]:
        return [self.indices]


def aggregate_total_correlation(means: np.ndarray, log_vars: np.ndarray,
                                random_state: np.random.RandomState) -> float:
    """The estimate of TC(q_N) described in the module docstring, in nats, from the N
    posteriors' means and log-variances (N, D); one sample z_m ~ q(z|x_m) per posterior.

    For each dimension d, log N(z; mu_nd, sigma_nd^2) = -z^2 / (2 sigma^2) + z mu / sigma^2 +
    c_nd is a quadratic in z, so the log densities of a chunk of samples under all N components
    are one batched product (z^2, z, 1) x coefficients per dimension (float64, on the GPU when
    there is one); the joint log density is their sum over d. Then log-sum-exp over the
    components."""
    # imported here, not at the top: the metrics load torch only when this estimate runs
    import torch

    from disentangle.runtime import default_device

    means = np.asarray(means, dtype=np.float64)
    log_vars = np.asarray(log_vars, dtype=np.float64)
    num, dims = means.shape
    samples = means + np.exp(0.5 * log_vars) * random_state.standard_normal(means.shape)
    device = default_device()
    mu, log_var, z = (torch.from_numpy(a).to(device) for a in (means, log_vars, samples))
    precision = torch.exp(-log_var)
    constant = -0.5 * (log_var + math.log(2 * math.pi) + precision * mu * mu)
    coefficients = torch.stack([-0.5 * precision, precision * mu, constant])  # (3, N, D)
    coefficients = coefficients.permute(2, 0, 1).contiguous()  # (D, 3, N)
    chunk = max(1, _TERMS_PER_CHUNK // (num * dims))
    total = 0.0
    with torch.inference_mode():
        for start in range(0, num, chunk):
            z_chunk = z[start:start + chunk].T  # (D, C)
            powers = torch.stack([z_chunk * z_chunk, z_chunk, torch.ones_like(z_chunk)], dim=2)
            log_density = torch.bmm(powers, coefficients)  # (D, C, N)
            joint = torch.logsumexp(log_density.sum(dim=0), dim=1)  # (C,)
            marginals = torch.logsumexp(log_density, dim=2).sum(dim=0)  # (C,)
            # log q_N = logsumexp - log N, once for the joint and once per marginal.
            total += float((joint - marginals).sum()) + (dims - 1) * math.log(num) * len(joint)
    return total / num


def encode_posteriors(data: GroundTruthDataset, posterior_function, indices: np.ndarray,
                      batch_size: int, random_state: np.random.RandomState):
    """(means, log_vars), each (len(indices), D), of the observations at ``indices``,
    ``batch_size`` images per call of ``posterior_function``; checked."""
    means, log_vars = [], []
    for start in range(0, len(indices), batch_size):
        batch = indices[start:start + batch_size]
        output = posterior_function(observations_for(data, posterior_function, batch,
                                                     random_state))
        mean, log_var = (np.asarray(a) for a in output) if len(output) == 2 else (None, None)
        if mean is None or mean.ndim != 2 or mean.shape[0] != len(batch) or (
                log_var.shape != mean.shape):
            raise UserError(f"the posterior function returned {type(output).__name__} of "
                            f"length {len(output)} for {len(batch)} observations: it must "
                            "return (mean, log_var), each one row per observation, (N, D)")
        if not (np.isfinite(mean).all() and np.isfinite(log_var).all()):
            raise UserError("the posterior function returned NaN or infinite values: check "
                            "the model (a diverged training run?)")
        means.append(mean)
        log_vars.append(log_var)
    return np.concatenate(means), np.concatenate(log_vars)


def draw(data: GroundTruthDataset, settings: dict,
         random_state: np.random.RandomState) -> PosteriorSample:
    indices = data.factors_to_index(data.sample_factors(settings["num_images"], random_state))
    return PosteriorSample(indices, int(random_state.randint(2**31 - 1)))


def score(sample: PosteriorSample, posterior_function, data: GroundTruthDataset,
          settings: dict) -> dict:
    random_state = np.random.RandomState(sample.seed)
    means, log_vars = encode_posteriors(data, posterior_function, sample.indices,
                                        settings["encode_batch_size"], random_state)
    num, dims = means.shape
    return {"total_correlation": aggregate_total_correlation(means, log_vars, random_state),
            "num_images": num, "ceiling": (dims - 1) * math.log(num)}


def summarise(result: dict) -> dict:
    return {"tc_large_sample": result["total_correlation"],
            "tc_num_images": result["num_images"]}


SPEC = MetricSpec(
    key="tc", name="TC (large sample)", reference="Kim & Mnih 2018's TC, estimated exactly "
    "over N encoded images",
    presets={"paper": {"num_images": 10_000}, "fast": {"num_images": 1_000}},
    minimums={"num_images": 2},
    draw=draw, score=score, summarise=summarise,
    result_keys=("tc_large_sample", "tc_num_images"), main_key="tc_large_sample",
    per_epoch=True, needs_posterior=True,
    returns=("total_correlation (nats), num_images, the ceiling (D - 1) log N of the estimator"))


total_correlation_metric = metric_function(SPEC, "total_correlation_metric")
