"""Stacked training: S models as one computation behave like S models trained alone.

For each kind, a stack of three models (different seeds and weights) against three single
Trainers: identical initial weights and batches, step-1 losses equal within 1e-5 relative,
parameters equal within stated tolerances after 3 fp32 steps and after 50 float64 steps (see
the tolerances below); stacks mixing kinds; a model bitwise independent of its stack-mates;
exact resume mid-chunk and at a chunk boundary; a diverging model frozen while the others go on
exactly as without it; the stacked Adam equal to torch's."""

from __future__ import annotations

import contextlib
import math

import numpy as np
import pytest
import torch
from test_training import FAST, SmallSprites

from disentangle.errors import UserError
from disentangle.models import load_model
from disentangle.training import Trainer
from disentangle.training import streams as stream_module
from disentangle.training.adam import StackedAdam
from disentangle.training.trainer import StackTrainer

torch.set_num_threads(2)
#: Largest relative difference (||a - b|| / ||b|| of any parameter tensor) allowed between a
#: model trained in a stack and alone. A stack runs grouped convolutions and batched matrix
#: products, a model alone plain ones, which add in another order; Adam's normalised steps
#: carry those last-bit differences forward, most in the weights whose gradients are near zero.
#: In fp32 (as training runs) they stay below 1e-7 for 10 steps, so 3 steps are compared within
#: ``EARLY_TOLERANCE``; after 50 fp32 steps they reach 5e-8 to 5e-3, by how the CPU's kernels
#: happen to add (1.1e-3 on one machine, 4.8e-3 on another): no bound there is a property of
#: the code. So the 50 steps run in float64, whose rounding is 1e-16, within ``LATE_TOLERANCE``
#: (measured: 0, the float64 kernels adding in the same order on this CPU; 1e-16 grown by the
#: 1e5 that fp32's differences grow would be 1e-11). A discriminator's training amplifies any
#: difference about tenfold a step (a 1e-7 change of its weights grows to 1e-2 in 20 steps of
#: one model alone), so models with a discriminator are compared after 3 steps only. Within
#: stacks of two or more models the kernels are the same whatever the companions: there a
#: model's weights are bitwise identical
#: (``test_a_models_training_does_not_depend_on_its_stack_mates``).
EARLY_TOLERANCE, LATE_TOLERANCE = 1e-5, 1e-9
STACKS = {
    "vae": [{"model": "vae", "seed": s} for s in (0, 1, 2)],
    "beta_vae": [{"model": "beta_vae", "beta": b, "seed": s} for b, s in ((1, 0), (4, 1), (16, 2))],
    "factor_vae": [{"model": "factor_vae", "gamma": g, "seed": s}
                   for g, s in ((0, 0), (10, 1), (40, 2))],
    "mixed": [{"model": "vae", "seed": 3}, {"model": "factor_vae", "gamma": 20, "seed": 4},
              {"model": "beta_vae", "beta": 8, "seed": 5}],
    "disentanglement_lib": [{"model": "beta_tcvae", "beta": 6, "seed": 6},
                            {"model": "dip_vae_i", "lambda_od": 10, "seed": 7},
                            {"model": "dip_vae_ii", "lambda_od": 5, "seed": 8},
                            {"model": "annealed_vae", "c_max": 25, "seed": 9}],
}


class HalfSprites(SmallSprites):
    """``SmallSprites`` at 32x32 (every other pixel): the float64 runs' data, a quarter of the
    arithmetic of 64x64 images through the same code (float64 kernels are 2-4x slower)."""

    @property
    def observation_shape(self):
        return (1, 32, 32)

    def images(self, indices):
        return np.ascontiguousarray(super().images(indices)[..., ::2, ::2])


@pytest.fixture(scope="module")
def sprites():
    return SmallSprites()


@contextlib.contextmanager
def default_dtype(dtype: torch.dtype):
    """Torch's default dtype inside: networks built there (and their training) use it."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        yield
    finally:
        torch.set_default_dtype(previous)


def max_difference(a: dict, b: dict) -> float:
    assert a.keys() == b.keys()
    return max((a[name] - b[name]).abs().max().item() for name in a)


def relative_difference(a: dict, b: dict) -> float:
    assert a.keys() == b.keys()
    return max(((a[name] - b[name]).norm() / b[name].norm()).item() for name in a)


def discriminator_of(trainer, index: int) -> dict:
    """Model ``index``'s discriminator weights in a stack."""
    position = trainer.discriminated.tolist().index(index)
    return {name: tensor[position] for name, tensor in trainer.discriminator.state_dict().items()}


@pytest.mark.parametrize("stack", list(STACKS))
def test_a_stack_trains_each_model_as_if_alone(sprites, stack):
    configs = [{**FAST, **config} for config in STACKS[stack]]
    stacked = StackTrainer(configs, sprites, "cpu")
    alone = [Trainer(config, sprites, "cpu") for config in configs]
    for index, single in enumerate(alone):
        assert max_difference(stacked.models[index].state_dict(),
                              single.model.state_dict()) == 0.0
        assert torch.equal(stacked.streams.step_inputs(0)["indices"][index],
                           single.streams.step_inputs(0)["indices"][0])
    first = stacked.train_steps(1)
    for report, single in zip(first, alone):
        expected = single.train_steps(1)
        assert report.keys() == expected.keys()
        for name in ("loss", "reconstruction", "kl"):
            assert report[name] == pytest.approx(expected[name], rel=1e-5), name
    stacked.train_steps(2)
    for index, single in enumerate(alone):
        single.train_steps(2)
        assert relative_difference(stacked.models[index].state_dict(),
                                   single.model.state_dict()) < EARLY_TOLERANCE
        if single.discriminator is not None:
            assert relative_difference(discriminator_of(stacked, index),
                                       discriminator_of(single, 0)) < EARLY_TOLERANCE
    compared = [index for index, kind in enumerate(stacked.kinds) if not kind.discriminator]
    if not compared:
        return
    with default_dtype(torch.float64):
        data = HalfSprites()
        stacked = StackTrainer(configs, data, "cpu")
        alone = {index: Trainer(configs[index], data, "cpu") for index in compared}
        assert stacked.dtype == torch.float64
        stacked.train_steps(50)
        for index, single in alone.items():
            single.train_steps(50)
            assert relative_difference(stacked.models[index].state_dict(),
                                       single.model.state_dict()) < LATE_TOLERANCE


def test_a_models_training_does_not_depend_on_its_stack_mates(sprites):
    """The same models in stacks of other companions and order train bitwise identically."""
    mixed = [{**FAST, **config} for config in STACKS["mixed"]]
    other = [{**FAST, "model": "beta_vae", "beta": 2, "seed": 6}, mixed[2], mixed[1], mixed[0]]
    one, two = StackTrainer(mixed, sprites, "cpu"), StackTrainer(other, sprites, "cpu")
    one.train_steps(20)
    two.train_steps(20)
    for index, position in ((0, 3), (1, 2), (2, 1)):
        assert max_difference(one.models[index].state_dict(),
                              two.models[position].state_dict()) == 0.0
    assert max_difference(discriminator_of(one, 1), discriminator_of(two, 2)) == 0.0


@pytest.mark.parametrize("stop", [6, 8])
def test_a_stack_resumes_exactly_mid_chunk_and_at_a_chunk_boundary(sprites, tmp_path,
                                                                    monkeypatch, stop):
    monkeypatch.setattr(stream_module, "CHUNK_STEPS", 4)
    configs = [{**FAST, **config} for config in STACKS["mixed"]]
    uninterrupted = StackTrainer(configs, sprites, "cpu")
    uninterrupted.train_steps(stop)
    path = uninterrupted.save_checkpoint(tmp_path / "stack.pt")
    expected = uninterrupted.train_steps(5)
    resumed = StackTrainer.from_checkpoint(path, sprites, "cpu")
    assert resumed.step == stop
    assert resumed.train_steps(5) == expected
    assert max_difference(resumed.network.state_dict(), uninterrupted.network.state_dict()) == 0
    assert max_difference(resumed.discriminator.state_dict(),
                          uninterrupted.discriminator.state_dict()) == 0
    with pytest.raises(UserError, match="stack of 3 models"):
        Trainer.from_checkpoint(path, sprites, "cpu")
    member = load_model(path, member=1)
    assert member.info["model"] == "factor_vae" and member.info["hyperparameters"]["gamma"] == 20
    exported = load_model(resumed.export(2, tmp_path / "beta.pt"))
    assert max_difference(exported.state_dict(), resumed.models[2].state_dict()) == 0
    with pytest.raises(UserError, match="choose one with member"):
        load_model(path)


def test_a_diverging_model_is_frozen_and_the_others_go_on_as_if_it_were_absent(sprites):
    healthy = [{**FAST, "model": "beta_vae", "beta": 4, "seed": 0},
               {**FAST, "model": "beta_vae", "beta": 2, "seed": 1}]
    doomed = {**FAST, "model": "beta_vae", "beta": 1e39, "seed": 2}   # infinite in float32
    stack = StackTrainer([healthy[0], doomed, healthy[1]], sprites, "cpu")
    initial = {name: tensor[1].clone() for name, tensor in stack.network.state_dict().items()}
    reports = stack.train_steps(10)
    assert [r["diverged"] for r in reports] == [0, 1, 0]
    assert reports[1]["diverged_step"] == 1 and "diverged_step" not in reports[0]
    frozen = {name: tensor[1] for name, tensor in stack.network.state_dict().items()}
    assert max_difference(frozen, initial) == 0          # its first step was never applied
    assert stack.optimizer.steps.tolist() == [10, 0, 10]
    assert all((moment[1] == 0).all() for moment in stack.optimizer.exp_avg)
    without = StackTrainer(healthy, sprites, "cpu")
    without.train_steps(10)
    for position, index in ((0, 0), (1, 2)):
        assert max_difference(stack.models[index].state_dict(),
                              without.models[position].state_dict()) == 0.0


def test_models_stacked_together_must_share_their_training_settings(sprites):
    with pytest.raises(UserError, match="lr differ"):
        StackTrainer([{**FAST, "model": "vae"}, {**FAST, "model": "vae", "lr": 1e-3}],
                     sprites, "cpu")


def test_the_stacked_adam_is_torch_adam_per_model_and_frozen_models_keep_their_state():
    torch.manual_seed(0)
    stacked = [torch.randn(3, 5, 4, requires_grad=True), torch.randn(3, 7, requires_grad=True)]
    alone = [[p[k].detach().clone().requires_grad_() for p in stacked] for k in range(3)]
    optimizer = StackedAdam(stacked, lr=1e-3, betas=(0.5, 0.9))
    references = [torch.optim.Adam(params, lr=1e-3, betas=(0.5, 0.9)) for params in alone]
    for step in range(12):
        gradients = [torch.randn_like(p) for p in stacked]
        active = torch.tensor([True, True, step < 4])
        for param, gradient in zip(stacked, gradients):
            param.grad = gradient.clone()
            if not active[2]:
                param.grad[2] = math.nan   # a diverged model's gradient
        optimizer.step(active)
        for k in range(3):
            if active[k]:
                for param, gradient in zip(alone[k], gradients):
                    param.grad = gradient[k].clone()
                references[k].step()
    for k in range(3):
        assert all(torch.equal(stacked[i][k], alone[k][i]) for i in range(2))
        for i in range(2):
            state = references[k].state[alone[k][i]]
            assert torch.equal(optimizer.exp_avg[i][k], state["exp_avg"])
            assert torch.equal(optimizer.exp_avg_sq[i][k], state["exp_avg_sq"])
    assert optimizer.steps.tolist() == [12, 12, 4]


def test_a_stack_is_scored_from_one_encoding_as_each_model_alone(sprites):
    """``evaluate(..., members=S)`` on a stack's side-by-side representations: one set of
    draws, one stacked encoder pass, and each model's scores (the large-sample TC included)
    equal to scoring that model alone."""
    from conftest import TINY_METRICS

    from disentangle.metrics import evaluate
    from disentangle.representation import (
        posterior_function,
        representation_function,
        stack_posterior_function,
        stack_representation_function,
    )

    stack = StackTrainer([{**FAST, **config} for config in STACKS["mixed"]], sprites, "cpu")
    stack.train_steps(3)
    chosen = [0, 2]
    together = evaluate(sprites, stack_representation_function(stack, chosen, "fp32"),
                        np.random.RandomState(1), members=len(chosen),
                        posterior_function=stack_posterior_function(stack, chosen, "fp32"),
                        **TINY_METRICS)
    for scores, index in zip(together, chosen):
        model = stack.models[index]
        alone = evaluate(sprites, representation_function(model, "cpu", "fp32"),
                         np.random.RandomState(1),
                         posterior_function=posterior_function(model, "cpu", "fp32"),
                         **TINY_METRICS)
        for key in ("beta_vae_score", "factor_vae_score", "mig_score", "tc_large_sample"):
            assert scores[key] == pytest.approx(alone[key], abs=1e-6), key
        assert scores["metric_images_encoded"] == alone["metric_images_encoded"]
