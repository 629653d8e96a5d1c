"""R1-style arithmetic task for the built-in dsv3 model: problem generator, worked solution
("<think> digit-by-digit work </think> answer") and answer checker.

Shared by scripts/train_reference.py (training data, held-out eval) and meant to be mirrored
bit-for-bit by `dsv3 eval` in C++, so every random choice goes through the tiny portable
SplitMix64 generator below (no Python `random`).

Problem distribution (one draw = `sample_problem(rng, split)`):
  op  = "+-*"[u(3)]
  a   = number with nd_a = 1 + u(3) digits (1..3 digits; a 1-digit number is u(10), else
        10^(nd-1) + u(9 * 10^(nd-1)))
  b   = same with nd_b = 1 + u(3) digits for + and -, nd_b = 1 + u(MUL_B_DIGITS) for *
  where u(n) = rng.next() % n.  A problem is *held out* iff heldout_hash(op, a, b) % 10 == 0;
  split "train" redraws held-out problems, split "eval" redraws the others, so any eval seed
  gives problems never seen in training.

Worked solution (column arithmetic from the least significant digit; the right part of each
line is the partial result so far, so every line depends only on the question and the
previous line):
  What is 347+589?  ->  "7+9+0=16|6\n4+8+1=13|36\n3+5+1=9|936\n</think>\n\n936"
  addition    line k: "{x}+{y}+{c}={s}|{partial}"  s = x+y+c, carry c' = s // 10
  subtraction line k: "{x}-{y}-{c}={r}|{partial}"  r = x-y-c, borrow c' = (r < 0),
              digit r mod 10.  The columns of a-b always come first; a < b shows up as a
              negative last column (its full value is prepended, e.g. "|-838"), and only
              then the line "<0: -(B-A)" follows, the columns of b-a, and the answer gets a
              "-" sign.  So the model never has to compare a and b up front or copy them:
              9-771 -> "9-1-0=8|8\n0-7-0=-7|38\n0-7-1=-8|-838\n<0: -(B-A)\n
                        1-9-0=-8|2\n7-0-1=6|62\n7-0-0=7|762\n</think>\n\n-762"
  multiply    line k: "{x}*{d}+{c}={p}|{partial}"  p = x*d+c, carry c' = p // 10
  The last column prepends its full value (s, r or p) instead of the digit (so a final
  carry needs no extra line); the answer is the last partial without leading zeros.
"""

MASK64 = (1 << 64) - 1
MUL_B_DIGITS = 1  # digits of the second factor of a multiplication
OPS = "+-*"
USER_TURN = "What is {a}{op}{b}?"


class Rng:
    """SplitMix64 (Steele et al. 2014; the seeding generator of xoshiro), state = seed."""

    def __init__(self, seed: int):
        self.state = seed & MASK64

    def next(self) -> int:
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK64
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        return z ^ (z >> 31)

    def uniform(self, n: int) -> int:
        return self.next() % n


def heldout_hash(op: str, a: int, b: int) -> int:
    """One SplitMix64 step on key = op_index * 10^6 + a * 10^3 + b (a, b < 1000)."""
    return Rng(OPS.index(op) * 1_000_000 + a * 1000 + b).next()


def is_heldout(op: str, a: int, b: int) -> bool:
    return heldout_hash(op, a, b) % 10 == 0


def _number(rng: Rng, digits: int) -> int:
    if digits == 1:
        return rng.uniform(10)
    return 10 ** (digits - 1) + rng.uniform(9 * 10 ** (digits - 1))


def sample_problem(rng: Rng, split: str = "train"):
    """Returns (op, a, b) drawn as described in the module doc; split is 'train' or 'eval'."""
    assert split in ("train", "eval")
    while True:
        op = OPS[rng.uniform(3)]
        a = _number(rng, 1 + rng.uniform(3))
        b = _number(rng, 1 + rng.uniform(3 if op != "*" else MUL_B_DIGITS))
        if is_heldout(op, a, b) == (split == "eval"):
            return op, a, b


def answer(op: str, a: int, b: int) -> str:
    return str(a + b if op == "+" else a - b if op == "-" else a * b)


def _digits_lsb(n: int, width: int):
    return [(n // 10**k) % 10 for k in range(width)]


def _columns(op: str, a: int, b: int):
    """Column lines of a op b, least significant first, and the last partial (a str)."""
    if op == "*":
        xs, ys = _digits_lsb(a, len(str(a))), [b] * len(str(a))
    else:
        n = max(len(str(a)), len(str(b)))
        xs, ys = _digits_lsb(a, n), _digits_lsb(b, n)
    lines, partial, c = [], "", 0
    for k, (x, y) in enumerate(zip(xs, ys)):
        last = k == len(xs) - 1
        if op == "+":
            v = x + y + c
            expr, c, digit = f"{x}+{y}+{c}={v}", v // 10, v % 10
        elif op == "-":
            v = x - y - c
            expr, c, digit = f"{x}-{y}-{c}={v}", int(v < 0), v % 10
        else:
            v = x * y + c
            expr, c, digit = f"{x}*{y}+{c}={v}", v // 10, v % 10
        partial = (str(v) if last else str(digit)) + partial
        lines.append(f"{expr}|{partial}")
    return lines, partial


def solution(op: str, a: int, b: int) -> str:
    """The assistant text after the "<think>\\n" of the generation prompt."""
    lines, partial = _columns(op, a, b)
    sign = ""
    if op == "-" and a < b:  # the last column of a-b came out negative
        assert partial.startswith("-")
        more, partial = _columns(op, b, a)
        lines += ["<0: -(B-A)"] + more
        sign = "-"
    result = sign + str(int(partial))
    assert result == answer(op, a, b)
    return "\n".join(lines) + "\n</think>\n\n" + result


def question(op: str, a: int, b: int) -> str:
    return USER_TURN.format(a=a, op=op, b=b)


def extract_answer(completion: str) -> str:
    """Final answer of a generated completion: text after the last "</think>", stripped
    (end-of-sentence token already removed by the caller)."""
    return completion.split("</think>")[-1].strip()


def is_correct(op: str, a: int, b: int, completion: str) -> bool:
    return extract_answer(completion) == answer(op, a, b)


if __name__ == "__main__":
    rng = Rng(1)
    for _ in range(6):
        p = sample_problem(rng, "eval")
        print(question(*p))
        print(solution(*p))
        print("---")
