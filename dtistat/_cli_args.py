"""Command-line plumbing: the data file anywhere on the line, errors in the CLI's words.

* argparse gives every word after a multi-value option (``--m a b``) to that option, so
  ``dtistat mediate --x a --m b panel.dta`` used to fail with "required: DATA".
  :func:`data_first` moves the data file to the front before parsing.
* The library's messages name Python arguments (``fe='entity' needs entity=``);
  :func:`plain_words` rewrites them as options (``--fe entity needs --entity``).
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Sequence

__all__ = ["data_first", "plain_words", "subparser"]


def subparser(parser: argparse.ArgumentParser, command: str) -> argparse.ArgumentParser | None:
    """The parser of one subcommand, or None."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action.choices.get(command)
    return None


def _looks_like_data(word: str) -> bool:
    from dtistat.io import READERS

    name = word.lower()
    return not word.startswith("-") and any(name.endswith(ext) for ext in READERS)


def data_first(parser: argparse.ArgumentParser, argv: Sequence[str]) -> list[str]:
    """``argv`` with a data file caught in a multi-value option's list moved to the front.

    Only when no bare positional word is there already, and only the last word of a
    list that ends with a data file extension (.csv, .xlsx, .dta, ...).

    Examples
    --------
    >>> from dtistat.cli import _parser
    >>> data_first(_parser(), ["mediate", "--x", "a", "--m", "b", "c", "p.dta", "--y", "y"])
    ['mediate', 'p.dta', '--x', 'a', '--m', 'b', 'c', '--y', 'y']
    """
    argv = list(argv)
    if not argv or argv[0].startswith("-"):
        return argv
    sub = subparser(parser, argv[0])
    if sub is None:
        return argv
    nargs = {opt: a.nargs for a in sub._actions for opt in a.option_strings}
    takes = {opt: (0 if isinstance(a, (argparse._StoreTrueAction, argparse._HelpAction,
                                       argparse._StoreFalseAction)) else None)
             for a in sub._actions for opt in a.option_strings}
    bare, last_of_lists = [], []
    i = 1
    while i < len(argv):
        word = argv[i]
        opt = word.split("=", 1)[0]
        if word == "--":
            return argv
        if opt in nargs and "=" not in word:
            if takes[opt] == 0:
                i += 1
            elif nargs[opt] in ("+", "*"):
                j = i + 1
                while j < len(argv) and not argv[j].startswith("-"):
                    j += 1
                if j - i > 2:  # at least one value stays with the option
                    last_of_lists.append(j - 1)
                i = j
            else:
                i += 2
        else:
            if not word.startswith("-"):
                bare.append(i)
            i += 1
    if bare:
        return argv
    hits = [k for k in last_of_lists if _looks_like_data(argv[k])]
    if len(hits) != 1:
        return argv
    k = hits[0]
    return [argv[0], argv[k], *argv[1:k], *argv[k + 1:]]


_PY_ARG = re.compile(r"\b([a-z][a-z_]*)=(?:(['\"])([^'\"]*)\2"
                     r"|(True|False|None|-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?))?")


def plain_words(message: str, sub: argparse.ArgumentParser | None) -> str:
    """Rewrite Python keyword syntax in an error message as the subcommand's options.

    ``needs entity=`` -> ``needs --entity``; ``fe='entity'`` -> ``--fe entity``;
    ``pass missing="drop"`` -> ``pass --dropna`` where the command has ``--dropna``.
    Names the command has no option for are left as they are.

    Examples
    --------
    >>> from dtistat.cli import _parser
    >>> sub = subparser(_parser(), "mediate")
    >>> plain_words("fe='twoway' needs entity= (the panel unit column)", sub)
    '--fe twoway needs --entity (the panel unit column)'
    >>> plain_words("fill them, or pass missing='drop' to drop these rows", sub)
    'fill them, or pass --dropna to drop these rows'
    >>> plain_words("level=-0.5 must be in (0, 1); n_boot=1e3 is fine", sub)
    '--level -0.5 must be in (0, 1); --n-boot 1e3 is fine'
    """
    if sub is None:
        return message
    opts = {a.dest: a for a in sub._actions if a.option_strings}

    def swap(m: re.Match) -> str:
        name, value = m.group(1), m.group(3) or m.group(4)
        if name == "missing" and value == "drop" and "dropna" in opts:
            return "--dropna"
        action = opts.get(name)
        if action is None:
            return m.group(0)
        opt = max(action.option_strings, key=len)
        if isinstance(action, argparse._StoreTrueAction):
            return opt
        return f"{opt} {value}" if value else opt

    return _PY_ARG.sub(swap, message)
