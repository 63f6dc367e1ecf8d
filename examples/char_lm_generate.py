"""Generate text from a character-level language model trained by examples/char_lm.toml.

    nnframe train examples/char_lm.toml            # writes char_lm.npz
    python examples/char_lm_generate.py char_lm.npz "def " --length 300

The model reads windows of 64 character codes and gives, at every position, logits of the
next character. Generation keeps the last 64 characters (a prompt shorter than that is
padded on the left with newlines), samples the next character from the softmax of the
last position's logits divided by the temperature, appends it, and repeats. The seed makes
the text repeatable.
"""

from __future__ import annotations

import argparse

import numpy as np

import nnframe


def generate(network: nnframe.Network, prompt: str, length: int, temperature: float,
             rng: np.random.Generator) -> str:
    """``prompt`` and ``length`` characters sampled after it."""
    (context,) = network.input_shape
    text = prompt
    for _ in range(length):
        window = ("\n" * context + text)[-context:]
        codes = np.array([[min(ord(c), 127) for c in window]], dtype=np.float32)
        logits = network.predict(codes)[0, -1].astype(np.float64) / temperature
        weights = np.exp(logits - logits.max())
        text += chr(int(rng.choice(len(weights), p=weights / weights.sum())))
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="model file written by nnframe train")
    parser.add_argument("prompt", nargs="?", default="def ", help="text to continue")
    parser.add_argument("--length", type=int, default=300, help="characters to generate")
    parser.add_argument("--temperature", type=float, default=0.8,
                        help="below 1: safer choices; above 1: more varied")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    network = nnframe.load(args.model)
    print(generate(network, args.prompt, args.length, args.temperature,
                   np.random.default_rng(args.seed)))


if __name__ == "__main__":
    main()
