"""The term-mix genome of seed 002 ("Evolving Deep Learning Optimizers").

An optimizer is a weighted sum of primitive update terms, a few hyperparameters and
schedule flags — a fixed-shape vector, not a graph::

    u      = Σ_i  on_i · w_i · term_i                      (w_i ∈ [0.01, 2])
    delta  = − lr · s(t) · u                               (w ← w + delta)

with the terms (``m``, ``v`` exponential moving averages of ``g`` and ``g²``; the hats
are their bias-corrected values when ``bias_correction`` is on, else ``m``, ``v``)::

    g        the gradient                                  (SGD)
    m        m̂                                             (momentum, EMA form)
    rms      g / (√v̂ + ε)                                  (RMSprop normalisation)
    adam     m̂ / (√v̂ + ε)                                  (Adam's adaptive term)
    sign_g   sign(g)                                       (signSGD)
    sign_m   sign(m)                                       (signum / Lion-like)

hyperparameters ``beta1`` ∈ [0, 0.999], ``beta2`` ∈ [0.5, 0.9999], ``eps`` ∈ [1e-10, 1e-3]
(mutated in log10), and flags ``bias_correction``, ``warmup`` (linear warm-up of the
learning rate), ``cosine`` (cosine decay to 0 after the warm-up): ``s(t)`` is their
product (1 when both are off). The seed names the terms, the flags and the evolved
optimizer's β1 = 0.86, β2 = 0.94, bias correction off, warm-up and cosine on; the
weight range and the term list's exact forms are this library's reading of it.

Text syntax (``str`` and :func:`parse`)::

    1*adam + 0.5*sign_g | beta1=0.86 beta2=0.94 eps=1e-08 | bias_correction=off warmup=on cosine=on

Only active terms are written; a bare name has weight 1; missing hyperparameters and
flags take Adam's values (β1 0.9, β2 0.999, ε 1e-8, bias correction on, no schedule).

Identity: :meth:`TermMixGenome.key` is a canonical text — active terms only, reals
rounded to 6 significant digits, and hyperparameters no active term reads left out —
so ``==`` and ``hash`` ignore what cannot change the update. :meth:`fingerprint` is the
semantic hash of probe updates (:mod:`.program`), what the engine caches by.
"""
import json
import math
import re

from ...errors import GenomeError, ParseError
from ..identity import KeyIdentity

__all__ = ["TERMS", "TermMixGenome", "parse", "from_dict", "RANGES", "FLAGS"]

#: The primitive update terms, in their canonical order.
TERMS = ("g", "m", "rms", "adam", "sign_g", "sign_m")
#: Which moving averages each term reads.
READS = {"g": (), "m": ("m",), "rms": ("v",), "adam": ("m", "v"), "sign_g": (),
         "sign_m": ("m",)}
#: Closed ranges of the real genes (``eps`` is mutated in log10).
RANGES = {"weight": (0.01, 2.0), "beta1": (0.0, 0.999), "beta2": (0.5, 0.9999),
          "eps": (1e-10, 1e-3)}
FLAGS = ("bias_correction", "warmup", "cosine")
DEFAULTS = {"beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "bias_correction": True,
            "warmup": False, "cosine": False}
FORMAT = 1

_TRUE = {"on": True, "true": True, "1": True, "off": False, "false": False, "0": False}


def _real(name, value, low, high):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise GenomeError(f"{name} must be a number in [{low:g}, {high:g}], got {value!r}")
    value = float(value)
    if not (math.isfinite(value) and low <= value <= high):
        raise GenomeError(f"{name}={value!r} is outside [{low:g}, {high:g}]; "
                          f"use a value in that range")
    return value


def _flag(name, value):
    if not isinstance(value, bool):
        raise GenomeError(f"{name} must be true or false, got {value!r}")
    return value


def _fmt(x):
    return repr(float(x))


def _round(x):
    return f"{float(x):.6g}"


class TermMixGenome(KeyIdentity):
    """One term-mix optimizer (see the module docstring); plain, picklable data.

    :param terms: ``{term: weight}`` of the active terms (or an iterable of names,
        weight 1 each).
    :param weights: Weights of the inactive terms too, kept so that a term switched
        back on by mutation recovers its weight (default 1.0).
    """

    def __init__(self, terms=("adam",), beta1=0.9, beta2=0.999, eps=1e-8,
                 bias_correction=True, warmup=False, cosine=False, weights=None):
        if not isinstance(terms, dict):
            terms = {name: 1.0 for name in terms}
        weights = dict(weights or {})
        unknown = sorted((set(terms) | set(weights)) - set(TERMS))
        if unknown:
            raise GenomeError(f"unknown term(s) {', '.join(map(repr, unknown))}; "
                              f"known: {', '.join(TERMS)}")
        if not terms:
            raise GenomeError("a term-mix genome needs at least one active term "
                              f"(from {', '.join(TERMS)})")
        low, high = RANGES["weight"]
        weights.update(terms)
        self.weights = tuple(_real(f"weight of {n}", weights.get(n, 1.0), low, high)
                             for n in TERMS)
        self.active = tuple(n in terms for n in TERMS)
        self.beta1 = _real("beta1", beta1, *RANGES["beta1"])
        self.beta2 = _real("beta2", beta2, *RANGES["beta2"])
        self.eps = _real("eps", eps, *RANGES["eps"])
        self.bias_correction = _flag("bias_correction", bias_correction)
        self.warmup = _flag("warmup", warmup)
        self.cosine = _flag("cosine", cosine)

    # -- views
    @property
    def space(self):
        """The :class:`~deap_nos.spaces.termmix.TermMixSpace` (registered as ``termmix``)."""
        from ... import spaces
        return spaces.get("termmix")

    @property
    def terms(self):
        """``{name: weight}`` of the active terms, in canonical order."""
        return {n: w for n, w, on in zip(TERMS, self.weights, self.active) if on}

    def reads(self):
        """The moving averages (``"m"``, ``"v"``) the active terms read."""
        return sorted({a for n in self.terms for a in READS[n]})

    def flags(self):
        return {name: getattr(self, name) for name in FLAGS}

    # -- text
    def _text(self, fmt, canonical):
        terms = " + ".join(f"{fmt(w)}*{n}" for n, w in self.terms.items())
        reads = self.reads()
        hyper = [("beta1", self.beta1, "m" in reads), ("beta2", self.beta2, "v" in reads),
                 ("eps", self.eps, any(n in ("rms", "adam") for n in self.terms))]
        hyper = " ".join(f"{k}={fmt(v)}" for k, v, used in hyper if used or not canonical)
        flags = [(k, getattr(self, k)) for k in FLAGS
                 if not canonical or k != "bias_correction" or
                 any(n in ("m", "rms", "adam") for n in self.terms)]
        flags = " ".join(f"{k}={'on' if v else 'off'}" for k, v in flags)
        return f"{terms} | {hyper} | {flags}"

    def __str__(self):
        return self._text(_fmt, canonical=False)

    def __repr__(self):
        return f"TermMixGenome({str(self)!r})"

    def key(self):
        """Canonical identity: only what can change the update, reals to 6 digits."""
        return "termmix:" + self._text(_round, canonical=True)

    def fingerprint(self):
        """Stable semantic hash of the probe updates (same in every process)."""
        from .program import semantic_fingerprint
        return semantic_fingerprint(self)

    # -- documents
    def to_dict(self):
        """Plain data (every gene, inactive weights included) with ``"space": "termmix"``."""
        return {"space": "termmix", "format": FORMAT,
                "terms": {n: {"on": on, "weight": w}
                          for n, w, on in zip(TERMS, self.weights, self.active)},
                "beta1": self.beta1, "beta2": self.beta2, "eps": self.eps,
                **self.flags()}

    def to_json(self, **kwargs):
        return json.dumps(self.to_dict(), **kwargs)

    def fields(self):
        """The constructor's keyword arguments for this genome."""
        return dict(terms=self.terms, weights=dict(zip(TERMS, self.weights)),
                    beta1=self.beta1, beta2=self.beta2, eps=self.eps, **self.flags())


# ----------------------------------------------------------------------- reading
_KEYS = {"space", "format", "terms", "beta1", "beta2", "eps", *FLAGS}


def from_dict(data, cls=None):
    """A genome from :meth:`TermMixGenome.to_dict`'s document (strict)."""
    cls = cls or TermMixGenome
    if isinstance(data, str):
        try:
            data = json.loads(data)
        except ValueError as exc:
            raise GenomeError(f"not a JSON document: {exc}") from None
    if not isinstance(data, dict):
        raise GenomeError(f"a termmix genome document is a JSON object, got {data!r}")
    if data.get("space") != "termmix":
        raise GenomeError(f"document of space {data.get('space')!r}, not 'termmix'; "
                          "read it with deap_nos.spaces.genome_from_dict")
    missing, extra = sorted(_KEYS - set(data)), sorted(set(data) - _KEYS)
    if missing or extra:
        raise GenomeError(f"termmix genome document: missing keys {missing}, "
                          f"unknown keys {extra}")
    if data["format"] != FORMAT:
        raise GenomeError(f"termmix genome format {data['format']!r}; this library "
                          f"reads format {FORMAT}")
    terms = data["terms"]
    if not isinstance(terms, dict) or set(terms) != set(TERMS):
        raise GenomeError(f"'terms' must map each of {', '.join(TERMS)} to "
                          "{'on': bool, 'weight': number}")
    for name, gene in terms.items():
        if not isinstance(gene, dict) or set(gene) != {"on", "weight"} \
                or not isinstance(gene["on"], bool):
            raise GenomeError(f"term {name!r}: expected {{'on': bool, 'weight': number}}, "
                              f"got {gene!r}")
    return cls(terms={n: g["weight"] for n, g in terms.items() if g["on"]},
               weights={n: g["weight"] for n, g in terms.items()},
               beta1=data["beta1"], beta2=data["beta2"], eps=data["eps"],
               **{k: data[k] for k in FLAGS})


_TERM = re.compile(r"^\s*(?:([0-9.eE+-]+)\s*\*\s*)?([a-z_]+)\s*$")


def _parse_terms(text):
    terms = {}
    for part in text.split("+") if text.strip() else []:
        match = _TERM.match(part)
        if match is None:
            raise ParseError(f"cannot read term {part.strip()!r}: write WEIGHT*NAME, "
                             f"NAME one of {', '.join(TERMS)}")
        weight, name = match.groups()
        if name not in TERMS:
            raise ParseError(f"unknown term {name!r}; known: {', '.join(TERMS)}")
        if name in terms:
            raise ParseError(f"term {name!r} appears twice")
        try:
            terms[name] = float(weight) if weight is not None else 1.0
        except ValueError:
            raise ParseError(f"bad weight {weight!r} of term {name!r}") from None
    return terms


def _parse_settings(text, allowed):
    out = {}
    for item in text.split():
        name, sep, value = item.partition("=")
        if not sep or name not in allowed:
            raise ParseError(f"cannot read {item!r}: expected one of "
                             f"{', '.join(k + '=...' for k in allowed)}")
        out[name] = value
    return out


def parse(text, cls=None):
    """A genome from its text (see the module docstring); :class:`ParseError` if malformed."""
    cls = cls or TermMixGenome
    if not isinstance(text, str):
        raise ParseError(f"a termmix genome text is a string, got {type(text).__name__}")
    body = text.strip()
    if body.startswith("termmix:"):
        body = body[len("termmix:"):]
    parts = body.split("|")
    if len(parts) > 3:
        raise ParseError(f"{text!r}: at most three '|'-separated parts "
                         "(terms | hyperparameters | flags)")
    parts += [""] * (3 - len(parts))
    terms = _parse_terms(parts[0])
    kwargs = dict(DEFAULTS)
    for name, value in _parse_settings(parts[1], ("beta1", "beta2", "eps")).items():
        try:
            kwargs[name] = float(value)
        except ValueError:
            raise ParseError(f"{name}={value!r} is not a number") from None
    for name, value in _parse_settings(parts[2], FLAGS).items():
        if value.lower() not in _TRUE:
            raise ParseError(f"{name}={value!r}: write on or off")
        kwargs[name] = _TRUE[value.lower()]
    try:
        return cls(terms=terms, **kwargs)
    except GenomeError as exc:
        raise ParseError(f"{text!r}: {exc}") from None
