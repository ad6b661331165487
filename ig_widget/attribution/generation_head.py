"""Reading only the logits a generation's rows explain, instead of the whole vocabulary at every position.

A causal LM's output head turns every position's hidden state into a score for every vocabulary token:
for a GPT-2-sized vocabulary (50,257) that matmul, forward and backward, is most of a small model's work
along a path, and each row needs one number from it (the generated token's logit at its position), or
one number and a log-sum-exp. `SelectiveHead` stands in for the head in the model's twin (never in the
user's model) and computes only those: [batch, rows, 3] = (token logit, log-sum-exp over the vocabulary,
alternative token logit). The log-sum-exp has a custom backward: its gradient with respect to the hidden
state is the softmax-weighted mean of the head's rows, computed once in the forward pass, so a row's
backward pass never touches the vocabulary.

It is only used after a check: at the input, the model with the selective head must give the same
numbers as the model with its own head (a model that rescales or caps its logits after the head fails
that check, and keeps its own head).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

# Relative agreement (of the largest |value|) between the selective head and the model's own logits
# that lets the walk use the selective head; float32 matmuls in another order differ by ~1e-7.
HEAD_TOLERANCE = 1e-4


class _LogSumExp(torch.autograd.Function):
    """log sum_v exp(h . W_v + b_v) with the gradient softmax(hW + b) @ W kept from the forward pass."""

    @staticmethod
    def forward(ctx, hidden: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
        logits = hidden @ weight.T
        if bias is not None:
            logits = logits + bias
        total = logits.logsumexp(dim=-1)
        ctx.save_for_backward(torch.softmax(logits, dim=-1) @ weight)
        return total

    @staticmethod
    def backward(ctx, grad: Tensor):
        (expected,) = ctx.saved_tensors
        return grad[..., None] * expected, None, None


class SelectiveHead(nn.Module):
    """The output head of a twin, reading `positions` only: column 0 the logit of `tokens`, column 1 the
    log-sum-exp over the vocabulary (0 unless `with_lse`), column 2 the logit of `alternatives` (0 without).

    With `selective` False it is the model's own head (for passes that need every logit).
    """

    def __init__(self, head: nn.Linear, positions: Tensor, tokens: Tensor, alternatives: Tensor | None, with_lse: bool):
        super().__init__()
        self.head = head
        self.positions, self.tokens, self.alternatives = positions, tokens, alternatives
        self.with_lse = with_lse
        self.selective = False
        self.eval()

    def forward(self, hidden: Tensor) -> Tensor:
        if not self.selective:
            return self.head(hidden)
        weight, bias = self.head.weight, self.head.bias
        at = hidden[:, self.positions]  # [batch, rows, dim]
        columns = [_picked(at, weight, bias, self.tokens)]
        columns.append(_LogSumExp.apply(at, weight, bias) if self.with_lse else torch.zeros_like(columns[0]))
        columns.append(
            _picked(at, weight, bias, self.alternatives)
            if self.alternatives is not None
            else torch.zeros_like(columns[0])
        )
        return torch.stack(columns, dim=-1)


def _picked(at: Tensor, weight: Tensor, bias: Tensor | None, tokens: Tensor) -> Tensor:
    value = (at * weight[tokens]).sum(dim=-1)
    return value + bias[tokens] if bias is not None else value


def output_head(model: nn.Module, vocabulary: int) -> tuple[nn.Module, str, nn.Linear] | None:
    """(parent, attribute name, head) of a Hugging Face model's output head (`get_output_embeddings`),
    when it is a Linear layer onto the vocabulary; None otherwise (the walk then reads the model's logits)."""
    getter = getattr(model, "get_output_embeddings", None)
    head = getter() if callable(getter) else None
    if not isinstance(head, nn.Linear) or head.out_features != vocabulary:
        return None
    for parent in model.modules():
        for name, child in parent._modules.items():
            if child is head:
                return parent, name, head
    return None
