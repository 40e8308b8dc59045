"""Writing build.ninja: one writer that escapes every value for where it lands.

Ninja has three contexts (https://ninja-build.org/manual.html#ref_lexer):
paths in build lines, where `$`, space and `:` are escaped as `$$`, `$ `, `$:`;
variable values, where only `$` is (`$$`); and commands, which /bin/sh runs,
so every word from outside (a flag, a path) is shell-quoted before it is
escaped as a value. Rule commands and descriptions are our own text that only
refers to variables ($in, $cflags, $desc): every value from a manifest, a
board or the file system reaches them through a variable written here.
Ninja shell-quotes $in and $out itself.
"""
import shlex

from .errors import BuildError


class Ref(str):
    """A word written as is in a command variable: a reference such as "$kernel_cflags"."""


def _check(text: str, what: str) -> str:
    if "\n" in text or "\r" in text:
        raise BuildError(f"newline in a {what} for build.ninja: {text!r}")
    return text


def escape_path(path) -> str:
    """A path in a build line (output, input, implicit dependency)."""
    text = _check(str(path), "path")
    if "|" in text:
        # ninja ends a path at '|' (implicit/order-only inputs) and has no escape for it
        raise BuildError(f"'|' in a path cannot be written to build.ninja: {text!r}")
    return text.replace("$", "$$").replace(" ", "$ ").replace(":", "$:")


def escape_value(text) -> str:
    """A literal variable value (e.g. a description): `$` is the only special character."""
    return _check(str(text), "value").replace("$", "$$")


def shell_words(words) -> str:
    """A command variable's value: each word shell-quoted, then escaped; Refs as they are."""
    return " ".join(w if isinstance(w, Ref) else escape_value(shlex.quote(str(w)))
                    for w in words)


class Writer:
    def __init__(self):
        self.lines: list[str] = []

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"

    def comment(self, text: str) -> None:
        for line in text.splitlines():
            self.lines.append(f"# {line}".rstrip())

    def newline(self) -> None:
        self.lines.append("")

    def variable(self, key: str, value, indent: int = 0) -> None:
        """A str is a literal value; a list is a command's words (see shell_words)."""
        text = shell_words(value) if isinstance(value, (list, tuple)) else escape_value(value)
        self.lines.append(f"{'  ' * indent}{key} = {text}".rstrip())

    def rule(self, name: str, command: str, description: str | None = None,
             **options) -> None:
        """`command` and `description` are our own ninja text (references only)."""
        self.lines.append(f"rule {name}")
        self.lines.append(f"  command = {_check(command, 'command')}")
        if description:
            self.lines.append(f"  description = {_check(description, 'description')}")
        for key, value in options.items():
            self.lines.append(f"  {key} = {_check(str(value), key)}")

    def build(self, outputs, rule: str, inputs=(), implicit=(), variables=None) -> None:
        line = f"build {' '.join(map(escape_path, _list(outputs)))}: {rule}"
        if inputs:
            line += " " + " ".join(map(escape_path, _list(inputs)))
        if implicit:
            line += " | " + " ".join(map(escape_path, _list(implicit)))
        self.lines.append(line)
        for key, value in (variables or {}).items():
            if isinstance(value, Ref):
                self.lines.append(f"  {key} = {value}")
            else:
                self.variable(key, value, indent=1)

    def default(self, paths) -> None:
        self.lines.append("default " + " ".join(map(escape_path, _list(paths))))


def _list(x) -> list:
    return [x] if isinstance(x, (str, bytes)) or not hasattr(x, "__iter__") else list(x)
