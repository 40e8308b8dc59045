"""Validating TOML documents against JSON schemas, with file:line messages."""
import json
import re
import tomllib
from importlib import resources
from pathlib import Path

import jsonschema

from .errors import InputError


def path_of(name: str) -> Path:
    """schemas/<name>: the one home of the board and manifest schemas."""
    return Path(str(resources.files("unicycle").joinpath("schemas", name)))


def load_schema(name: str) -> dict:
    return json.loads(path_of(name).read_text())


def read_toml(path: Path, error=InputError) -> tuple[dict, str]:
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise error(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError) as e:
        raise error(f"{path}: cannot read: {e}") from None
    try:
        return tomllib.loads(text), text
    except tomllib.TOMLDecodeError as e:
        raise error(f"{path}: TOML syntax error: {e}") from None


def key_line(text: str, keypath) -> int | None:
    """Best-effort line number of a dotted key path in TOML text; a key inside an
    inline table or an absent key gives the line of the nearest enclosing one."""
    keypath = [str(k) for k in keypath if not isinstance(k, int)]
    while keypath:
        line = _exact_line(text, keypath)
        if line:
            return line
        keypath = keypath[:-1]
    return None


def _exact_line(text: str, keypath: list[str]) -> int | None:
    table, key = keypath[:-1], keypath[-1]
    current: list[str] = []
    header = re.compile(r"^\s*\[+\s*([^\]]+?)\s*\]+")
    assign = re.compile(r'^\s*"?([A-Za-z0-9_.-]+)"?\s*=')
    table_line = None
    for n, line in enumerate(text.splitlines(), 1):
        m = header.match(line)
        if m:
            current = [p.strip().strip('"') for p in m.group(1).split(".")]
            if current == keypath:
                table_line = n
            continue
        m = assign.match(line)
        if m and current == table and m.group(1) == key:
            return n
    return table_line


def _describe(err: jsonschema.ValidationError) -> str:
    v = err.validator
    if v == "additionalProperties":
        props = err.schema.get("properties", {})
        extra = sorted(set(err.instance) - set(props))
        # Keys kept only to explain where a fact moved ({"not": {}}) are not offered.
        allowed = ", ".join(sorted(k for k, s in props.items() if "not" not in s)) or "none"
        context = f" {err.schema['title']}" if "title" in err.schema else ""
        return f"unknown key {', '.join(repr(e) for e in extra)} (allowed{context}: {allowed})"
    if v == "not" and "description" in err.schema:
        return f"not read here: {err.schema['description']}"
    if v == "required":
        return err.message.replace("is a required property", "is required")
    if v == "type":
        want = err.validator_value
        want = " or ".join(want) if isinstance(want, list) else want
        return f"expected {want}, got {type(err.instance).__name__} {err.instance!r}"
    if v == "enum":
        return f"expected one of {', '.join(map(repr, err.validator_value))}, got {err.instance!r}"
    if v == "const":
        return f"expected {err.validator_value!r}, got {err.instance!r}"
    if v == "pattern":
        desc = err.schema.get("description")
        hint = f" ({desc})" if desc else ""
        return f"{err.instance!r} is not valid{hint}: must match {err.validator_value}"
    if v == "minItems":
        return f"expected at least {err.validator_value} item(s)"
    if v == "propertyNames":
        return f"invalid key {err.instance!r}"
    return err.message


def validate(doc: dict, text: str, schema: dict, path: Path, error=InputError) -> None:
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(map(str, e.absolute_path)))
    if not errors:
        return
    err = errors[0]
    keypath = list(err.absolute_path)
    if err.validator == "additionalProperties":
        extra = sorted(set(err.instance) - set(err.schema.get("properties", {})))
        keypath = keypath + extra[:1]
    elif err.validator == "propertyNames":
        keypath = keypath + [err.instance]
    dotted = ".".join(str(k) for k in keypath) or "(top level)"
    line = key_line(text, keypath)
    where = f"{path}:{line}" if line else f"{path}"
    raise error(f"{where}: {dotted}: {_describe(err)}")
