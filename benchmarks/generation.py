"""Explaining a generation: ours (one shared walk) against Captum, same run, same model, steps and rule.

A random-init GPT-2 of 4 layers, hidden 256, 4 heads and GPT-2's vocabulary (50,257); a 64-token prompt
of random ids and the tokens it generates greedily. Two comparisons, each with the baselines matched:

1. Captum's `LLMGradientAttribution` with `LayerIntegratedGradients` on the embedding layer (token 0 as
   the prompt's baseline, earlier generated tokens held fixed, each token's log-probability) against
   `explain_generation(..., baseline=0, attribute_to="prompt", target="log_probability")`.
2. Captum's `IntegratedGradients` over `inputs_embeds`, one call per prefix (zero baseline, each token's
   logit) against `explain_generation(..., baseline="zero")` (the issue's contract).

For each: the seconds (median of interleaved repeats), ours / Captum, the largest difference of the
matrices relative to their largest entry, and the time per row at 16 and 64 generated tokens. Since
the machine is shared, `--counts` gives deterministic measures beside the times: floating-point
operations per row (torch's FlopCounterMode: matmuls and attention, forward and backward) and aten
operator calls per row (torch.profiler). Peak memory (the rise of the process's peak RSS during one
call, `resource.getrusage`, honest for CPU torch whose allocations tracemalloc does not see) of each
contender is measured in a fresh process (`--memory`).

    .venv/bin/python benchmarks/generation.py [--steps 32] [--repeats 3] [--generated 16 64] [--quick]
        [--counts] [--memory] [--ours-only N]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from timing import interleaved_medians  # noqa: E402

import ig_widget as igw  # noqa: E402

VOCABULARY = 50257
PROMPT_LENGTH = 64


class IdTokenizer:
    """What Captum's TextTokenInput and LLMGradientAttribution need from a tokenizer, over fixed ids
    (no GPT-2 tokenizer download): the "text" is the ids written out."""

    def encode(self, text, return_tensors=None, **kwargs):
        ids = [int(t) for t in text.split()]
        return torch.tensor([ids]) if return_tensors == "pt" else ids

    def convert_ids_to_tokens(self, ids):
        return [str(int(i)) for i in ids]

    def decode(self, ids, **kwargs):
        return " ".join(str(int(i)) for i in ids)

    def __call__(self, text, **kwargs):
        ids, offsets, at = [], [], 0
        for word in text.split():
            start = text.index(word, at)
            ids.append(int(word))
            offsets.append((start, start + len(word)))
            at = start + len(word)
        return {"input_ids": ids, "offset_mapping": offsets}


def make_model(seed: int = 0):
    import transformers

    torch.manual_seed(seed)
    config = transformers.GPT2Config(
        vocab_size=VOCABULARY, n_positions=1024, n_embd=256, n_layer=4, n_head=4, bos_token_id=0, eos_token_id=0
    )
    return transformers.GPT2LMHeadModel(config).eval()


def make_case(model, generated: int, seed: int = 0) -> tuple[list[int], torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    prompt = torch.randint(1, VOCABULARY, (PROMPT_LENGTH,), generator=generator).tolist()
    text = igw.attribution.prepare_generation(model, None, prompt, max_new_tokens=generated)
    return prompt, text.token_ids[PROMPT_LENGTH:]


def ours_llm(model, prompt, continuation, steps):
    return igw.explain_generation(
        model,
        None,
        prompt,
        continuation=continuation,
        baseline=0,
        attribute_to="prompt",
        target="log_probability",
        keep_special=False,
        steps=steps,
        trace=False,
    )


def captum_llm(model, prompt, continuation, steps):
    from captum.attr import LayerIntegratedGradients, LLMGradientAttribution, TextTokenInput

    tokenizer = IdTokenizer()
    llm = LLMGradientAttribution(LayerIntegratedGradients(model, model.transformer.wte), tokenizer)
    text = " ".join(map(str, prompt))
    return llm.attribute(TextTokenInput(text, tokenizer), target=continuation, n_steps=steps, method="gausslegendre")


def ours_embeds(model, prompt, continuation, steps):
    return igw.explain_generation(
        model, None, prompt, continuation=continuation, baseline="zero", steps=steps, trace=False
    )


def captum_embeds(model, prompt, continuation, steps):
    from captum.attr import IntegratedGradients

    ids = torch.tensor(prompt + continuation.tolist())
    rows = []
    for i in range(len(continuation)):
        prefix = ids[: len(prompt) + i][None]
        token = int(continuation[i])
        embeds = model.get_input_embeddings()(prefix).detach()

        def forward(inputs_embeds, token=token):
            return model(inputs_embeds=inputs_embeds, use_cache=False).logits[:, -1, token]

        attribution = IntegratedGradients(forward).attribute(
            embeds, baselines=torch.zeros_like(embeds), n_steps=steps, method="gausslegendre"
        )
        row = torch.zeros(len(ids))
        row[: prefix.shape[1]] = attribution.sum(dim=-1)[0]
        rows.append(row)
    return torch.stack(rows)


def relative_difference(ours: torch.Tensor, theirs: torch.Tensor) -> float:
    return float((ours - theirs).abs().max() / theirs.abs().max())


def ours_only(model, generated: int, steps: int, repeats: int) -> None:
    """Time per row of ours alone (Captum at 64 generated tokens takes minutes per call on 2 cores)."""
    prompt, continuation = make_case(model, generated)
    times = interleaved_medians(
        {
            "ours (LLM)": lambda: ours_llm(model, prompt, continuation, steps),
            "ours (inputs_embeds)": lambda: ours_embeds(model, prompt, continuation, steps),
        },
        repeats,
        torch.device("cpu"),
    )
    print(f"\n{generated} generated tokens, ours only, {steps} steps, {repeats} repeats")
    for name, seconds in times.items():
        print(f"  {name:32s} {seconds:7.2f} s   {seconds / generated * 1000:7.1f} ms per row")


def compare(model, generated: int, steps: int, repeats: int) -> None:
    prompt, continuation = make_case(model, generated)
    llm_ours = ours_llm(model, prompt, continuation, steps).matrix[:, :PROMPT_LENGTH]
    llm_theirs = captum_llm(model, prompt, continuation, steps).token_attr
    embeds_ours = ours_embeds(model, prompt, continuation, steps).matrix
    embeds_theirs = captum_embeds(model, prompt, continuation, steps)
    times = interleaved_medians(
        {
            "ours (LLM)": lambda: ours_llm(model, prompt, continuation, steps),
            "captum LLMGradientAttribution": lambda: captum_llm(model, prompt, continuation, steps),
            "ours (inputs_embeds)": lambda: ours_embeds(model, prompt, continuation, steps),
            "captum IG per prefix": lambda: captum_embeds(model, prompt, continuation, steps),
        },
        repeats,
        torch.device("cpu"),
    )
    print(
        f"\n{generated} generated tokens after a {PROMPT_LENGTH}-token prompt, {steps} Gauss-Legendre steps, "
        f"{torch.get_num_threads()} threads, {repeats} repeats"
    )
    for name, seconds in times.items():
        print(f"  {name:32s} {seconds:7.2f} s   {seconds / generated * 1000:7.1f} ms per row")
    print(
        f"  LLM attribution:   ours / Captum = {times['ours (LLM)'] / times['captum LLMGradientAttribution']:.3f}, "
        f"max |difference| / max |entry| = {relative_difference(llm_ours, llm_theirs):.2e}"
    )
    print(
        f"  IG over embeds:    ours / Captum = {times['ours (inputs_embeds)'] / times['captum IG per prefix']:.3f}, "
        f"max |difference| / max |entry| = {relative_difference(embeds_ours, embeds_theirs):.2e}"
    )


CONTENDERS = {
    "ours_llm": ours_llm,
    "captum_llm": captum_llm,
    "ours_embeds": ours_embeds,
    "captum_embeds": captum_embeds,
}


def peak_memory(name: str, generated: int, steps: int) -> None:
    """Run one contender once in this (fresh) process and print its peak RSS."""
    model = make_model()
    prompt, continuation = make_case(model, generated)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    CONTENDERS[name](model, prompt, continuation, steps)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        f"  {generated:3d} generated  {name:14s} peak RSS {after / 1024:7.0f} MiB "
        f"(+{(after - before) / 1024:.0f} MiB over the model and text)",
        flush=True,
    )


def counts(model, generated: int, steps: int, names: list[str]) -> None:
    """Deterministic measures per row: floating-point operations and aten operator calls of one call."""
    from torch.utils.flop_counter import FlopCounterMode

    prompt, continuation = make_case(model, generated)
    print(f"\n{generated} generated tokens, {steps} steps: per row (one call each)")
    for name in names:
        with FlopCounterMode(display=False) as flops:
            CONTENDERS[name](model, prompt, continuation, steps)
        with torch.profiler.profile() as profile:
            CONTENDERS[name](model, prompt, continuation, steps)
        calls = sum(event.count for event in profile.key_averages() if event.key.startswith("aten::"))
        print(
            f"  {name:14s} {flops.get_total_flops() / 1e9 / generated:8.2f} GFLOP   {calls / generated:8.0f} aten calls",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--generated", type=int, nargs="+", default=[16, 64], help="generated tokens per case")
    parser.add_argument("--quick", action="store_true", help="one repeat, 16 generated tokens only")
    parser.add_argument("--counts", action="store_true", help="GFLOP and aten calls per row instead of times")
    parser.add_argument("--memory", action="store_true", help="peak RSS per contender, each in a fresh process")
    parser.add_argument("--only", nargs="+", choices=list(CONTENDERS), help="contenders for --counts / --memory")
    parser.add_argument("--peak", help=argparse.SUPPRESS)
    parser.add_argument("--ours-only", type=int, metavar="N", help="time ours alone at N generated tokens")
    args = parser.parse_args()
    names = args.only or list(CONTENDERS)
    sizes = [16] if args.quick else args.generated
    if args.peak:
        peak_memory(args.peak, sizes[0], args.steps)
        return
    if args.memory:
        print(f"peak memory, {args.steps} steps, each contender in a fresh process")
        for generated in sizes:
            for name in names:
                command = [sys.executable, __file__, "--peak", name, "--steps", str(args.steps)]
                subprocess.run([*command, "--generated", str(generated)], check=True, env={**os.environ})
        return
    model = make_model()
    if args.counts:
        for generated in sizes:
            counts(model, generated, args.steps, names)
        return
    if args.ours_only:
        ours_only(model, args.ours_only, args.steps, args.repeats)
        return
    for generated in sizes:
        compare(model, generated, args.steps, 1 if args.quick else args.repeats)


if __name__ == "__main__":
    main()
