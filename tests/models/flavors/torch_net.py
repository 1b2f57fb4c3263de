"""Project code a saved PyTorch model refers to by import path."""

import torch


class TinyNet(torch.nn.Module):
    def __init__(self, width: int = 4, hidden: int = 8) -> None:
        super().__init__()
        self.init_kwargs = {"width": width, "hidden": hidden}
        self.layer = torch.nn.Linear(width, hidden)
        self.head = torch.nn.Linear(hidden, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(torch.relu(self.layer(x)))
