"""The message definitions a bag carries, from the installed ``.msg`` files (no ROS here).

A rosbag2 MCAP bag stores each topic's schema as ``ros2msg`` text: the
type's own definition followed by every type it uses, each after a
``MSG: pkg/Name`` separator (what ``ros2 bag record`` writes). ``rosbags``
generates that text from a typestore; ``installed_typestore`` fills one from
the definitions rosidl installed (``share/<pkg>/msg/<Name>.msg`` of each
package on the ament index: ours, the stand-ins, the standard ones), the
type's dependencies followed recursively, so a bag describes exactly the
messages this install sends, not a copy shipped with a library.
"""
from __future__ import annotations

from pathlib import Path

from rosbags.typesys import Stores, get_types_from_msg, get_typestore
from rosbags.typesys.store import Typestore



class TypeNotFound(LookupError):
    """A message type whose definition is not installed."""


def msg_file(typename: str) -> Path:
    """The installed ``.msg`` file of ``pkg/msg/Name``."""
    from ament_index_python.packages import PackageNotFoundError, get_package_share_directory

    package, kind, name = typename.split("/")
    try:
        path = Path(get_package_share_directory(package)) / kind / f"{name}.msg"
    except PackageNotFoundError:
        raise TypeNotFound(f"{typename}: package {package} is not installed") from None
    if not path.exists():
        raise TypeNotFound(f"{typename}: no {path}")
    return path


def installed_typestore(typenames) -> Typestore:
    """A typestore holding ``typenames`` and everything they use, from the installed definitions."""
    store = get_typestore(Stores.EMPTY)
    pending, done = list(typenames), set()
    while pending:
        typename = pending.pop()
        if typename in done:
            continue
        done.add(typename)
        types = get_types_from_msg(msg_file(typename).read_text(), typename)
        store.register(types)
        for _consts, fields in types.values():
            for _name, (kind, detail) in fields:
                pending += [t for t in _names(kind, detail) if t not in done]
    return store


def _names(kind, detail) -> list[str]:
    """The message types a field refers to (a name, or a sequence/array of one)."""
    if kind.name == "NAME":
        return [detail]
    if kind.name in ("SEQUENCE", "ARRAY"):
        return _names(*detail[0])
    return []
