"""Sample-quality metrics that need no download.

The Frechet distance (the "F" of FID) compares the mean and covariance of features of real and
generated images: ||mu_r - mu_g||^2 + Tr(S_r + S_g - 2 (S_r S_g)^(1/2)). FID uses an Inception
network trained on ImageNet, which cannot be downloaded here and does not suit 32x32 emoji.
``RandomConvFeatures`` is a fixed, seeded, untrained conv net instead: its pooled activations
respond to colour, edges and texture at three scales. Numbers from it are comparable with each
other (same seed, same image size), not with published FID values. Lower is better; the
distance between two real image sets gives the floor.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torchmetrics.image.fid import FrechetInceptionDistance


class RandomConvFeatures(nn.Module):
    """Fixed random conv features: three conv-ReLU-pool blocks, global averages of each block.

    Input (B, C, S, S) in [-1, 1] (resized to 32x32); output (B, 224) for ``width=32``.
    """

    def __init__(self, *, channels: int = 3, width: int = 32, seed: int = 1234) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        widths = [channels, width, 2 * width, 4 * width]
        self.blocks = nn.ModuleList()
        for c_in, c_out in zip(widths[:-1], widths[1:]):
            conv = nn.Conv2d(c_in, c_out, 3, padding=1)
            with torch.no_grad():
                conv.weight.copy_(torch.randn(conv.weight.shape, generator=g) * (2 / (9 * c_in)) ** 0.5)
                conv.bias.zero_()
            self.blocks.append(nn.Sequential(conv, nn.ReLU(), nn.AvgPool2d(2)))
        self.num_features = sum(widths[1:])
        self.requires_grad_(False)
        self.eval()

    def forward(self, x: Tensor) -> Tensor:
        if x.shape[-1] != 32:
            x = nn.functional.interpolate(x, size=(32, 32), mode="bilinear", antialias=True, align_corners=False)
        feats = []
        for block in self.blocks:
            x = block(x)  # 32 -> 16 -> 8 -> 4
            feats.append(x.mean(dim=(2, 3)))
        return torch.cat(feats, dim=1)  # (B, num_features)


class FrechetDistance:
    """Frechet distance between a fixed set of real images and samples of a generator.

    ``fd = FrechetDistance(real_test)`` caches the real features once; ``fd(gen)`` draws ``n``
    samples from seeded noise (the same noise every call) and returns the distance;
    ``fd.score(images)`` scores a tensor of images (B, C, H, W) in [-1, 1].
    """

    def __init__(
        self,
        real: Tensor,
        *,
        features: nn.Module | None = None,
        n: int = 1000,
        nz: int | None = None,
        batch_size: int = 250,
        seed: int = 0,
    ) -> None:
        self.features = features or RandomConvFeatures(channels=real.shape[1])
        self.n, self.nz, self.batch_size, self.seed = n, nz, batch_size, seed
        self.metric = FrechetInceptionDistance(feature=self.features, reset_real_features=False)
        self.device = real.device
        self.metric.to(self.device)
        for chunk in real.split(batch_size):
            self.metric.update(chunk.float(), real=True)

    def score(self, images: Tensor) -> float:
        """Distance between the real set and ``images`` (B, C, H, W) in [-1, 1]."""
        if images.dim() != 4 or images.shape[0] < 2:
            raise ValueError(f"need a batch of at least 2 images (B, C, H, W), got {tuple(images.shape)}")
        self.metric.reset()
        for chunk in images.split(self.batch_size):
            self.metric.update(chunk.to(self.device).float(), real=False)
        return float(self.metric.compute())

    @torch.no_grad()
    def __call__(self, gen: nn.Module) -> float:
        nz = self.nz or gen.nz
        device = next(gen.parameters()).device
        z = torch.randn(self.n, nz, generator=torch.Generator().manual_seed(self.seed)).to(device)
        was_training = gen.training
        gen.eval()
        try:
            fake = torch.cat([gen(c) for c in z.split(self.batch_size)])
        finally:
            gen.train(was_training)
        return self.score(fake)
