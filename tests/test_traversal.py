"""Traversal codes: one latent coordinate swept at a time, everything else at the centre."""

import torch

from disentangle.traversal import traversal_codes


def test_each_row_block_sweeps_one_dimension_around_the_centre():
    centre = torch.tensor([0.5, -1.0, 2.0])
    codes = traversal_codes(centre, [2, 0], [-1.0, 0.0, 1.0])
    assert codes.shape == (6, 3)
    torch.testing.assert_close(codes[:3, 2], torch.tensor([-1.0, 0.0, 1.0]))
    torch.testing.assert_close(codes[3:, 0], torch.tensor([-1.0, 0.0, 1.0]))
    torch.testing.assert_close(codes[:3, :2], centre[:2].repeat(3, 1))
    torch.testing.assert_close(codes[3:, 1:], centre[1:].repeat(3, 1))
