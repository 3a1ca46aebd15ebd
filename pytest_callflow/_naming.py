"""Function identity: turn a code object into ``module:qualname``.

``namer`` is handed to the C extension (``_native.set_namer``), which calls
it once per code object, the first time its hooks meet it, never on the hot
path.  It must never raise and must not import anything heavy: it can run in
the middle of any program.

* module: the module whose ``__file__`` is the code's file (``__main__`` is
  ignored), else the name the file would have if imported through the
  longest matching ``sys.path`` entry, so that ``python x.py`` names its
  functions ``x:f`` exactly as an import of ``x`` does.
* qualname: ``co_qualname`` on 3.11+; on 3.9/3.10 it is recovered from the
  source (see ``_QualnameIndex``).
"""

import os
import sys
import sysconfig
import types
from types import CodeType, ModuleType
from typing import Any, Dict, FrozenSet, List, Optional, Tuple

# Function flags, equal to _native.FLAG_* (checked at package import).
FLAG_GENERATOR = 1
FLAG_COROUTINE = 2
FLAG_ASYNC_GENERATOR = 4
FLAG_BUILTIN = 8
FLAG_EXTERNAL = 16
FLAG_SELF = 32

# co_flags bits, equal to inspect.CO_GENERATOR, CO_COROUTINE,
# CO_ASYNC_GENERATOR (inspect itself is too heavy to import here).
_CO_GENERATOR = 0x20
_CO_COROUTINE = 0x80
_CO_ASYNC_GENERATOR = 0x200

_MAIN_NAMES = frozenset(("__main__", "__mp_main__"))

NameInfo = Tuple[str, Optional[str], int, int]


def _norm(path: str) -> str:
    return os.path.normcase(os.path.normpath(os.path.abspath(path)))


def _is_under(path: str, directory: str) -> bool:
    return path == directory or path.startswith(directory.rstrip(os.sep) + os.sep)


# ---------------------------------------------------------------------------
# module names


class _ModuleMap:
    """file -> module name, built from sys.modules and rebuilt on a miss
    when sys.modules has changed since the last build."""

    def __init__(self) -> None:
        self._by_file: Dict[str, str] = {}
        self._built_for = -1  # len(sys.modules) at the last build

    @property
    def stamp(self) -> int:
        return self._built_for

    def lookup(self, path: str) -> Optional[str]:
        name = self._by_file.get(path)
        if name is None and len(sys.modules) != self._built_for:
            self._rebuild()
            name = self._by_file.get(path)
        return name

    def _rebuild(self) -> None:
        by_file: Dict[str, str] = {}
        modules = list(sys.modules.items())  # a copy: imports may run meanwhile
        for name, module in modules:
            if name in _MAIN_NAMES or not isinstance(name, str):
                continue
            file = getattr(module, "__file__", None)
            if not isinstance(file, str) or not file:
                continue
            if file.endswith((".pyc", ".pyo")):
                file = file[:-1]
            key = _norm(file)
            known = by_file.get(key)
            # One file imported under two names: prefer the most qualified
            # name, then the smallest, so the choice does not depend on
            # import order.
            by_file[key] = name if known is None else min(known, name, key=_qualified_first)
        self._by_file = by_file
        self._built_for = len(modules)


def _qualified_first(name: str) -> Tuple[int, str]:
    return -name.count("."), name


_modules = _ModuleMap()


_sys_path: Tuple[Tuple[object, ...], List[str]] = ((), [])  # (sys.path, normalised)


def _normalised_sys_path() -> List[str]:
    global _sys_path
    current = tuple(sys.path)
    if current != _sys_path[0]:
        entries = []
        for entry in current:
            if isinstance(entry, str):
                try:
                    entries.append(_norm(entry or os.curdir))
                except (OSError, ValueError):
                    continue
        _sys_path = (current, entries)
    return _sys_path[1]


def _module_from_path(path: str) -> str:
    """The name ``path`` would be imported as through sys.path."""
    best = ""
    for entry in _normalised_sys_path():
        if len(entry) > len(best) and _is_under(path, entry) and path != entry:
            best = entry
    rel = os.path.relpath(path, best) if best else os.path.basename(path)
    stem, ext = os.path.splitext(rel)
    if ext not in (".py", ".pyw", ".pyc"):
        stem = rel
    parts = [p for p in stem.split(os.sep) if p and p != os.curdir]
    if len(parts) > 1 and parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts) or stem


def _synthetic_module(filename: str) -> str:
    """``<frozen importlib._bootstrap>`` -> ``importlib._bootstrap`` (the
    module it is); any other synthetic file keeps its brackets
    (``<string>``, ``<stdin>``), so it never passes for a real module such
    as the standard library's ``string``."""
    inner = filename[1:-1] if filename.endswith(">") else filename[1:]
    if inner.startswith("frozen "):
        return inner[len("frozen "):].strip() or "?"
    return f"<{inner.strip() or '?'}>"


# ---------------------------------------------------------------------------
# file classification


def _stdlib_dirs() -> List[str]:
    dirs = set()
    for key in ("stdlib", "platstdlib"):
        try:
            path = sysconfig.get_path(key)
        except (KeyError, ValueError, OSError):
            path = None
        if path:
            dirs.add(_norm(path))
    return sorted(dirs)


def _package_dirs() -> List[str]:
    """The directories of pytest_callflow and of its sibling facade."""
    here = os.path.dirname(_norm(__file__))
    dirs = [here]
    facade = os.path.join(os.path.dirname(here), "callflow_tracer")
    if os.path.isdir(facade):
        dirs.append(facade)
    return dirs


class _Classifier:
    def __init__(self) -> None:
        self._stdlib = _stdlib_dirs()
        self._self = _package_dirs()
        self._venv_lib: Dict[str, bool] = {}  # lib directory -> in a venv?

    def external(self, path: str) -> bool:
        parts = path.split(os.sep)
        if "site-packages" in parts or "dist-packages" in parts:
            return True
        if any(_is_under(path, d) for d in self._stdlib):
            return True
        return self._in_venv_lib(parts)

    def is_self(self, path: str) -> bool:
        return any(_is_under(path, d) for d in self._self)

    def _in_venv_lib(self, parts: List[str]) -> bool:
        # <venv>/lib/... where <venv> holds a pyvenv.cfg (any virtualenv,
        # not only the running one).
        for i, part in enumerate(parts[:-1]):
            if part.lower() not in ("lib", "lib64") or i == 0:
                continue
            lib = os.sep.join(parts[: i + 1])
            known = self._venv_lib.get(lib)
            if known is None:
                venv = os.sep.join(parts[:i]) or os.sep
                known = os.path.isfile(os.path.join(venv, "pyvenv.cfg"))
                self._venv_lib[lib] = known
            if known:
                return True
        return False


_classifier: Optional[_Classifier] = None


def _get_classifier() -> _Classifier:
    global _classifier
    if _classifier is None:
        _classifier = _Classifier()
    return _classifier


# ---------------------------------------------------------------------------
# qualnames on 3.9/3.10


class _QualnameIndex:
    """(first line, co_name) -> qualname for every code object a source file
    compiles to, computed the way the compiler does: ``Class.method``,
    ``outer.<locals>.inner``, ``<lambda>``, comprehensions and class bodies.
    A decorated def's code starts at its first decorator's line.  Parts
    evaluated in the enclosing scope (decorators, defaults, annotations,
    bases, a comprehension's first iterable) get the enclosing prefix."""

    _COMPREHENSIONS = {
        "ListComp": "<listcomp>",
        "SetComp": "<setcomp>",
        "DictComp": "<dictcomp>",
        "GeneratorExp": "<genexpr>",
    }

    def __init__(self) -> None:
        self._by_file: Dict[str, Optional[Dict[Tuple[int, str], str]]] = {}

    def qualname(self, code: CodeType, module: Optional[str]) -> str:
        if code.co_name == "<module>":
            return "<module>"
        filename = code.co_filename
        if filename not in self._by_file:
            self._by_file[filename] = self._index(filename, module)
        index = self._by_file[filename]
        if index is None:
            return code.co_name
        return index.get((code.co_firstlineno, code.co_name), code.co_name)

    def _index(self, filename: str, module: Optional[str]) -> Optional[Dict[Tuple[int, str], str]]:
        import ast  # only needed on 3.9/3.10, where co_qualname is missing
        import linecache

        mod = sys.modules.get(module) if module else None
        lines = linecache.getlines(filename, getattr(mod, "__dict__", None))
        if not lines:
            return None
        try:
            tree = ast.parse("".join(lines), filename)
        except (SyntaxError, ValueError, MemoryError, RecursionError):
            return None
        out: Dict[Tuple[int, str], str] = {}
        self._walk(ast, tree, out)
        return out

    @staticmethod
    def _scope_globals(ast, body) -> FrozenSet[str]:  # type: ignore[no-untyped-def]
        """Names declared ``global`` directly in one scope's statements."""
        names = set()
        stack = list(body)
        while stack:
            node = stack.pop()
            if isinstance(node, ast.Global):
                names.update(node.names)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
                continue  # a nested scope
            else:
                stack.extend(ast.iter_child_nodes(node))
        return frozenset(names)

    def _walk(self, ast, tree, out: Dict[Tuple[int, str], str]) -> None:  # type: ignore[no-untyped-def]
        # An explicit stack: deep expressions would exhaust recursion.
        # Items: (node, prefix for names defined here, names declared global
        # in the enclosing scope).
        empty: FrozenSet[str] = frozenset()
        stack = [(child, "", empty) for child in reversed(list(ast.iter_child_nodes(tree)))]
        comprehensions = tuple(getattr(ast, n) for n in self._COMPREHENSIONS)

        def record(line: int, name: str, qual: str) -> None:
            out.setdefault((line, name), qual)

        while stack:
            node, prefix, glob = stack.pop()
            later = []  # children, in source order
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                qual = node.name if node.name in glob else prefix + node.name
                first = min([d.lineno for d in node.decorator_list] + [node.lineno])
                record(first, node.name, qual)
                outer = list(node.decorator_list)
                if isinstance(node, ast.ClassDef):
                    outer += node.bases + node.keywords
                    inner_prefix = qual + "."
                else:
                    outer += self._outer_parts_of_args(ast, node.args)
                    if node.returns is not None:
                        outer.append(node.returns)
                    inner_prefix = qual + ".<locals>."
                inner_glob = self._scope_globals(ast, node.body)
                later += [(n, prefix, glob) for n in outer]
                later += [(n, inner_prefix, inner_glob) for n in node.body]
            elif isinstance(node, ast.Lambda):
                qual = prefix + "<lambda>"
                record(node.lineno, "<lambda>", qual)
                later += [(n, prefix, glob) for n in self._outer_parts_of_args(ast, node.args)]
                later.append((node.body, qual + ".<locals>.", empty))
            elif isinstance(node, comprehensions):
                name = self._COMPREHENSIONS[type(node).__name__]
                qual = prefix + name
                record(node.lineno, name, qual)
                inner = qual + "."  # a comprehension's scope adds no <locals>
                first, rest = node.generators[0], node.generators[1:]
                later.append((first.iter, prefix, glob))
                later.append((first.target, inner, empty))
                later += [(n, inner, empty) for n in first.ifs]
                for gen in rest:
                    later += [(n, inner, empty) for n in ast.iter_child_nodes(gen)]
                if isinstance(node, ast.DictComp):
                    later += [(node.key, inner, empty), (node.value, inner, empty)]
                else:
                    later.append((node.elt, inner, empty))
            else:
                later = [(n, prefix, glob) for n in ast.iter_child_nodes(node)]
            stack.extend(reversed(later))

    @staticmethod
    def _outer_parts_of_args(ast, args) -> list:  # type: ignore[no-untyped-def]
        """Defaults and annotations: evaluated where the def/lambda is."""
        parts = list(args.defaults) + [d for d in args.kw_defaults if d is not None]
        every = list(getattr(args, "posonlyargs", [])) + list(args.args) + list(args.kwonlyargs)
        every += [a for a in (args.vararg, args.kwarg) if a is not None]
        parts += [a.annotation for a in every if a.annotation is not None]
        return parts


_qualnames = _QualnameIndex()


# ---------------------------------------------------------------------------
# the namer


class _FileInfo:
    __slots__ = ("module", "file", "flags")

    def __init__(self, module: str, file: Optional[str], flags: int) -> None:
        self.module = module
        self.file = file
        self.flags = flags


# filename -> (info, stamp): stamp is None when final, else the module-map
# stamp the path-derived name was computed under (the file's module may be
# imported later; then its real name wins).
_files: Dict[str, Tuple[_FileInfo, Optional[int]]] = {}


def _file_info(filename: str) -> _FileInfo:
    cached = _files.get(filename)
    if cached is not None:
        info, stamp = cached
        if stamp is None or stamp == len(sys.modules):
            return info
    if filename.startswith("<") or not filename:
        # frozen modules, exec'd strings, stdin, doctests: no file.
        info = _FileInfo(_synthetic_module(filename), None, FLAG_EXTERNAL)
    else:
        path = _norm(filename)
        module = _modules.lookup(path)
        resolved = module is not None
        if module is None:
            module = _module_from_path(path)
        classifier = _get_classifier()
        flags = FLAG_EXTERNAL if classifier.external(path) else 0
        if classifier.is_self(path):
            flags |= FLAG_SELF
        info = _FileInfo(module, filename, flags)
        if not resolved:
            _files[filename] = (info, _modules.stamp)
            return info
    _files[filename] = (info, None)
    return info


def _code_flags(code: CodeType) -> int:
    co = code.co_flags
    flags = 0
    if co & _CO_GENERATOR:
        flags |= FLAG_GENERATOR
    if co & _CO_COROUTINE:
        flags |= FLAG_COROUTINE
    if co & _CO_ASYNC_GENERATOR:
        flags |= FLAG_ASYNC_GENERATOR
    return flags


def _qualname(code: CodeType, module: str) -> str:
    qual = getattr(code, "co_qualname", None)
    if isinstance(qual, str):
        return qual
    return _qualnames.qualname(code, module)


# First parameters through which a method generated from a string finds
# its class (dataclasses: self; namedtuple.__new__: _cls; classmethods: cls).
_OWNER_PARAMS = frozenset(("self", "cls", "_cls"))


def _generated_method(code: CodeType, owner: Any = None) -> Optional[NameInfo]:
    """Methods that dataclasses, namedtuple or attrs compile from a string
    (file ``<string>``, qualname ``__create_fn__.<locals>.__init__``) are
    named after the class that holds them (``shop.models:Item.__init__``) and
    belong to that class's file.  The class is found through the first
    argument of the frame being started: given by the extension when that
    frame is not running yet (the 3.9-3.11 frame hook), else read from the
    frame, which is then the extension's caller."""
    if code.co_argcount < 1 or code.co_varnames[0] not in _OWNER_PARAMS:
        return None
    if owner is None:
        frame: Optional[types.FrameType] = sys._getframe(1)
        for _ in range(4):
            if frame is None or frame.f_code is code:
                break
            frame = frame.f_back
        if frame is None or frame.f_code is not code:
            return None
        owner = frame.f_locals.get(code.co_varnames[0])
    klass = owner if isinstance(owner, type) else type(owner)
    for base in klass.__mro__:
        fn = _function_of(base, code)
        if fn is not None:
            module = sys.modules.get(base.__module__)
            path = getattr(module, "__file__", None)
            info = _file_info(path) if path else _FileInfo(base.__module__, None, FLAG_EXTERNAL)
            # Built from the class: generated functions' own __qualname__ is
            # not set the same way on every version.
            qualname = f"{base.__qualname__}.{fn.__name__}"
            return (f"{info.module}:{qualname}", info.file, code.co_firstlineno,
                    info.flags | _code_flags(code))
    return None


def _function_of(klass: type, code: CodeType) -> Optional[Any]:
    """The function of klass's own namespace whose code this is (under its
    name, or any name: namedtuple's __new__ is a lambda)."""
    attr = klass.__dict__.get(code.co_name)
    candidates = [attr] if attr is not None else list(vars(klass).values())
    for attr in candidates:
        fn = getattr(attr, "__func__", attr)  # classmethod, staticmethod
        if getattr(fn, "__code__", None) is code:
            return fn
    return None


def namer(code: CodeType, owner: Any = None) -> NameInfo:
    """(``module:qualname``, file or None, first line, flags) of a code
    object; ``owner`` is the first argument of its frame when the caller
    knows it.  Never raises: on any failure the name is ``?:co_name``."""
    try:
        if code.co_filename.startswith("<"):
            generated = _generated_method(code, owner)
            if generated is not None:
                return generated
        info = _file_info(code.co_filename)
        name = info.module + ":" + _qualname(code, info.module)
        return name, info.file, code.co_firstlineno, info.flags | _code_flags(code)
    except Exception:
        try:
            return "?:" + str(code.co_name), None, int(code.co_firstlineno), 0
        except Exception:
            return "?:?", None, 0, 0


def split_name(name: str) -> Tuple[str, str]:
    """``module:qualname`` -> (module, qualname); no colon -> ("", name)."""
    module, sep, qual = name.partition(":")
    return (module, qual) if sep else ("", name)


def builtin_namer(func: object) -> str:
    """``module:qualname`` of a C function, bound or not: ``builtins:len``,
    ``math:sqrt``, ``builtins:str.join`` (for ``"x".join`` and ``str.join``
    alike), ``builtins:list.append``.  Called once per C function by the
    extension; never raises."""
    try:
        qualname = getattr(func, "__qualname__", None) or getattr(func, "__name__", "?")
        module = getattr(func, "__module__", None)
        if not isinstance(module, str):
            owner = getattr(func, "__self__", None)
            if isinstance(owner, ModuleType):
                module = owner.__name__
            elif owner is not None:
                module = type(owner).__module__
            else:
                objclass = getattr(func, "__objclass__", None)
                module = getattr(objclass, "__module__", None) or "builtins"
        return f"{module}:{qualname}"
    except Exception:  # noqa: BLE001 - naming must never break the traced program
        return "builtins:?"
