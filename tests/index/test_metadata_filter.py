"""The metadataFilter parser: the AIP-160 subset, its errors, and hostile input."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from omnivec.errors import InvalidArgument
from omnivec.index.base import And, Compare, Filter, Not, Or
from omnivec.index.metadata_filter import MAX_COMPARISONS, MAX_DEPTH, MAX_LENGTH, parse_metadata_filter


@pytest.mark.parametrize(
    ("text", "tree"),
    [
        ('author = "Robert Graves"', Compare("author", "=", "Robert Graves")),
        ("year>1930", Compare("year", ">", 1930.0)),
        ("year >= -1.5e2", Compare("year", ">=", -150.0)),
        ("score < .5", Compare("score", "<", 0.5)),
        ("x <= 3", Compare("x", "<=", 3.0)),
        ("x != 3", Compare("x", "!=", 3.0)),
        ('tags:"a"', Compare("tags", "=", "a")),
        ("genre = fiction", Compare("genre", "=", "fiction")),
        ("code = 2024abc", Compare("code", "=", "2024abc")),
        ("version = 1.2.3", Compare("version", "=", "1.2.3")),
        ("my-key = a-b", Compare("my-key", "=", "a-b")),
        ("chunk.custom_metadata.author = x", Compare("author", "=", "x")),
        ("custom_metadata.author = x", Compare("author", "=", "x")),
        ('a = "tab\\there \\"quoted\\" \\u00e9\\\\"', Compare("a", "=", 'tab\there "quoted" é\\')),
        ('a = "日本"', Compare("a", "=", "日本")),
        ("a = 1 AND b = 2", And((Compare("a", "=", 1.0), Compare("b", "=", 2.0)))),
        ("a = 1 OR b = 2", Or((Compare("a", "=", 1.0), Compare("b", "=", 2.0)))),
        # OR binds tighter than AND (AIP-160)
        (
            "a = 1 AND b = 2 OR c = 3",
            And((Compare("a", "=", 1.0), Or((Compare("b", "=", 2.0), Compare("c", "=", 3.0))))),
        ),
        (
            "(a = 1 AND b = 2) OR c = 3",
            Or((And((Compare("a", "=", 1.0), Compare("b", "=", 2.0))), Compare("c", "=", 3.0))),
        ),
        ("NOT a = 1", Not(Compare("a", "=", 1.0))),
        ("-a = 1", Not(Compare("a", "=", 1.0))),
        ("NOT (a = 1 OR a = 2)", Not(Or((Compare("a", "=", 1.0), Compare("a", "=", 2.0))))),
        ("  ((a = 1))  ", Compare("a", "=", 1.0)),
    ],
)
def test_parses(text: str, tree: Filter) -> None:
    assert parse_metadata_filter(text) == tree


@pytest.mark.parametrize("text", [None, "", "   \t"])
def test_blank_is_no_filter(text: str | None) -> None:
    assert parse_metadata_filter(text) is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('author = "Robert Graves" AND year > 1930)', "metadataFilter: unexpected ')' at position 41."),
        ("(a = 1", "missing ')' for the '(' at position 1"),
        ("a = 1 AND", "unexpected end of filter at position 10"),
        ("a = ", "expected a value after '=' at position 5"),
        ("a 1", "expected an operator (= != < <= > >= :) after 'a' at position 3"),
        ("a ~ 1", "unexpected '~' at position 3"),
        ('a > "x"', "operator > at position 3 compares numbers"),
        ("a <= b", "operator <= at position 3 compares numbers"),
        ('a = "open', "unterminated string starting at position 5"),
        ('a = "bad \\q"', "unknown escape \\q at position 10"),
        ('a = "\\u12"', "bad \\u escape at position 6"),
        ("a.b = 1", "unknown key 'a.b' at position 1"),
        ("chunk.custom_metadata. = 1", "unexpected '.' at position 22"),
        ('"a" = 1', "unexpected '\"a\"' at position 1"),
        ("a = 1 b = 2", "unexpected 'b' at position 7"),
        ("AND a = 1", "unexpected 'AND' at position 1"),
        ("a = 1e999", "number 1e999 at position 5 is out of range"),
        ("()", "unexpected ')' at position 2"),
        ('a = "\\ud800"', "unpaired surrogate escape at position 6"),
        ('a = "x\ud800"', "invalid character at position 7"),
    ],
)
def test_errors_name_the_position(text: str, message: str) -> None:
    with pytest.raises(InvalidArgument) as raised:
        parse_metadata_filter(text)
    assert message in raised.value.message
    assert raised.value.message.startswith("metadataFilter: ")
    assert raised.value.violations[0].field == "metadataFilter"


def test_hostile_input_is_bounded() -> None:
    with pytest.raises(InvalidArgument, match=f"limit is {MAX_LENGTH}"):
        parse_metadata_filter('a = "' + "x" * MAX_LENGTH + '"')
    with pytest.raises(InvalidArgument, match=f"nesting deeper than {MAX_DEPTH}"):
        parse_metadata_filter("(" * 1000 + "a = 1" + ")" * 1000)
    with pytest.raises(InvalidArgument, match=f"nesting deeper than {MAX_DEPTH}"):
        parse_metadata_filter("NOT " * 1000 + "a = 1")
    with pytest.raises(InvalidArgument, match=f"more than {MAX_COMPARISONS} comparisons"):
        parse_metadata_filter(" OR ".join(["a = 1"] * (MAX_COMPARISONS + 1)))
    assert parse_metadata_filter("(" * MAX_DEPTH + "a = 1" + ")" * MAX_DEPTH) == Compare("a", "=", 1.0)


# --- properties ----------------------------------------------------------------------------

_keys = st.from_regex(r"[a-z_][a-z0-9_]{0,10}", fullmatch=True).filter(
    lambda k: k.upper() not in {"AND", "OR", "NOT"}
)
_numbers = st.floats(allow_nan=False, allow_infinity=False, width=64)
_strings = st.text(st.characters(exclude_categories=["Cs"]), max_size=20)
_compares = st.one_of(
    st.builds(Compare, _keys, st.sampled_from(["=", "!="]), st.one_of(_strings, _numbers)),
    st.builds(Compare, _keys, st.sampled_from(["<", "<=", ">", ">="]), _numbers),
)
_trees = st.recursive(
    _compares,
    lambda inner: st.one_of(
        st.builds(lambda items: And(tuple(items)), st.lists(inner, min_size=2, max_size=3)),
        st.builds(lambda items: Or(tuple(items)), st.lists(inner, min_size=2, max_size=3)),
        st.builds(Not, inner),
    ),
    max_leaves=12,
)


def render(tree: Filter) -> str:
    """Fully parenthesised text of a tree; strings as JSON strings (the same escapes)."""
    match tree:
        case Compare(key=key, op=op, value=value):
            literal = json.dumps(value) if isinstance(value, str) else repr(float(value))
            return f"{key} {op} {literal}"
        case And(items=items):
            return " AND ".join(f"({render(i)})" for i in items)
        case Or(items=items):
            return " OR ".join(f"({render(i)})" for i in items)
        case Not(item=item):
            return f"NOT ({render(item)})"
    raise AssertionError(tree)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_trees)
def test_rendered_trees_parse_back(tree: Filter) -> None:
    assert parse_metadata_filter(render(tree)) == tree


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from('ab =!<>:()"\\-.1e ANDORT\t'), max_size=60) | st.text(max_size=60))
def test_any_text_parses_or_is_a_clear_400(text: str) -> None:
    try:
        parse_metadata_filter(text)
    except InvalidArgument as exc:
        assert exc.message.startswith("metadataFilter: ")
        assert "position" in exc.message or "limit" in exc.message
