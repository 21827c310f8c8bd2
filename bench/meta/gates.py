"""Structured erasure of a BERT encoder by gating unit outputs.

Every candidate model shares one set of weights. An `ErasureMask` contains one
gate per attention head, per block of feed-forward intermediate units and
per layer; a gate of 0 erases the unit:

- head h of layer l: its slice of the attention context is multiplied by the
  gate before the attention output projection, so the head's query, key and
  value weights cannot reach the output;
- FFN block b of layer l: its intermediate activations are multiplied by the
  gate before the FFN output projection;
- layer l: output = g * layer(h) + (1 - g) * h, so g = 0 passes the hidden
  states through unchanged (the layer is skipped).

Gates are float tensors, so the same code computes importance scores as
gradients of a loss with respect to gates at 1 (Michel et al., NeurIPS 2019).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

import torch
from torch import nn

UNIT_KINDS = ("heads", "ffn", "layers")


@dataclass(frozen=True)
class ErasureShape:
    """How many erasable units of each kind an encoder has."""

    num_layers: int
    num_heads: int
    ffn_blocks: int
    ffn_block_size: int

    def unit_counts(self) -> dict[str, int]:
        return {"heads": self.num_layers * self.num_heads, "ffn": self.num_layers * self.ffn_blocks, "layers": self.num_layers}


@dataclass(frozen=True)
class ErasureMask:
    """Gates of one candidate: heads [L, H], ffn [L, B], layers [L]; 1 keeps a unit and 0 erases it."""

    heads: torch.Tensor
    ffn: torch.Tensor
    layers: torch.Tensor

    @classmethod
    def intact(cls, shape: ErasureShape, requires_grad: bool = False) -> ErasureMask:
        return cls(
            heads=torch.ones(shape.num_layers, shape.num_heads, requires_grad=requires_grad),
            ffn=torch.ones(shape.num_layers, shape.ffn_blocks, requires_grad=requires_grad),
            layers=torch.ones(shape.num_layers, requires_grad=requires_grad),
        )

    def tensors(self) -> dict[str, torch.Tensor]:
        return {"heads": self.heads, "ffn": self.ffn, "layers": self.layers}

    @classmethod
    def from_tensors(cls, tensors: dict[str, torch.Tensor]) -> ErasureMask:
        return cls(heads=tensors["heads"].float(), ffn=tensors["ffn"].float(), layers=tensors["layers"].float())

    def erased_counts(self) -> dict[str, int]:
        return {kind: int((tensor == 0).sum()) for kind, tensor in self.tensors().items()}

    def is_intact(self) -> bool:
        return all(bool((tensor == 1).all()) for tensor in self.tensors().values())

    def first_gated_layer(self) -> int:
        """Return the lowest layer with any gate below 1, or the layer count when the mask is intact."""
        num_layers = self.layers.shape[0]
        for layer in range(num_layers):
            if self.layers[layer] != 1 or bool((self.heads[layer] != 1).any()) or bool((self.ffn[layer] != 1).any()):
                return layer
        return num_layers


def additive_attention_mask(attention_mask: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """Turn a [B, T] 0/1 padding mask into the [B, 1, 1, T] additive mask that eager attention adds to scores."""
    blocked = (1.0 - attention_mask[:, None, None, :].to(dtype)) * torch.finfo(dtype).min
    return blocked


class GatedEncoder(nn.Module):
    """A Hugging Face BERT encoder whose heads, FFN blocks and layers are gated by the active `ErasureMask`.

    `forward(hidden, additive_mask, start, end)` runs layers start..end-1 so
    that callers can run frozen lower layers once and the adapted upper layers
    through `torch.func.functional_call`. The wrapped encoder must use eager
    attention (the gate sits on the attention context, which every
    implementation computes, but eager keeps second-order gradients working).
    """

    def __init__(self, encoder: nn.Module, ffn_blocks: int) -> None:
        super().__init__()
        config = encoder.config
        if config.intermediate_size % ffn_blocks != 0:
            raise ValueError(
                f"intermediate_size {config.intermediate_size} is not divisible by ffn_blocks={ffn_blocks}; "
                f"choose a divisor of {config.intermediate_size}"
            )
        self.encoder = encoder
        self.shape = ErasureShape(
            num_layers=config.num_hidden_layers,
            num_heads=config.num_attention_heads,
            ffn_blocks=ffn_blocks,
            ffn_block_size=config.intermediate_size // ffn_blocks,
        )
        self.head_size = config.hidden_size // config.num_attention_heads
        self._mask: ErasureMask | None = None
        for index, layer in enumerate(self.layers):
            layer.attention.output.dense.register_forward_pre_hook(self._head_hook(index))
            layer.output.dense.register_forward_pre_hook(self._ffn_hook(index))

    @property
    def layers(self) -> nn.ModuleList:
        return self.encoder.encoder.layer

    @contextlib.contextmanager
    def erased(self, mask: ErasureMask | None) -> Iterator[None]:
        """Apply `mask` to every forward pass inside the block; None means intact."""
        previous = self._mask
        self._mask = mask
        try:
            yield
        finally:
            self._mask = previous

    def _head_hook(self, layer: int):
        def hook(module: nn.Module, args: tuple[torch.Tensor, ...]):
            if self._mask is None:
                return None
            gates = self._mask.heads[layer]
            if not gates.requires_grad and bool((gates == 1).all()):
                return None
            context = args[0]
            scale = gates.to(context.dtype).repeat_interleave(self.head_size)
            return (context * scale,) + args[1:]

        return hook

    def _ffn_hook(self, layer: int):
        def hook(module: nn.Module, args: tuple[torch.Tensor, ...]):
            if self._mask is None:
                return None
            gates = self._mask.ffn[layer]
            if not gates.requires_grad and bool((gates == 1).all()):
                return None
            activations = args[0]
            scale = gates.to(activations.dtype).repeat_interleave(self.shape.ffn_block_size)
            return (activations * scale,) + args[1:]

        return hook

    def embed(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.encoder.embeddings(input_ids=batch["input_ids"], token_type_ids=batch.get("token_type_ids"))

    def forward(self, hidden: torch.Tensor, additive_mask: torch.Tensor, start: int = 0, end: int | None = None) -> torch.Tensor:
        end = self.shape.num_layers if end is None else end
        for index in range(start, end):
            gate = None if self._mask is None else self._mask.layers[index]
            if gate is not None and not gate.requires_grad and float(gate) == 0.0:
                continue  # an erased layer passes its input through, so skip the compute
            output = self.layers[index](hidden, additive_mask)
            if gate is None or (not gate.requires_grad and float(gate) == 1.0):
                hidden = output
            else:
                hidden = gate * output + (1.0 - gate) * hidden
        return hidden

    def encode(self, batch: dict[str, torch.Tensor], start_hidden: torch.Tensor | None = None, start: int = 0) -> torch.Tensor:
        """Return the last hidden states [B, T, D] of the whole encoder (or from layer `start` on)."""
        additive = additive_attention_mask(batch["attention_mask"], self.encoder.dtype)
        hidden = self.embed(batch) if start_hidden is None else start_hidden
        return self.forward(hidden, additive, start)
