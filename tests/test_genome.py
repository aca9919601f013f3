"""Genomes: text syntax, JSON, canonical equality, clear errors, DEAP individuals."""
import copy
import pickle

import pytest
from deap import base, creator

import deap_nos as nos
from deap_nos.spaces.nos.genome import Node

PAPER = {
    "Adam": "div(v_hat, sqrt_abs(s_hat))",
    "Opt1": "add(qh_v, softsign(clip(wd5, sub(wd5, qh_s))))",
    "Opt4": "div(decay(qh_v, erfc(erfc(a4))), decay(clip(two, decay(exp(v_hat), atan(a13))), dtanh(a8)))",
    "Opt6": "div(decay(qh_v, erfc(erfc(a4))), decay(abs(decay(exp(wd4), dtanh(a4))), dtanh(a8)))",
    "Opt7": "tanh(decay(asinh(qh_v), max(a6, a10)))",
    "Opt9": "nesterov: mul(decay(g, erfc(a11)), exp(atan(qh_s)))",
    "Opt10": "nesterov: bessel_i1e(bessel_i1e(decay(g, mul(a13, a2))))",
    "PowerSign": "mul(exp(decay(mul(sign_g, sign_v), a1)), g)",
}


@pytest.mark.parametrize("name", sorted(PAPER))
def test_text_round_trip(name):
    genome = nos.parse(PAPER[name])
    assert str(genome) == PAPER[name]
    assert nos.parse(str(genome)) == genome


def test_aliases_are_canonicalised():
    genome = nos.parse("decay(g, cosine_increase)")
    assert str(genome) == "decay(g, a4)"


def test_shared_subexpressions_become_one_node():
    genome = nos.parse("add(exp(g), mul(exp(g), v_hat))")
    active = [genome.nodes[i].op for i in genome.active_nodes()]
    assert sorted(active) == ["add", "exp", "mul"]


def test_header_words():
    genome = nos.parse("nesterov, flip: neg(g)")
    assert genome.momentum == "nesterov" and genome.flip
    assert str(genome) == "nesterov, flip: neg(g)"


def test_equality_ignores_inactive_nodes_and_wiring_order():
    a = nos.OptimizerGraph([Node("exp", ["g"]), Node("tanh", ["v_hat"]), Node("add", [0, "g2"])])
    b = nos.OptimizerGraph([Node("relu", ["s_hat"]), Node("exp", ["g"]), Node("add", ["g2", 1])])
    assert a == b and hash(a) == hash(b)
    assert a != nos.OptimizerGraph(a.nodes, momentum="nesterov")
    assert a != nos.OptimizerGraph(a.nodes, flip=True)


def test_semantic_fingerprint_sees_through_wiring():
    assert nos.parse("add(g, g)").fingerprint() == nos.parse("mul(two, g)").fingerprint()
    assert nos.parse("add(g, g)").fingerprint() != nos.parse("g").fingerprint()
    assert nos.parse("add(g, g)") != nos.parse("mul(two, g)")   # structurally different


@pytest.mark.parametrize("name", sorted(PAPER))
def test_json_round_trip_keeps_inactive_nodes(name):
    genome = nos.parse(PAPER[name])
    again = nos.OptimizerGraph.from_json(genome.to_json())
    assert again == genome and again.nodes == genome.nodes


def test_pickle_and_deepcopy():
    genome = nos.parse(PAPER["Opt4"])
    assert pickle.loads(pickle.dumps(genome)) == genome
    clone = copy.deepcopy(genome)
    assert clone == genome and clone is not genome


def test_works_as_a_deap_individual():
    if not hasattr(creator, "FitnessMaxG"):
        creator.create("FitnessMaxG", base.Fitness, weights=(1.0,))
        creator.create("IndividualG", nos.OptimizerGraph, fitness=creator.FitnessMaxG)
    ind = nos.parse(PAPER["Adam"], cls=creator.IndividualG)
    ind.fitness.values = (0.5,)
    clone = copy.deepcopy(ind)
    assert isinstance(clone, creator.IndividualG) and clone.fitness.values == (0.5,)
    assert pickle.loads(pickle.dumps(ind)) == ind


@pytest.mark.parametrize("text, error, words", [
    ("div(v_hat", nos.ParseError, "end of expression"),
    ("div(v_hat,, g)", nos.ParseError, "expected a name"),
    ("g)", nos.ParseError, "after a complete expression"),
    ("g + v_hat", nos.ParseError, "unexpected character"),
    ("", nos.ParseError, "empty"),
    ("frobnicate(g)", nos.UnknownNameError, "unknown operation"),
    ("exp(gg)", nos.UnknownNameError, "Did you mean g"),
    ("exp", nos.ParseError, "is an operation"),
    ("g(v_hat)", nos.ParseError, "is an operand"),
    ("add(g)", nos.ArityError, "takes 2"),
    ("exp(g, g)", nos.ArityError, "takes 1"),
    ("decay(g)", nos.ParseError, "decay takes"),
    ("decay(g, exp(a1))", nos.UnknownNameError, "decay operation"),
    ("decay(g, erfc(erfc(erfc(a1))))", nos.ParseError, "nested too deeply"),
    ("decay(g, v_hat)", nos.ParseError, "operand 'v_hat' inside a decay"),
    ("a1", nos.ParseError, "only appear inside decay"),
    ("sideways: g", nos.ParseError, "header"),
])
def test_malformed_text_gets_a_clear_error(text, error, words):
    with pytest.raises(error, match=words):
        nos.parse(text)


def test_errors_are_package_errors_not_internal_ones():
    for text in ["div(v_hat", "foo(g)", "add(g)"]:
        with pytest.raises(nos.NOSError):
            nos.parse(text)


def test_cyclic_wiring_is_rejected():
    nodes = [Node("exp", [1]), Node("tanh", [0]), Node("add", [0, "g"])]
    with pytest.raises(nos.CyclicGraphError, match="cycl"):
        nos.validate(nos.OptimizerGraph(nodes))
    with pytest.raises(nos.CyclicGraphError):
        nos.OptimizerGraph(nodes).active_nodes()


@pytest.mark.parametrize("doc, words", [
    ("{not json", "not valid JSON"),
    ("[1, 2]", "JSON object"),
    ('{"nodes": [{"op": "exp"}]}', "malformed node"),
    ('{"nodes": [{"op": "exp", "inputs": ["g"]}], "momentum": "sideways"}', "momentum form"),
    ('{"nodes": [{"op": "exp", "inputs": [3]}]}', "must be another hidden node"),
    ('{"nodes": [{"op": "exp", "inputs": [["g"]]}]}', "neither an operand"),
    ('{"nodes": [{"op": "add", "inputs": ["g"]}]}', "takes 2"),
    ('{"nodes": [{"op": "exp", "inputs": ["g"], "decays": [{"out": 1}]}]}', "malformed decay"),
])
def test_bad_json_gets_a_clear_error(doc, words):
    with pytest.raises(nos.NOSError, match=words):
        nos.OptimizerGraph.from_json(doc)


def test_active_operands_and_decays():
    genome = nos.parse(PAPER["Opt6"])
    assert genome.active_operands() == ["qh_v", "wd4"]
    assert sorted(str(d) for _, _, d in genome.decays()) == ["dtanh(a4)", "dtanh(a8)", "erfc(erfc(a4))"]
