# PyTorch CPU reference for bench/train.ts: the same conv net, loss and optimizer on one thread.
# Prints one JSON line {"median_step_seconds": ...}; channels-first layout as PyTorch expects.
import argparse
import json
import time

import torch
import torch.nn as nn


class ReferenceNet(nn.Module):
    def __init__(self, mels=80, hidden=256, kernel=5, blocks=4):
        super().__init__()
        self.inp = nn.Conv1d(mels, hidden, kernel, padding=kernel // 2)
        self.blocks = nn.ModuleList(nn.Conv1d(hidden, hidden, kernel, padding=kernel // 2) for _ in range(blocks))
        self.out = nn.Conv1d(hidden, mels, kernel, padding=kernel // 2)
        self.act = nn.LeakyReLU(0.2)

    def forward(self, x):  # x: [batch, mels, frames]
        h = self.act(self.inp(x))
        for block in self.blocks:
            h = h + self.act(block(h))
        return self.out(h)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--frames", type=int, default=128)
    parser.add_argument("--steps", type=int, default=12)
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    net = ReferenceNet()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    x = torch.randn(args.batch, 80, args.frames)
    y = torch.randn(args.batch, 80, args.frames)
    times = []
    for step in range(args.steps):
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = (net(x) - y).abs().mean()
        loss.backward()
        opt.step()
        float(loss)
        if step >= 2:
            times.append(time.perf_counter() - t0)
    times.sort()
    print(json.dumps({"median_step_seconds": times[len(times) // 2]}))


if __name__ == "__main__":
    main()
