"""The paper's primitives, each written once against the array namespace ``B``.

Signatures (see :mod:`deap_nos.backend` for what ``B`` offers):

- operand:            ``f(ctx, B)``; ``ctx`` exposes ``g``, ``w``, ``t`` and the moving
  averages ``v``, ``s``, ``l`` with their bias-corrected ``v_hat``, ``s_hat``, ``l_hat``;
- unary / decay unary: ``f(x, B)``;
- binary / decay binary: ``f(x, y, B)``;
- state-saving unary: ``f(x, n, t, B) -> (output, new_n)``, ``n`` starting at zero;
- schedule:           ``f(t, T, B)`` with ``t`` the 0-based step and ``T`` the total.

All are module-level functions so that a search space pickles by reference.
Values are those of docs/reference.md §2–5.
"""
EPS = 1e-7

# ---------------------------------------------------------------------------
# Operands (§2)


def op_g(c, B): return c.g
def op_g2(c, B): return c.g * c.g
def op_g3(c, B): return c.g * c.g * c.g
def op_v_hat(c, B): return c.v_hat
def op_s_hat(c, B): return c.s_hat
def op_l_hat(c, B): return c.l_hat
def op_one(c, B): return B.ones_like(c.g)
def op_two(c, B): return B.full_like(c.g, 2.0)
def op_wd6(c, B): return 1e-6 * c.w
def op_wd5(c, B): return 1e-5 * c.w
def op_wd4(c, B): return 1e-4 * c.w
def op_wd3(c, B): return 1e-3 * c.w
def op_sign_g(c, B): return B.sign(c.g)
def op_sign_v(c, B): return B.sign(c.v_hat)
def op_qh_v(c, B): return 0.3 * c.g + 0.7 * c.v_hat
def op_qh_s(c, B): return 0.05 * c.g * c.g + 0.95 * c.s_hat
def op_qh_l(c, B): return 0.01 * c.g * c.g * c.g + 0.99 * c.l_hat


def _aggmo(state, target, betas):
    return sum(b * state - target for b in betas) / len(betas)


def op_agg_v(c, B): return _aggmo(c.v, c.g, (0.0, 0.9, 0.999))
def op_agg_s(c, B): return _aggmo(c.s, c.g * c.g, (0.0, 0.99, 0.999))
def op_agg_l(c, B): return _aggmo(c.l, c.g * c.g * c.g, (0.0, 0.999, 0.9999))


#: name -> (function, moving averages it reads)
OPERANDS = {
    "g": (op_g, ()), "g2": (op_g2, ()), "g3": (op_g3, ()),
    "v_hat": (op_v_hat, ("v",)), "s_hat": (op_s_hat, ("s",)), "l_hat": (op_l_hat, ("l",)),
    "one": (op_one, ()), "two": (op_two, ()),
    "wd6": (op_wd6, ()), "wd5": (op_wd5, ()), "wd4": (op_wd4, ()), "wd3": (op_wd3, ()),
    "sign_g": (op_sign_g, ()), "sign_v": (op_sign_v, ("v",)),
    "qh_v": (op_qh_v, ("v",)), "qh_s": (op_qh_s, ("s",)), "qh_l": (op_qh_l, ("l",)),
    "agg_v": (op_agg_v, ("v",)), "agg_s": (op_agg_s, ("s",)), "agg_l": (op_agg_l, ("l",)),
}

#: moving average name -> (decay rate, power of the gradient it averages)
MOMENTS = {"v": (0.9, 1), "s": (0.99, 2), "l": (0.999, 3)}

# ---------------------------------------------------------------------------
# Unary operations (§3)


def u_id(x, B): return x
def u_neg(x, B): return -x
def u_log_abs(x, B): return B.log(B.abs(x) + EPS)
def u_sqrt_abs(x, B): return B.sqrt(B.abs(x))
def u_exp(x, B): return B.exp(x)
def u_abs(x, B): return B.abs(x)
def u_sigmoid(x, B): return B.sigmoid(x)
def u_soft_inv(x, B): return 1.0 / (1.0 + B.abs(x))
def u_softplus(x, B): return B.softplus(x)
def u_erf(x, B): return B.erf(x)
def u_erfc(x, B): return B.erfc(x)
def u_asinh(x, B): return B.arcsinh(x)
def u_tanh(x, B): return B.tanh(x)
def u_atan(x, B): return B.arctan(x)
def u_recip(x, B): return 1.0 / (x + EPS)
def u_bessel_i1e(x, B): return B.bessel_i1e(x)
def u_relu(x, B): return B.maximum(x, 0.0)
def u_min0(x, B): return B.minimum(x, 0.0)
def u_drop50(x, B): return B.dropout(x, 0.5)
def u_drop30(x, B): return B.dropout(x, 0.3)
def u_drop10(x, B): return B.dropout(x, 0.1)
def u_clip_norm(x, B): return x * B.minimum(1.0, 1.0 / (B.norm(x) + 1e-12))
def u_softsign(x, B): return x / (1.0 + B.abs(x))
def u_square(x, B): return x * x
def u_dtanh(x, B): return 1.0 - B.tanh(x) ** 2
def u_dsigmoid(x, B): return B.sigmoid(x) * (1.0 - B.sigmoid(x))


UNARY = {
    "id": u_id, "neg": u_neg, "log_abs": u_log_abs, "sqrt_abs": u_sqrt_abs, "exp": u_exp,
    "abs": u_abs, "sigmoid": u_sigmoid, "soft_inv": u_soft_inv, "softplus": u_softplus,
    "erf": u_erf, "erfc": u_erfc, "asinh": u_asinh, "tanh": u_tanh, "atan": u_atan,
    "recip": u_recip, "bessel_i1e": u_bessel_i1e, "relu": u_relu, "min0": u_min0,
    "drop50": u_drop50, "drop30": u_drop30, "drop10": u_drop10,
    "clip_norm": u_clip_norm, "softsign": u_softsign,
}

# ---------------------------------------------------------------------------
# State-saving unary operations (§3)


def s_ema(x, n, t, B):
    """Bias-corrected exponential moving average, 0.95 decay."""
    n = 0.95 * n + 0.05 * x
    return n / (1.0 - B.power(0.95, t + 1.0)), n


def s_delta(x, n, t, B):
    """Difference with the previous step's input (x_{-1} = 0)."""
    return x - n, x


def s_running_max(x, n, t, B):
    """Running maximum (AMSGrad-style); the state starts at 0."""
    n = B.maximum(n, x)
    return n, n


STATEFUL = {"ema": s_ema, "delta": s_delta, "running_max": s_running_max}

# ---------------------------------------------------------------------------
# Binary operations (§4)


def b_add(x, y, B): return x + y
def b_sub(x, y, B): return x - y
def b_mul(x, y, B): return x * y
def b_max(x, y, B): return B.maximum(x, y)
def b_min(x, y, B): return B.minimum(x, y)
def b_div(x, y, B): return x / (y + EPS)
def b_div_sqrt1p(x, y, B): return x / B.sqrt(1.0 + y * y)


def b_clip(x, y, B):
    bound = B.abs(y)
    return B.minimum(B.maximum(x, -bound), bound)


def b_interp(x, y, B): return 0.95 * x + 0.05 * y
def b_pow_abs(x, y, B): return B.power(B.abs(x), y)


BINARY = {
    "add": b_add, "sub": b_sub, "mul": b_mul, "max": b_max, "min": b_min, "div": b_div,
    "div_sqrt1p": b_div_sqrt1p, "clip": b_clip, "interp": b_interp, "pow_abs": b_pow_abs,
}
COMMUTATIVE = frozenset({"add", "mul", "max", "min"})

# ---------------------------------------------------------------------------
# Schedules (§5). tau = t/T, rho = ((2t) mod T)/T.


def _tau(t, T): return t / T


def _rho(t, T, B):
    two_t = 2.0 * t
    return (two_t - T * B.floor(two_t / T)) / T


BETA0 = 0.95


def _demon(t, T):
    beta_d = BETA0 * (1.0 - (t + 1.0) / T)
    return beta_d / ((1.0 - BETA0) + beta_d)


def a1(t, T, B): return 1.0 - _tau(t, T)
def a2(t, T, B): return _tau(t, T)
def a3(t, T, B): return 0.5 * (1.0 + B.cos(B.pi * _tau(t, T)))
def a4(t, T, B): return 0.5 * (1.0 - B.cos(B.pi * _tau(t, T)))
def a5(t, T, B): return 0.5 * (1.0 + B.cos(2.0 * B.pi * _tau(t, T)))
def a6(t, T, B): return 0.5 * (1.0 - B.cos(2.0 * B.pi * _tau(t, T)))
def a7(t, T, B): return 0.5 * (1.0 + B.cos(B.pi * _rho(t, T, B)))
def a8(t, T, B): return 0.5 * (1.0 - B.cos(B.pi * _rho(t, T, B)))
def a9(t, T, B): return 1.0 - _rho(t, T, B)
def a10(t, T, B): return _rho(t, T, B)
def a11(t, T, B): return B.power(0.01, _tau(t, T))
def a12(t, T, B): return 1.0 - B.power(0.01, _tau(t, T))
def a13(t, T, B): return _demon(t, T)
def a14(t, T, B): return BETA0 - _demon(t, T)


#: name -> (function, alias)
SCHEDULES = {
    "a1": (a1, "linear_decay"), "a2": (a2, "linear_increase"),
    "a3": (a3, "cosine_decay"), "a4": (a4, "cosine_increase"),
    "a5": (a5, "cyclic_cosine_decay"), "a6": (a6, "cyclic_cosine_increase"),
    "a7": (a7, "cosine_decay_restart"), "a8": (a8, "cosine_increase_restart"),
    "a9": (a9, "linear_decay_restart"), "a10": (a10, "linear_increase_restart"),
    "a11": (a11, "exp_decay"), "a12": (a12, "exp_increase"),
    "a13": (a13, "demon_decay"), "a14": (a14, "demon_increase"),
}

# ---------------------------------------------------------------------------
# Decay operations (§5)

DECAY_UNARY = {
    "sigmoid": u_sigmoid, "soft_inv": u_soft_inv, "erf": u_erf, "erfc": u_erfc,
    "tanh": u_tanh, "atan": u_atan, "bessel_i1e": u_bessel_i1e, "square": u_square,
    "sqrt_abs": u_sqrt_abs, "softsign": u_softsign, "dtanh": u_dtanh,
    "dsigmoid": u_dsigmoid, "id": u_id,
}
DECAY_BINARY = {
    "add": b_add, "sub": b_sub, "mul": b_mul, "max": b_max, "min": b_min, "div": b_div,
    "div_sqrt1p": b_div_sqrt1p,
}
