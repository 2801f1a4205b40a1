"""IndexSpec.from_yaml on hostile or unreadable input: bounded time and memory, SpecError."""

import subprocess
import sys
import time

import pytest

from dtistat import IndexSpec, SpecError

GOOD = """\
name: total
children:
  - name: a
    children: [{name: x1}, {name: x2}]
  - name: b
    children: [{name: x3}]
"""


def alias_bomb(depth: int) -> str:
    """A spec whose every node lists ten aliases of the node below (10**depth leaves)."""
    node = "&n0 {name: n0}"
    for k in range(1, depth + 1):
        node = f"&n{k} {{name: n{k}, children: [{node}" + f", *n{k - 1}" * 9 + "]}"
    return f"name: total\nchildren: [{node}]\n"


def test_nested_aliases_refused_fast():
    # Issue #21 item 7: 610 bytes took 64 s and 2.1 GB. Measured on main before the fix
    # (2-core machine under load): depth 5 1.0 s, depth 6 (477 bytes) 14.6 s and 408 MB,
    # x15 per level; depth 8 (623 bytes) would run for hours.
    text = alias_bomb(8)
    assert len(text) < 700
    t0 = time.perf_counter()
    with pytest.raises(SpecError, match=r"alias \*n0 refers to a mapping"):
        IndexSpec.from_yaml(text)
    assert time.perf_counter() - t0 < 1.0


def test_aliases_to_lists_refused():
    lines = ["l0: &l0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"l{k}: &l{k} [" + ", ".join([f"*l{k - 1}"] * 10) + "]" for k in range(1, 9)]
    with pytest.raises(SpecError, match=r"alias \*l0 refers to a list"):
        IndexSpec.from_yaml("\n".join(lines) + "\nname: total\nchildren: *l8\n")


@pytest.mark.parametrize("text", [
    "&a {name: t, children: [*a]}\n",                    # a node that is its own child
    "name: t\nchildren: &c [{name: x, children: *c}]\n",  # a list inside itself
])
def test_self_referencing_alias_refused(text):
    with pytest.raises(SpecError, match="alias"):
        IndexSpec.from_yaml(text)


def test_merge_key_alias_to_mapping_refused():
    text = "base: &b {name: x1}\nname: t\nchildren: [{<<: *b}]\n"
    with pytest.raises(SpecError, match="mapping"):
        IndexSpec.from_yaml(text)


def test_alias_to_a_single_value_still_works():
    text = ("name: t\nchildren:\n  - {name: x1, weight: &w 0.25}\n"
            "  - {name: x2, weight: *w}\n  - {name: x3, weight: 0.5}\n")
    spec = IndexSpec.from_yaml(text)
    assert spec.leaf_weights().to_dict() == {"x1": 0.25, "x2": 0.25, "x3": 0.5}


def test_deep_nesting_refused_not_recursion_error():
    with pytest.raises(SpecError, match="nesting deeper"):
        IndexSpec.from_yaml("[" * 5000 + "]" * 5000)


def test_plain_spec_round_trips(tmp_path):
    p = tmp_path / "s.yaml"
    p.write_text(GOOD, encoding="utf-8")
    spec = IndexSpec.from_yaml(p)
    assert spec.columns == ["x1", "x2", "x3"]
    assert IndexSpec.from_yaml(spec.to_yaml()).to_dict() == spec.to_dict()


def test_utf8_bom_and_chinese_labels(tmp_path):
    p = tmp_path / "s.yaml"
    p.write_bytes(("\ufeff" + GOOD.replace("name: a\n", "name: a\n    label: 基础设施\n"))
                  .encode("utf-8"))
    assert IndexSpec.from_yaml(p).labels()["a"] == "基础设施"


def test_directory_refused(tmp_path):
    d = tmp_path / "spec.yaml"
    d.mkdir()
    with pytest.raises(SpecError, match="not a regular file"):
        IndexSpec.from_yaml(d)
    with pytest.raises(SpecError, match="not a regular file"):
        IndexSpec.from_yaml(str(d))


def test_gbk_file_refused_with_advice(tmp_path):
    p = tmp_path / "s.yaml"
    p.write_bytes(GOOD.replace("name: a\n", "name: a\n    label: 基础设施\n").encode("gbk"))
    with pytest.raises(SpecError, match="not UTF-8 text.*GBK"):
        IndexSpec.from_yaml(p)


def test_binary_file_refused(tmp_path):
    p = tmp_path / "s.yaml"
    p.write_bytes(bytes(range(256)))
    with pytest.raises(SpecError, match="not UTF-8"):
        IndexSpec.from_yaml(p)
    p.write_bytes(b"name: t\x00\x01\n")  # valid UTF-8, control characters
    with pytest.raises(SpecError, match="not valid YAML"):
        IndexSpec.from_yaml(p)


def test_from_yaml_wrong_type():
    with pytest.raises(SpecError, match="file path or a YAML string"):
        IndexSpec.from_yaml(12)


@pytest.mark.parametrize("root", ["x", None, {"name": "t"}])
def test_indexspec_needs_a_node(root):
    with pytest.raises(SpecError, match="Node as its root.*from_dict"):
        IndexSpec(root)


def test_node_checks_its_fields():
    from dtistat import Node
    with pytest.raises(SpecError, match="children must be Node"):
        Node("t", children=("x1",))
    with pytest.raises(SpecError, match="non-empty string"):
        Node(3)
    with pytest.raises(SpecError, match="direction"):
        Node("x", direction=2)
    assert Node("t", children=[Node("x")]).children == (Node("x"),)


def test_cli_self_referencing_spec_exits_2_without_traceback(tmp_path):
    spec = tmp_path / "s.yaml"
    spec.write_text("&a {name: t, children: [*a]}\n", encoding="utf-8")
    data = tmp_path / "d.csv"
    data.write_text("city,quarter,x\nA,2021Q1,1\n", encoding="utf-8")
    r = subprocess.run([sys.executable, "-m", "dtistat", "index", str(data), "--spec",
                        str(spec), "--out", str(tmp_path / "o")],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr and "alias *a" in r.stderr


def test_deep_tree_from_dict_refused():
    d = {"name": "leaf"}
    for i in range(3000):  # RecursionError before
        d = {"name": f"n{i}", "children": [d]}
    with pytest.raises(SpecError, match="deeper than 50 levels"):
        IndexSpec.from_dict(d)
