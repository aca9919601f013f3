"""Hostile input: only package errors may escape ``nos.parse`` and ``OptimizerGraph.from_json``.

Regression tests first (deep nesting, JSON field types, the one-node range message), then
two fuzzers seeded with a fixed ``random.Random``: thousands of mutated texts of the zoo's
genomes through ``nos.parse`` and thousands of mutated JSON documents of them through
``OptimizerGraph.from_json``. Whatever they are fed, the readers either raise a
:class:`~deap_nos.errors.NOSError` subclass or return a genome that round-trips through
text and JSON.
"""
import json
import re
import random
import time

import pytest

import deap_nos as nos
from deap_nos import syntax, zoo
from deap_nos.spaces.nos.genes import MAX_DEPTH, MAX_TERMS
from deap_nos.spaces.nos.genome import DecayGraph, DNode, Node

SPACE = nos.SearchSpace.default()
SEEDS = [syntax.render(zoo.genome(name)) for name in zoo.names("genome")]
DOCS = [zoo.genome(name).to_dict() for name in zoo.names("genome")]
ONE_NODE = {"nodes": [{"op": "exp", "inputs": ["g"], "decays": [None]}],
            "momentum": "none", "flip": False}


def chain(depth, decay=None):
    """A genome of ``depth`` neg nodes in a row (a decay on every edge when given)."""
    nodes = [Node("neg", ["g"], [decay])]
    nodes += [Node("neg", [i], [decay]) for i in range(depth - 1)]
    return nos.OptimizerGraph(nodes)


def with_field(doc, path, value):
    """A copy of ``doc`` with the field at ``path`` (keys and indices) set to ``value``."""
    doc = json.loads(json.dumps(doc))
    target = doc
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return doc


# ---------------------------------------------------------------------- 1. deep nesting
@pytest.mark.parametrize("text", [
    "neg(" * 5000 + "g" + ")" * 5000,
    "decay(" * 5000 + "g" + ", a1)" * 5000,
    "add(g, " * 3000 + "g" + ")" * 3000,
    "neg(" * 5000,
], ids=["neg", "decay", "add", "unclosed"])
def test_deep_nesting_is_a_parse_error_not_a_recursion_error(text):
    with pytest.raises(nos.ParseError, match=f"nested more than {syntax.MAX_NESTING} deep"):
        nos.parse(text)


def test_deep_decay_function_is_a_parse_error():
    with pytest.raises(nos.ParseError, match="nested"):
        nos.parse_decay("erfc(" * 5000 + "a1" + ")" * 5000)
    with pytest.raises(nos.ParseError, match="nested"):
        nos.parse("decay(g, " + "erfc(" * 5000 + "a1" + ")" * 5001)


def test_graphs_deeper_than_max_depth_are_refused_by_every_reader():
    too_deep = chain(MAX_DEPTH + 1)
    with pytest.raises(nos.GenomeError, match=f"more than {MAX_DEPTH} nodes deep"):
        nos.validate(too_deep)
    with pytest.raises(nos.GenomeError, match="nodes deep"):
        str(chain(5000))                       # rendering refuses, it does not recurse
    with pytest.raises(nos.GenomeError, match="nodes deep"):
        nos.OptimizerGraph.from_json(chain(5000).to_json())
    with pytest.raises(nos.GenomeError, match="nodes deep"):
        nos.parse("neg(" * (MAX_DEPTH + 1) + "g" + ")" * (MAX_DEPTH + 1))


def test_the_deepest_valid_genome_round_trips_through_text_and_json():
    deepest = nos.validate(chain(MAX_DEPTH, decay=nos.parse_decay("erfc(erfc(a4))")))
    assert nos.parse(str(deepest)) == deepest
    assert nos.OptimizerGraph.from_json(deepest.to_json()) == deepest


def test_shared_nodes_cannot_make_the_expression_explode():
    nodes = [Node("neg", ["g"])] + [Node("add", [i, i]) for i in range(60)]
    doc = nos.OptimizerGraph(nodes).to_json()                # 2**60 terms written out
    with pytest.raises(nos.GenomeError, match=f"more than {MAX_TERMS} operations"):
        nos.OptimizerGraph.from_json(doc)
    with pytest.raises(nos.GenomeError, match="operations"):
        str(nos.OptimizerGraph(nodes))


def test_deeply_nested_json_is_a_genome_error():
    with pytest.raises(nos.GenomeError, match="not valid JSON"):
        nos.OptimizerGraph.from_json("[" * 100_000 + "]" * 100_000)


def test_self_reading_decay_does_not_recurse():
    decay = DecayGraph(DNode("id", [0]), DNode("erfc", [0]))
    with pytest.raises(nos.GenomeError, match="hidden node reads schedules only"):
        nos.validate(nos.OptimizerGraph([Node("exp", ["g"], [decay])]))
    with pytest.raises(nos.GenomeError):
        str(decay)


# ---------------------------------------------------------------------- 2. JSON field types
@pytest.mark.parametrize("flip", ["yes", 1, 0, "true", None, [], {}, 1.0])
def test_json_flip_must_be_a_boolean(flip):
    with pytest.raises(nos.GenomeError, match="'flip' must be true or false"):
        nos.OptimizerGraph.from_dict(with_field(ONE_NODE, ["flip"], flip))


@pytest.mark.parametrize("path, value, words", [
    (["momentum"], 1, "'momentum' must be a momentum form"),
    (["momentum"], ["none"], "'momentum' must be a momentum form"),
    (["nodes"], {"op": "exp"}, "'nodes' must be a list"),
    (["nodes", 0], ["exp", ["g"]], "malformed node nodes\\[0\\]: expected a JSON object"),
    (["nodes", 0, "op"], 3, "nodes\\[0\\]: field 'op' must be a name"),
    (["nodes", 0, "op"], None, "nodes\\[0\\]: field 'op' must be a name"),
    (["nodes", 0, "inputs"], "g", "nodes\\[0\\]: field 'inputs' must be a list"),
    (["nodes", 0, "decays"], "a1", "nodes\\[0\\]: field 'decays' must be a list"),
    (["nodes", 0, "inputs", 0], 0.0, "input 0 is 0.0, neither an operand name nor a node"),
    (["nodes", 0, "inputs", 0], True, "input 0 is True, neither"),
    (["nodes", 0, "inputs", 0], {"g": 1}, "input 0 is an object"),
    (["nodes", 0, "decays", 0], "a1", "nodes\\[0\\].decays\\[0\\]: expected a JSON object"),
    (["nodes", 0, "decays", 0], {"output": "a1"},
     "nodes\\[0\\].decays\\[0\\].output: expected a JSON object"),
    (["nodes", 0, "decays", 0], {"output": {"op": "id", "inputs": "a1"}},
     "decays\\[0\\].output: field 'inputs' must be a list"),
    (["nodes", 0, "decays", 0], {"output": {"op": ["id"], "inputs": ["a1"]}},
     "decays\\[0\\].output: field 'op' must be a name"),
    (["nodes", 0, "decays", 0], {"output": {"op": "id", "inputs": [1.5]}},
     "decay input 1.5 is neither a schedule nor 0"),
    (["nodes", 0, "decays", 0], {"output": {"op": "id", "inputs": ["a1"]}, "extra": 1},
     "unknown field 'extra'"),
    (["nodes", 0, "extra"], 1, "nodes\\[0\\]: unknown field 'extra'"),
    (["flipped"], True, "unknown field 'flipped'"),
])
def test_json_fields_of_the_wrong_type_name_the_field(path, value, words):
    with pytest.raises(nos.GenomeError, match=words):
        nos.OptimizerGraph.from_dict(with_field(ONE_NODE, path, value))


def test_json_huge_numbers_are_genome_errors():
    for text in ['{"nodes": [{"op": "exp", "inputs": [%s]}]}' % ("9" * 5000),
                 '{"nodes": [{"op": "exp", "inputs": [1e999]}]}',
                 '{"nodes": [{"op": "exp", "inputs": [NaN]}]}']:
        with pytest.raises(nos.GenomeError):
            nos.OptimizerGraph.from_json(text)
    with pytest.raises(nos.GenomeError, match="an integer of"):
        nos.OptimizerGraph.from_dict(with_field(ONE_NODE, ["nodes", 0, "inputs", 0], 10**5000))


# ---------------------------------------------------------------------- 3. range message
def test_one_node_genome_names_no_empty_range():
    doc = with_field(ONE_NODE, ["nodes", 0, "inputs", 0], 3)
    with pytest.raises(nos.GenomeError, match="no hidden nodes") as caught:
        nos.OptimizerGraph.from_dict(doc)
    assert "0..-1" not in str(caught.value)


@pytest.mark.parametrize("n_nodes, target, ref, words", [
    (2, 1, 5, "the only hidden node is 0"),
    (4, 3, 7, "0..2"),
    (4, 3, -1, "0..2"),
    (4, 0, 3, "0..2"),                   # a hidden node reading the output
    (4, 1, 1, "is the node itself"),
])
def test_bad_references_name_the_allowed_nodes(n_nodes, target, ref, words):
    nodes = [Node("exp", ["g"]) for _ in range(n_nodes)]
    nodes[target] = Node("exp", [ref])
    with pytest.raises(nos.GenomeError, match=words):
        nos.validate(nos.OptimizerGraph(nodes))


# ---------------------------------------------------------------------- 4. fuzzing
N_TEXTS, N_DOCS, N_OBJECTS = 5000, 2500, 500
NAMES = sorted(set(SPACE.ops) | set(SPACE.operands) | set(SPACE.schedules)
               | set(SPACE.aliases) | set(SPACE.decay_ops)) + ["decay", "flip", "none",
                                                              "momentum", "nesterov", "_", "x"]
UNICODE = ["é", "λ", "∑", "𝔤", "ｇ", "١", "\u200b", "\ufeff", "\x00", "\ud800", "\u2028"]
NUMBERS = ["1e999999", "9" * 5000, "-1", "0x1F", "1.5", "nan", "inf", "1_000", "٣"]
HEADERS = ["nesterov: ", "flip: ", "momentum, flip: ", "none, none: ", ":", "::",
           "nesterov flip: ", "FLIP: ", ", : ", "flip, flip, nesterov:"]
WRAPPERS = [("neg(", ")"), ("id(", ")"), ("exp(", ")"), ("decay(", ", a1)"),
            ("add(g, ", ")"), ("erfc(", ")"), ("decay(", ", erfc(a4))"), ("(", ")")]
TOKENS = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|.", re.DOTALL)


def _split(text):
    head, sep, body = text.rpartition(":")
    return head + sep, body


def nest(rng, text):
    """Wrap the expression in one call repeated up to thousands of times (maybe unclosed)."""
    head, body = _split(text)
    depth = rng.choice([rng.randint(1, 120), rng.randint(120, 400), rng.randint(400, 5000)])
    opener, closer = rng.choice(WRAPPERS)
    return head + opener * depth + body + closer * (depth if rng.random() < 0.8 else depth // 2)


def splice(rng, text):
    """Replace a name with another genome's expression (bigger, often valid, genomes)."""
    tokens = TOKENS.findall(text)
    names = [i for i, tok in enumerate(tokens) if tok[0].isalpha() or tok[0] == "_"]
    if names:
        tokens[rng.choice(names)] = _split(rng.choice(SEEDS))[1].strip()
    return "".join(tokens)


def swap_tokens(rng, text):
    tokens = TOKENS.findall(text)
    if len(tokens) > 1:
        i, j = rng.randrange(len(tokens)), rng.randrange(len(tokens))
        tokens[i], tokens[j] = tokens[j], tokens[i]
    return "".join(tokens)


def rename(rng, text):
    tokens = TOKENS.findall(text)
    names = [i for i, tok in enumerate(tokens) if tok[0].isalpha() or tok[0] == "_"]
    if names:
        tokens[rng.choice(names)] = rng.choice(NAMES)
    return "".join(tokens)


def _at(rng, text):
    return rng.randint(0, len(text))


TEXT_MUTATIONS = [
    lambda rng, t: (lambda i: t[:i] + rng.choice("abcxyz_019(),: \t\n") + t[i:])(_at(rng, t)),
    lambda rng, t: (lambda i: t[:i] + t[i + 1:])(_at(rng, t)),
    lambda rng, t: (lambda i: t[:i] + rng.choice("(),:_ a1g") + t[i + 1:])(_at(rng, t)),
    lambda rng, t: (lambda i: t[:i] + rng.choice(UNICODE) + t[i:])(_at(rng, t)),
    lambda rng, t: (lambda i: t[:i] + rng.choice(NUMBERS) + t[i:])(_at(rng, t)),
    lambda rng, t: t[:_at(rng, t)],
    lambda rng, t: (lambda i, j: t[:j] + t[i:j] + t[j:])(*sorted((_at(rng, t), _at(rng, t)))),
    lambda rng, t: rng.choice(HEADERS) + _split(t)[1],
    swap_tokens, rename, rename, splice, splice, nest, nest,
]


def mutated_texts(rng, count):
    for _ in range(count):
        text = rng.choice(SEEDS)
        for _ in range(rng.choice([1, 1, 2, 3])):
            text = rng.choice(TEXT_MUTATIONS)(rng, text)
        yield text


def read_back(genome):
    """A genome that was read must round-trip through text and JSON."""
    assert nos.parse(str(genome)) == genome, str(genome)
    again = nos.OptimizerGraph.from_json(genome.to_json())
    assert again == genome and again.nodes == genome.nodes


def run_fuzz(reader, inputs):
    """(number read, number refused, failures): only NOSError may escape ``reader``."""
    read = refused = 0
    failures = []
    for value in inputs:
        try:
            genome = reader(value)
        except nos.NOSError:
            refused += 1
            continue
        except Exception as exc:  # noqa: BLE001 - the point of the test
            failures.append(f"{type(exc).__name__}: {exc!s:.200} on {value!r:.300}")
            continue
        try:
            read_back(genome)
            read += 1
        except Exception as exc:  # noqa: BLE001
            failures.append(f"round trip: {type(exc).__name__}: {exc!s:.200} on {value!r:.300}")
    return read, refused, failures


def test_fuzz_parse_raises_only_package_errors():
    start = time.perf_counter()
    read, refused, failures = run_fuzz(nos.parse, mutated_texts(random.Random(2024), N_TEXTS))
    assert failures == [], "\n".join(failures[:10])
    assert read + refused == N_TEXTS
    assert read > N_TEXTS // 20 and refused > N_TEXTS // 2      # both paths exercised
    assert time.perf_counter() - start < 60


def test_fuzz_parse_decay_raises_only_package_errors():
    rng = random.Random(7)
    texts = [str(d) for _, _, d in (t for g in map(zoo.genome, zoo.names("genome"))
                                    for t in g.decays())]
    for _ in range(N_OBJECTS):
        text = rng.choice(texts)
        for _ in range(rng.choice([1, 2])):
            text = rng.choice(TEXT_MUTATIONS)(rng, text)
        try:
            decay = nos.parse_decay(text)
        except nos.NOSError:
            continue
        assert nos.parse_decay(str(decay)) == decay


# ---------------------------------------------------------------------- JSON documents
JUNK = [None, True, False, 0, 1, -1, 3, 2**70, 1.5, float("inf"), "", "yes", "g", "a1", "exp",
        "add", "nesterov", "\ud800", "9" * 300, [], {}, [None], ["g"], {"op": "exp"}, [[[]]],
        {"output": {"op": "id", "inputs": [0]}}]


def nested_junk(rng):
    value = rng.choice(JUNK)
    for _ in range(rng.randint(1, 400)):
        value = [value] if rng.random() < 0.5 else {rng.choice(["op", "inputs", "x"]): value}
    return value


def containers(doc):
    """Every (container, key) pair of a JSON document (dict keys and list indices)."""
    found, todo = [], [doc]
    while todo:
        value = todo.pop()
        items = value.items() if isinstance(value, dict) else enumerate(value) \
            if isinstance(value, list) else ()
        for key, child in items:
            found.append((value, key))
            todo.append(child)
    return found


def _set(rng, doc, value):
    place = containers(doc)
    if place:
        container, key = rng.choice(place)
        container[key] = value(rng, container[key]) if callable(value) else value


def _wrong(rng, old):
    """A plausible wrong value: another name, a nearby index, another kind of value."""
    if isinstance(old, str):
        return rng.choice(NAMES + ["", "G", old + "x", old.upper()])
    if isinstance(old, bool):
        return rng.choice([not old, 0, 1, "true", None])
    if isinstance(old, int):
        return rng.choice([old + 1, old - 1, -1, 7, 2**63, float(old), str(old), True])
    return rng.choice(JUNK)


def _same_arity_op(rng, doc):
    """Swap one node's operation for another of the same arity (keeps most genomes valid)."""
    nodes = doc.get("nodes")
    node = rng.choice(nodes) if isinstance(nodes, list) and nodes else None
    if isinstance(node, dict) and isinstance(node.get("op"), str) and node["op"] in SPACE.ops:
        node["op"] = rng.choice(SPACE.names("ops", arity=SPACE.op(node["op"]).arity))


def _drop_key(rng, doc):
    dicts = [c for c, _ in containers(doc) if isinstance(c, dict) and c] + [doc]
    target = rng.choice(dicts)
    target.pop(rng.choice(list(target)), None)


def _list_edit(rng, doc):
    lists = [c for c, _ in containers(doc) if isinstance(c, list) and c]
    if lists:
        target = rng.choice(lists)
        rng.choice([target.pop, target.reverse, lambda: target.append(rng.choice(JUNK)),
                    lambda: target.insert(0, target[-1])])()


DOC_MUTATIONS = [
    _drop_key, _drop_key, _list_edit, _list_edit, _same_arity_op, _same_arity_op,
    lambda rng, doc: _set(rng, doc, rng.choice(JUNK)),
    lambda rng, doc: _set(rng, doc, _wrong),
    lambda rng, doc: _set(rng, doc, _wrong),
    lambda rng, doc: _set(rng, doc, nested_junk(rng)),
    lambda rng, doc: doc.update(flip=rng.choice([True, False, "yes", 1, 0, None, "false"])),
    lambda rng, doc: doc.update(momentum=rng.choice(list(nos.genome.MOMENTUM_FORMS) + JUNK)),
    lambda rng, doc: rng.choice([c for c, _ in containers(doc) if isinstance(c, dict)] + [doc])
    .update({rng.choice(["extra", "op", "nodes", "decays", "hidden"]): rng.choice(JUNK)}),
]

JSON_TEXT_MUTATIONS = [
    lambda rng, t: t[:_at(rng, t)],
    lambda rng, t: (lambda i: t[:i] + t[i + 1:])(_at(rng, t)),
    lambda rng, t: (lambda i: t[:i] + rng.choice('{}[]",:0 -e.\\') + t[i:])(_at(rng, t)),
    lambda rng, t: (lambda i, n: t[:i] + "[" * n + "]" * n + t[i:])(_at(rng, t),
                                                                   rng.randint(1, 200_000)),
    lambda rng, t: t.replace("[", '[' + rng.choice(NUMBERS[:2] + ["NaN", "Infinity"]) + ", ", 1),
    lambda rng, t: rng.choice(["\ufeff", " ", "null", "[]", '"', "{}"]) + t,
]


def mutated_documents(rng, count):
    for _ in range(count):
        doc = json.loads(json.dumps(rng.choice(DOCS)))
        for _ in range(rng.choice([1, 1, 2, 3])):
            rng.choice(DOC_MUTATIONS)(rng, doc)
        text = json.dumps(doc)
        if rng.random() < 0.3:
            text = rng.choice(JSON_TEXT_MUTATIONS)(rng, text)
        yield text


def test_fuzz_from_json_raises_only_package_errors():
    start = time.perf_counter()
    docs = mutated_documents(random.Random(2025), N_DOCS)
    read, refused, failures = run_fuzz(nos.OptimizerGraph.from_json, docs)
    assert failures == [], "\n".join(failures[:10])
    assert read + refused == N_DOCS
    assert read > N_DOCS // 20 and refused > N_DOCS // 2
    assert time.perf_counter() - start < 60


class _Odd:
    """A value no JSON reader produces, with an equality that refuses to answer."""

    def __eq__(self, other):
        raise RuntimeError("compared")

    __hash__ = object.__hash__


def test_fuzz_from_dict_with_python_objects_raises_only_package_errors():
    odd = [_Odd(), {1, 2}, b"g", ("g",), 10**5000, float("nan"), object(), Node("exp", ["g"])]
    rng = random.Random(11)

    def documents():
        for _ in range(N_OBJECTS):
            doc = json.loads(json.dumps(rng.choice(DOCS)))
            _set(rng, doc, rng.choice(odd))
            yield doc
    read, refused, failures = run_fuzz(nos.OptimizerGraph.from_dict, documents())
    assert failures == [], "\n".join(failures[:10])


def test_json_schedule_aliases_read_as_canonical_names():
    """Found by the fuzzer: an alias in JSON made a genome unequal to its own text."""
    genome = nos.parse("decay(g, erfc(a1))")
    doc = genome.to_json().replace('"a1"', '"linear_decay"')
    assert "linear_decay" in doc
    again = nos.OptimizerGraph.from_json(doc)
    assert again == genome and str(again) == "decay(g, erfc(a1))"
