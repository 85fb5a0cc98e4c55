"""The seed's LSTM forecaster, generalised to predict the next sample of every channel."""

from __future__ import annotations

import torch
from torch import nn


class Forecaster(nn.Module):
    """``nn.LSTM`` followed by ``nn.Linear``: at each step, the forecast of the next sample.

    ``forward`` takes and returns the LSTM state explicitly, so the same module is
    trained over long sequences and exported as a one-step streaming graph.
    """

    def __init__(self, input_dim: int, hidden_dim: int = 64, num_layers: int = 2) -> None:
        super().__init__()
        self.input_dim, self.hidden_dim, self.num_layers = input_dim, hidden_dim, num_layers
        self.lstm = nn.LSTM(input_dim, hidden_dim, num_layers, batch_first=True)
        self.fc = nn.Linear(hidden_dim, input_dim)

    def zero_state(self, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The state a sequence starts from."""
        shape = (self.num_layers, batch, self.hidden_dim)
        return torch.zeros(shape), torch.zeros(shape)

    def forward(
        self, x: torch.Tensor, h0: torch.Tensor, c0: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``x``: ``[batch, time, channels]`` → forecasts of the same shape and the new state."""
        out, (h, c) = self.lstm(x, (h0, c0))
        return self.fc(out), h, c

    @torch.no_grad()
    def predict(self, x: torch.Tensor) -> torch.Tensor:
        """Forecasts over one whole ``[time, channels]`` sequence from a zero state."""
        h, c = self.zero_state(1)
        y, _, _ = self(x.unsqueeze(0), h, c)
        return y[0]
