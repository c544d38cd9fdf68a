"""The diff between two rule snapshots as a list of changed leaf paths (readable in the history)."""


def flatten(value: object, path: str = "") -> dict[str, object]:
    """{"condition.all[1].value": "500", …}: one entry per leaf of a JSON tree."""
    if isinstance(value, dict) and value:
        out: dict[str, object] = {}
        for k, v in value.items():
            out.update(flatten(v, f"{path}.{k}" if path else str(k)))
        return out
    if isinstance(value, list) and value:
        out = {}
        for i, v in enumerate(value):
            out.update(flatten(v, f"{path}[{i}]"))
        return out
    return {path: value}


def diff(before: dict | None, after: dict) -> list[dict]:
    """[{"path", "from", "to"}] for every leaf that changed, was added or was removed."""
    old, new = (flatten(before) if before else {}), flatten(after)
    keys = list(new) + [k for k in old if k not in new]
    return [
        {"path": k, "from": old.get(k), "to": new.get(k)}
        for k in keys
        if k not in old or k not in new or old[k] != new[k]
    ]
