"""Stack traces group by exception type and the top in-app frames, not by their message text.

Why: the same bug from the same place produces one trace shape whatever values its message carries,
while the same exception type raised from two code paths is two bugs. Line numbers are left out
(they move with every deploy) and library/runtime frames are skipped where recognisable, so a
framework upgrade does not re-key every error. Python, Java/Kotlin (incl. `Caused by`), .NET
(incl. `--->` inner exceptions), Go panics and JavaScript (V8) traces are understood.

`is_continuation(line)` tells a plain-text source whether a line belongs to the previous event.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from errorsift.signatures.base import stable_key
from errorsift.signatures.masking import Masker

TOP_FRAMES = 3  # in-app frames that name the place of a bug

# Frames from these modules are the runtime or a framework, not the application (data, not code).
LIBRARY_PREFIXES: dict[str, tuple[str, ...]] = {
    "python": ("site-packages", "dist-packages", "<frozen", "lib/python", "importlib", "asyncio/", "threading"),
    "java": (
        "java.",
        "javax.",
        "jdk.",
        "sun.",
        "com.sun.",
        "kotlin.",
        "kotlinx.",
        "scala.",
        "org.springframework.",
        "org.apache.catalina.",
        "org.apache.tomcat.",
        "org.eclipse.jetty.",
        "io.netty.",
        "reactor.",
        "org.junit.",
        "org.hibernate.",
        "com.google.common.",
    ),
    "dotnet": ("System.", "Microsoft.", "Newtonsoft."),
    "go": ("runtime.", "runtime/", "net/http.", "testing.", "reflect.", "sync."),
    "js": ("node_modules", "node:", "internal/", "<anonymous>"),
}

_PY_FRAME = re.compile(r'^\s*File "([^"]+)", line \d+, in (\S+)', re.M)
_PY_EXC = re.compile(r"^([A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt|Warning|Fault|Failure|\w*))(?::|$)")
_JAVA_FRAME = re.compile(r"^\s*at ([\w$.<>/]+)\.([\w$<>]+)\((?:[^)]*)\)", re.M)
_DOTNET_FRAME = re.compile(r"^\s*at ([\w.`<>+\[\],]+)\.([\w<>`]+)\s*\([^)]*\)(?: in .*)?$", re.M)
_JS_FRAME = re.compile(r"^\s*at (?:(?:async )?([^\s(]+) \()?([^()\s]+?):\d+:\d+\)?\s*$", re.M)
_GO_FRAME = re.compile(r"^((?:[\w.-]+/)*[\w.-]+\.(?:\(\*?\w+\)\.)?\w+)\(.*\)\n\t(\S+?):\d+", re.M)
_EXC_HEAD = re.compile(
    r"^(?:Caused by: |Exception in thread \"[^\"]*\" )?([A-Za-z_][\w$.]*(?:Error|Exception|Throwable|Fault))\b"
)
_CONTINUATION = re.compile(
    r"[ \t]+\S"  # indented: Python frames and code, Java/.NET "at ...", Go file lines, "... 5 more"
    r"|Traceback \(most recent call last\):|Caused by:|Suppressed:|--- End of |at \S|File \""
    r"|\.\.\. \d+ (?:more|common frames omitted)|goroutine \d+ \[|\[signal |created by "
)


@dataclass(frozen=True, slots=True)
class Trace:
    """The parts of a stack trace that name a bug."""

    language: str
    exception: str  # exception type (chain joined by " <- " from outer to root cause), or Go panic kind
    frames: tuple[str, ...]  # top in-app frames, `module.function`, innermost first
    in_app: bool  # False when no frame looked like application code and library frames were used

    def signature_text(self) -> str:
        return f"trace|{self.language}|{self.exception}|{'|'.join(self.frames)}"

    def key(self, namespace: str = "mined-v1") -> str:
        return stable_key(f"{namespace}\x00{self.signature_text()}")

    def describe(self) -> str:
        where = " < ".join(self.frames) if self.frames else "(no frames)"
        return f"{self.exception} at {where}"


def is_continuation(line: str) -> bool:
    """True when a plain-text line surely continues the previous event (a frame, a cause, a header).

    Context-free on purpose: a bare `SomeError: ...` line or a blank line only belongs to a trace
    when one is open, which the text source decides, so both are False here.
    """
    return bool(_CONTINUATION.match(line.rstrip("\r\n")))


def parse_trace(message: str, masker: Masker | None = None) -> Trace | None:
    """Recognise a multi-line stack trace; None for anything else (it is then mined as text)."""
    if "\n" not in message:
        return None
    for parser in (_python, _java, _dotnet, _go, _js):
        trace = parser(message, masker)
        if trace is not None:
            return trace
    return None


def _pick(language: str, frames: list[str]) -> tuple[tuple[str, ...], bool]:
    """Top in-app frames (innermost first); library frames only when there is nothing else."""
    prefixes = LIBRARY_PREFIXES[language]
    app = [f for f in frames if not any(p in f if "/" in p or p.startswith("<") else f.startswith(p) for p in prefixes)]
    if app:
        return tuple(app[:TOP_FRAMES]), True
    return tuple(frames[:TOP_FRAMES]), False


def _python(message: str, masker: Masker | None) -> Trace | None:
    if "Traceback (most recent call last)" not in message:
        return None
    blocks = re.split(r"\n(?:During handling of the above exception|The above exception was the direct cause)", message)
    root = blocks[0]  # the first block raised first: the root cause; its last frames are innermost
    found = list(reversed(_PY_FRAME.findall(root)))
    types = [t for t in (_last_exception_line(block) for block in blocks) if t]
    if not found and not types:
        return None
    # Judge library frames on the raw path: the short module name hides `site-packages`.
    app = [f"{_python_module(p)}.{f}" for p, f in found if not _is_library("python", p)]
    every = [f"{_python_module(p)}.{f}" for p, f in found]
    frames, in_app = (tuple(app[:TOP_FRAMES]), True) if app else (tuple(every[:TOP_FRAMES]), False)
    return Trace("python", " <- ".join(reversed(types)) or "Exception", frames, in_app)


def _is_library(language: str, text: str) -> bool:
    return any(p in text for p in LIBRARY_PREFIXES[language])


def _python_module(path: str) -> str:
    """`/srv/app/billing/render.py` -> `billing.render`: the last two path parts, no extension."""
    parts = [p for p in re.split(r"[\\/]", path) if p]
    if parts and parts[-1].endswith(".py"):
        parts[-1] = parts[-1][:-3]
    return ".".join(parts[-2:]) if parts else path


def _last_exception_line(block: str) -> str:
    for line in reversed(block.strip().splitlines()):
        if line.startswith((" ", "\t")):
            continue
        match = _PY_EXC.match(line)
        if match and not line.startswith("Traceback"):
            return match.group(1)
    return ""


def _java(message: str, masker: Masker | None) -> Trace | None:
    if not re.search(r"^\s+at [\w$.<>/]+\.[\w$<>]+\([^)]*\)\s*$", message, re.M) or "---> " in message:
        return None
    if re.search(r"\) in .*:line \d+", message):
        return None  # .NET frames also start with "at "
    sections = re.split(r"\n\s*Caused by: ", "\n" + message)
    types: list[str] = []
    for section in sections:
        head = section.strip().splitlines()[0] if section.strip() else ""
        match = _EXC_HEAD.match(head)
        if match:
            types.append(match.group(1))
    root = sections[-1]
    frames = [f"{cls}.{func}" for cls, func in _JAVA_FRAME.findall(root)]
    if not frames:
        frames = [f"{cls}.{func}" for cls, func in _JAVA_FRAME.findall(message)]
    picked, in_app = _pick("java", frames)
    return Trace("java", " <- ".join(types) or "Throwable", picked, in_app)


def _dotnet(message: str, masker: Masker | None) -> Trace | None:
    frames_raw = _DOTNET_FRAME.findall(message)
    if not frames_raw or not (" in " in message or "---> " in message or "--- End of" in message):
        return None
    chain = re.findall(r"(?:^|---> )([A-Za-z_][\w.]*(?:Exception|Error))\b", message, re.M)
    types = list(dict.fromkeys(chain))
    frames = [f"{cls}.{func}" for cls, func in frames_raw]
    picked, in_app = _pick("dotnet", frames)
    return Trace("dotnet", " <- ".join(types) or "Exception", picked, in_app)


def _go(message: str, masker: Masker | None) -> Trace | None:
    if not re.search(r"^goroutine \d+ \[", message, re.M):
        return None
    head = next((ln for ln in message.splitlines() if ln.startswith(("panic:", "fatal error:"))), "panic")
    kind = head.split(":", 1)[0]
    detail = head.split(":", 1)[1].strip() if ":" in head else ""
    if detail and masker is not None:
        detail = " ".join(masker.tokens(detail))
    detail = re.sub(r"\[\d+\]|\d+", "<*>", detail)  # `index out of range [5] with length 3`
    frames = [func for func, _path in _GO_FRAME.findall(message)]
    picked, in_app = _pick("go", frames)
    return Trace("go", f"{kind}: {detail}" if detail else kind, picked, in_app)


def _js(message: str, masker: Masker | None) -> Trace | None:
    found = _JS_FRAME.findall(message)
    if not found:
        return None
    first = message.strip().splitlines()[0]
    match = re.match(r"^(?:Uncaught )?([A-Za-z_$][\w$.]*(?:Error|Exception))\b", first)
    frames: list[str] = []
    raw: list[str] = []
    for func, path in found:
        module = re.sub(r"\.[cm]?[jt]sx?$", "", re.split(r"[\\/]", path)[-1])
        frames.append(f"{module}.{func or '<anonymous>'}")
        raw.append(path)
    app = [f for f, p in zip(frames, raw, strict=True) if not _is_library("js", p)]
    picked, in_app = (tuple(app[:TOP_FRAMES]), True) if app else (tuple(frames[:TOP_FRAMES]), False)
    return Trace("js", match.group(1) if match else "Error", picked, in_app)
