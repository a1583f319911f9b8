"""Generates the Chebyshev coefficients used by org.cloister.dp.math.ErrorFunction.

erfcx(x) = exp(x^2) erfc(x) for x >= 0 is written as erfcx(x) = K/(x+K) * h(t) with
t = (x-K)/(x+K) in [-1, 1) and K = 3.75 (the mapping of Schonfelder, Math. Comp. 32 (1978)).
h is smooth on [-1, 1]; its Chebyshev coefficients are computed here in 40-digit arithmetic
by the discrete cosine transform at 120 Chebyshev nodes.  Not run by the build: the output is
pasted into ErrorFunction.java.  Requires mpmath (tested with 1.3.0).
"""
import mpmath as mp

mp.mp.dps = 40
K = mp.mpf('3.75')


def h(t):
    if t == 1:
        return 1 / (mp.sqrt(mp.pi) * K)
    x = K * (1 + t) / (1 - t)
    return 2 * mp.erfc(x) * mp.exp(x * x) / (1 - t)


def main(n_nodes=120, n_keep=30):
    nodes = [mp.cos(mp.pi * (k + mp.mpf(1) / 2) / n_nodes) for k in range(n_nodes)]
    vals = [h(t) for t in nodes]
    for j in range(n_keep):
        s = sum(vals[k] * mp.cos(mp.pi * j * (k + mp.mpf(1) / 2) / n_nodes) for k in range(n_nodes))
        c = 2 * s / n_nodes
        if j == 0:
            c /= 2
        print(mp.nstr(c, 22, min_fixed=0, max_fixed=0) + ",")


if __name__ == '__main__':
    main()
