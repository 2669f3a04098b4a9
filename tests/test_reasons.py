"""The reason codes: one enum, its generated table, and no code in handler/ outside it."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from handler.reasons import Reason, TicketRouterError
from scripts import reasons_doc

ROOT = Path(__file__).resolve().parent.parent
HANDLER = ROOT / "handler"
CODES = {member.value for member in Reason}
FIX = "run `make reasons-doc` (python scripts/reasons_doc.py) and commit docs/reasons.md"


# Where a reason is written in handler/'s source.


def _module_name(root: Path, path: Path) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _parameters(function: ast.FunctionDef, *, method: bool) -> list[str]:
    names = [a.arg for a in (*function.args.posonlyargs, *function.args.args)]
    static = any(
        isinstance(d, ast.Name) and d.id == "staticmethod" for d in function.decorator_list
    )
    return names[1:] if method and not static else names


class Source:
    """handler/'s modules, and where each of their calls takes a reason.

    A call takes a reason as the keyword ``reason``, or at the position of the parameter named
    ``reason`` of what it calls: a function or class of handler/ (a dataclass's fields, else its
    ``__init__``, else its first base's), found through the module's own definitions and its
    imports; a method called on any object, by its name, among the methods handler/ defines.
    """

    def __init__(self, root: Path) -> None:
        paths = sorted((root / "handler").rglob("*.py"))
        self.root = root
        self.paths = {_module_name(root, path): path for path in paths}
        self.trees = {
            module: ast.parse(path.read_text(encoding="utf-8"))
            for module, path in self.paths.items()
        }
        self.methods: dict[str, set[int]] = {}
        for tree in self.trees.values():
            for node in ast.walk(tree):
                if isinstance(node, ast.ClassDef):
                    for member in node.body:
                        if isinstance(member, ast.FunctionDef) and member.name != "__init__":
                            found = self.methods.setdefault(member.name, set())
                            found |= _reason_at(_parameters(member, method=True))

    def definition(self, module: str, name: str) -> tuple[str, ast.AST] | None:
        """What ``name`` is in ``module``: its own function or class, or one it imports."""
        tree = self.trees.get(module)
        if tree is None:
            return None
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name == name:
                return module, node
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for alias in node.names:
                    if (alias.asname or alias.name) == name:
                        return self.definition(node.module, alias.name)
        return None

    def positions(self, module: str, name: str) -> set[int]:
        """The positions at which calling ``name`` in ``module`` takes a reason."""
        found = self.definition(module, name)
        if found is None:
            return set()
        where, node = found
        if isinstance(node, ast.FunctionDef):
            return _reason_at(_parameters(node, method=False))
        assert isinstance(node, ast.ClassDef)
        if any(_named(d) == "dataclass" for d in node.decorator_list):
            fields = [s.target for s in node.body if isinstance(s, ast.AnnAssign)]
            return _reason_at([f.id for f in fields if isinstance(f, ast.Name)])
        init = next(
            (s for s in node.body if isinstance(s, ast.FunctionDef) and s.name == "__init__"), None
        )
        if init is not None:
            return _reason_at(_parameters(init, method=True))
        return self.positions(where, _named(node.bases[0])) if node.bases else set()

    def reasons(self, module: str) -> Iterator[Written]:
        """What ``module`` writes as a reason: string constants and ``Reason.NAME``."""
        tree = self.trees[module]
        constants = {
            target.id: node.value
            for node in tree.body
            if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None
            for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
            if isinstance(target, ast.Name)
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                for keyword in node.keywords:
                    if keyword.arg == "reason":
                        yield from _written(keyword.value)
                if isinstance(node.func, ast.Attribute):
                    at = self.methods.get(node.func.attr, set())
                else:
                    at = self.positions(module, _named(node.func))
                for index in at:
                    if index < len(node.args):
                        yield from _written(node.args[index])
            elif isinstance(node, ast.Assign):
                for target in node.targets:
                    yield from _assigned(target, node.value)
            elif isinstance(node, ast.Compare):
                operands = [node.left, *node.comparators]
                if any(_is_reason(operand) for operand in operands):
                    for operand in operands:
                        named = isinstance(operand, ast.Name) and operand.id in constants
                        yield from _members(constants[_named(operand)] if named else operand)


def _named(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Call):
        return _named(node.func)
    return ""


def _reason_at(parameters: list[str]) -> set[int]:
    return {index for index, name in enumerate(parameters) if name == "reason"}


def _is_reason(node: ast.expr) -> bool:
    return _named(node) == "reason" and not isinstance(node, ast.Call)


# A reason as the source writes it: a string constant, or ``Reason.NAME``.
Written = ast.Constant | ast.Attribute


def _written(node: ast.expr) -> Iterator[Written]:
    """The reasons an expression can evaluate to: itself, or either branch of a conditional
    (``"a" if x else "b"``, ``x or "a"``)."""
    string = isinstance(node, ast.Constant) and isinstance(node.value, str)
    if string or (isinstance(node, ast.Attribute) and _named(node.value) == "Reason"):
        yield node
    elif isinstance(node, ast.IfExp):
        yield from _written(node.body)
        yield from _written(node.orelse)
    elif isinstance(node, ast.BoolOp):
        for value in node.values:
            yield from _written(value)


def _code(written: Written) -> str:
    """The code written: the string, or the member's (a name no member has reads as itself)."""
    if isinstance(written, ast.Constant):
        return str(written.value)
    member = Reason.__members__.get(written.attr)
    return member.value if member is not None else f"Reason.{written.attr}"


def _members(node: ast.expr) -> Iterator[Written]:
    """A value compared with a reason: a string, or the members of a set, tuple, list or
    frozenset, or the keys of a dict."""
    if isinstance(node, ast.Call) and _named(node.func) in {"frozenset", "set"} and node.args:
        node = node.args[0]
    if isinstance(node, (ast.Set, ast.Tuple, ast.List)):
        for element in node.elts:
            yield from _written(element)
    elif isinstance(node, ast.Dict):
        for key in node.keys:
            if key is not None:
                yield from _written(key)
    else:
        yield from _written(node)


def _assigned(target: ast.expr, value: ast.expr) -> Iterator[Written]:
    if isinstance(target, ast.Tuple) and isinstance(value, ast.Tuple):
        for one, other in zip(target.elts, value.elts, strict=False):
            yield from _assigned(one, other)
    elif _is_reason(target):
        yield from _written(value)


def _where(source: Source, module: str, written: Written) -> str:
    return f"{source.paths[module].relative_to(source.root)}:{written.lineno}: {_code(written)!r}"


def _unknown(source: Source) -> list[str]:
    return [
        _where(source, module, written)
        for module in source.trees
        for written in source.reasons(module)
        if _code(written) not in CODES
    ]


@pytest.fixture(scope="module")
def handler_source() -> Source:
    return Source(ROOT)


def test_every_reason_written_in_handler_is_a_member(handler_source):
    """A reason handler/ writes (a keyword, a constructor's reason, a comparison) is a member."""
    found = [_code(w) for m in handler_source.trees for w in handler_source.reasons(m)]
    # The rule reads today's calls: it must keep seeing most of the codes.
    assert len(set(found)) > len(Reason) * 3 // 4
    assert _unknown(handler_source) == [], "add these to handler.reasons.Reason, then " + FIX


def test_reasons_are_written_as_members_not_strings(handler_source):
    """A reason is written ``Reason.NAME``, never as a string: mypy holds the fields and
    parameters to it, this also the comparisons mypy lets through."""
    strings = [
        _where(handler_source, module, written)
        for module in handler_source.trees
        for written in handler_source.reasons(module)
        if isinstance(written, ast.Constant)
    ]
    assert strings == [], "write these as Reason members"


def test_a_misspelt_or_new_reason_is_caught(tmp_path):
    """Typos and new codes in each kind of place a reason is written are all reported."""
    (tmp_path / "handler").mkdir()
    module = tmp_path / "handler" / "example.py"
    module.write_text(
        "from dataclasses import dataclass\n"
        "@dataclass\n"
        "class Verdict:\n"
        "    ok: bool\n"
        "    reason: str\n"
        "class Failure(Exception):\n"
        "    def __init__(self, reason: str, detail: str) -> None: ...\n"
        "class Worse(Failure):\n"
        "    pass\n"
        "class Client:\n"
        "    def _wait(self, seconds: float, reason: str) -> None: ...\n"
        "    def post(self) -> None:\n"
        "        self._wait(1.0, 'rate-limitted')\n"
        "_DONE = {'postd': 1}\n"
        "def decide(flag: bool, error: Failure) -> object:\n"
        "    reason = 'spam' if flag else 'spma'\n"
        "    if error.reason in {'issue-gone', 'issue-gon'}:\n"
        "        raise Worse('github-unavailble', 'x')\n"
        "    if error.reason in _DONE:\n"
        "        return Verdict(False, 'sender-not-alowed')\n"
        "    return Failure(reason='brand-new', detail='x')\n",
        encoding="utf-8",
    )
    assert sorted(line.rpartition(": ")[2] for line in _unknown(Source(tmp_path))) == [
        "'brand-new'",
        "'github-unavailble'",
        "'issue-gon'",
        "'postd'",
        "'rate-limitted'",
        "'sender-not-alowed'",
        "'spma'",
    ]


def test_every_member_is_produced_somewhere(handler_source):
    """No member is dead: its code, or ``Reason.NAME``, appears in handler/ beyond the enum."""
    used: set[str] = set()
    for module, tree in handler_source.trees.items():
        if module == "handler.reasons":
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                used.add(node.value)
            elif isinstance(node, ast.Attribute) and _named(node.value) == "Reason":
                used.add(Reason.__members__[node.attr].value)
    assert [member.value for member in Reason if member.value not in used] == []


# The enum itself.


def test_each_member_gives_its_code_meaning_and_transience():
    """Every member is ``NAME = code, meaning, transient``: no default fills a gap."""
    tree = ast.parse((HANDLER / "reasons.py").read_text(encoding="utf-8"))
    enum = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Reason")
    for statement in enum.body:
        if isinstance(statement, ast.Assign):
            assert isinstance(statement.value, ast.Tuple), ast.unparse(statement)
            kinds = [type(e.value) for e in statement.value.elts if isinstance(e, ast.Constant)]
            assert kinds == [str, str, bool], ast.unparse(statement)


@pytest.mark.parametrize("member", list(Reason), ids=str)
def test_meaning_is_one_line(member):
    """A meaning is one non-empty line: a cell of the table."""
    assert member.meaning.strip()
    assert member.meaning == " ".join(member.meaning.split())
    assert "|" not in member.meaning


def test_member_is_its_code():
    """A member is its code as a str: logs, JSON and metrics stay byte-identical."""
    assert Reason.SENDER_NOT_ALLOWED == "sender-not-allowed"
    assert f"{Reason.RATE_LIMITED}" == str(Reason.RATE_LIMITED) == "rate-limited"
    assert Reason("github-timeout") is Reason.GITHUB_TIMEOUT
    assert (Reason.GITHUB_TIMEOUT.transient, Reason.ISSUE_LOCKED.transient) == (True, False)


def test_error_carries_reason_detail_and_transience():
    """TicketRouterError: the detail is its text; transient defaults to the reason's."""
    error = TicketRouterError(Reason.GITHUB_UNAVAILABLE, "GitHub answered 502")
    assert (str(error), error.reason, error.detail, error.transient) == (
        "GitHub answered 502",
        Reason.GITHUB_UNAVAILABLE,
        "GitHub answered 502",
        True,
    )
    kept = TicketRouterError(Reason.PARTICIPANT_STORE_UNAVAILABLE, "too large", transient=False)
    assert not kept.transient


# The generated table.


def test_docs_table_is_generated_from_the_enum():
    """docs/reasons.md is exactly what scripts/reasons_doc.py writes."""
    assert (ROOT / "docs" / "reasons.md").read_text(encoding="utf-8") == reasons_doc.render(), (
        "docs/reasons.md is out of date: " + FIX
    )


def test_docs_table_lists_every_member_once_in_a_group():
    """Each group comment heads a section, and every member is in exactly one."""
    grouped = [member for _, _, members in reasons_doc.groups() for member in members]
    assert grouped == list(Reason)
    assert all(title and about for title, about, _ in reasons_doc.groups())
