"""Writes tests/data/arith/problems.json: the problems scripts/arith_task.py draws for eval seeds
1 and 7 (200 each) and train seed 12345 (100), with question, answer and worked-solution
strings, so the C++ mirror (src/train/arith_task.*) is checked against the Python generator the trainer uses.
Run: .venv/bin/python scripts/make_arith_refs.py"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import arith_task as t  # noqa: E402


def draw(seed, split, n):
    rng = t.Rng(seed)
    out = []
    for _ in range(n):
        op, a, b = t.sample_problem(rng, split)
        out.append([op, a, b, t.question(op, a, b), t.answer(op, a, b), t.solution(op, a, b)])
    return out


if __name__ == "__main__":
    refs = {"1": draw(1, "eval", 200), "7": draw(7, "eval", 200), "train_12345": draw(12345, "train", 100)}
    path = os.path.join(os.path.dirname(__file__), "..", "tests", "data", "arith", "problems.json")
    with open(path, "w") as f:
        json.dump(refs, f)
