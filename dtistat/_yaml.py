"""A bounded YAML reader for specs: safe tags only, no aliases to collections, limited depth.

``yaml.safe_load`` refuses Python tags but still expands aliases: a few hundred bytes of
nested aliases (each list naming the previous one ten times) compose into a tree of
10^8 nodes, and an alias inside its own anchor builds a cycle that recurses without end.
:class:`SpecLoader` refuses an alias that names a mapping or a list (an alias to a scalar,
e.g. a shared weight, stays valid) and nesting deeper than :data:`MAX_DEPTH`, so the
composed tree is never larger than the text and never cyclic.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.events import AliasEvent

from dtistat.errors import SpecError

__all__ = ["MAX_DEPTH", "SpecLoader", "load_spec_text"]

#: Deepest nesting of YAML collections accepted; an index tree has a handful of levels
#: (each node is a mapping inside a ``children`` list, i.e. two YAML levels per tree level).
MAX_DEPTH = 100


class SpecLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses aliases to collections and deep nesting."""

    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(AliasEvent):
            event = self.peek_event()
            target = self.anchors.get(event.anchor)
            if target is not None and not isinstance(target, yaml.ScalarNode):
                line = event.start_mark.line + 1
                raise SpecError(
                    f"spec YAML line {line}: the alias *{event.anchor} refers to a "
                    f"{'mapping' if isinstance(target, yaml.MappingNode) else 'list'}; "
                    f"aliases are accepted only for single values (write the node out)"
                )
            return super().compose_node(parent, index)
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                line = self.peek_event().start_mark.line + 1
                raise SpecError(
                    f"spec YAML line {line}: nesting deeper than {MAX_DEPTH} levels; "
                    f"an index tree needs only a few"
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def load_spec_text(text: str) -> Any:
    """Parse one YAML document with :class:`SpecLoader`; YAML errors become SpecError."""
    try:
        loader = SpecLoader(text)  # the reader already checks the characters
        try:
            return loader.get_single_data()
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        raise SpecError(f"spec is not valid YAML: {exc}") from None
