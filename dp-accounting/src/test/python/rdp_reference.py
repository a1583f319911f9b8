"""Independent reference values for the RDP tests, by numerical integration in mpmath.

A_alpha = E_{z ~ N(0, s^2)} [((1-q) + q exp((2z-1)/(2 s^2)))^alpha]  (Mironov, Talwar, Zhang 2019,
eq. for the sampled Gaussian mechanism), integrated with mpmath.quad at 50 digits, splitting the
real line at the points where the integrand changes shape.  Not run by the build.
Requires mpmath (tested with 1.3.0).
"""
import mpmath as mp

mp.mp.dps = 50


def log_a(q, sigma, alpha):
    q, sigma, alpha = mp.mpf(q), mp.mpf(sigma), mp.mpf(alpha)
    def f(z):
        return mp.npdf(z, 0, sigma) * ((1 - q) + q * mp.exp((2 * z - 1) / (2 * sigma ** 2))) ** alpha
    z0 = sigma ** 2 * mp.log(1 / q - 1) + mp.mpf(1) / 2
    pts = sorted(set([-40 * sigma, -10 * sigma, 0, z0, 1, alpha, alpha + 10 * sigma, alpha + 40 * sigma]))
    v = mp.quad(f, [-mp.inf] + pts + [mp.inf], maxdegree=10)
    return mp.log(v)


# The (q, sigma, order) grid of dp_accounting's rdp_privacy_accountant_test.test_compute_log_a_equals_mp
GRID = [(1e-7, .1, 1.01), (1e-6, .1, 256), (1e-5, .1, 256.1), (1e-6, 1, 27), (1e-4, 1., 1.5),
        (1e-3, 1., 2), (.01, 10, 20), (.1, 100, 20.5), (.99, .1, 256), (.999, 100, 256.1),
        (0.01, 0.7, 4.4), (0.5, 5, 1.1), (0.04, 1.5, 3.9)]


def gaussian_delta(sigma, eps):
    """Exact delta(eps) of the Gaussian mechanism (Balle & Wang 2018, Thm. 8)."""
    sigma, eps = mp.mpf(sigma), mp.mpf(eps)
    return mp.ncdf(1 / (2 * sigma) - eps * sigma) - mp.exp(eps) * mp.ncdf(-1 / (2 * sigma) - eps * sigma)


if __name__ == '__main__':
    for q, s, a in GRID:
        print(f"log_a(q={q}, sigma={s}, alpha={a}) = {mp.nstr(log_a(q, s, a), 20)}")
    for eps in (0, 1, 2):
        print(f"gaussian sigma=1 delta({eps}) = {mp.nstr(gaussian_delta(1, eps), 20)}")
    for x in (-5, -1, -0.3, 0, 1e-3, 0.1, 0.5, 1, 2, 3.75, 5, 10, 20, 26, 27):
        print(f"erfc({x}) = {mp.nstr(mp.erfc(x), 20)}")
    for x in (30, 100, 1e4):
        print(f"log erfc({x}) = {mp.nstr(mp.log(mp.erfc(x)), 20)}")
    for x in (0, 0.5, 3.75, 50, 1e3, 1e6):
        print(f"erfcx({x}) = {mp.nstr(mp.erfc(x) * mp.exp(mp.mpf(x) ** 2), 20)}")
