"""Stack traces group by exception type and the top in-app frames, not by their message text.

Why: the same bug from the same place produces one trace shape whatever values its message carries,
while the same exception type raised from two code paths is two bugs. Line numbers are left out
(they move with every deploy) and library/runtime frames are skipped where recognisable, so a
framework upgrade does not re-key every error. Python, Java/Kotlin (incl. `Caused by`), .NET
(incl. `--->` inner exceptions), Go panics and JavaScript (V8) traces are understood.

`is_continuation(line, in_trace=...)` tells a plain-text source whether a line belongs to the previous
event.
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
# An exception line of its own, `qualified.NameException: message` (or the name alone): how the
# thrown type is found when a log line ("Request failed") sits above the trace. Bare `Error:` is
# prose, not a type; for .NET and JS an unqualified name needs a prefix too (`TypeError`).
_TYPE = r"(?:(?:[A-Za-z_$][\w$]*\.)+[\w$]*|[A-Za-z_$][\w$]*)"
_JAVA_EXC_LINE = re.compile(
    rf'^\s*(?:Exception in thread "[^"]*" )?({_TYPE}(?:Exception|Error|Throwable|Fault))(?::|\s*$)'
)
_DOTNET_EXC = re.compile(rf"(?:^|---> )({_TYPE}(?:Exception|Error))(?=:|[ \t]*(?:--->|$))", re.M)
_JS_EXC_LINE = re.compile(rf"^\s*(?:Uncaught )?({_TYPE}(?:Error|Exception))(?::|\s*$)")
# Where the frames of a trace begin (JVM/.NET, V8, Python).
_FRAME_START = re.compile(r'\s*at (?:async |new )?\S+(?: ?\(|:\d+:\d+)|\s*File "[^"]+", line \d+')
# Lines that continue an event by their shape alone: a frame of some runtime, a trace header, an
# elision. Each is specific, so prose such as "at least 3 jobs failed" or `File "x" not found`
# starts an event of its own.
_CONTINUATION = re.compile(
    r"[ \t]*at (?:async )?(?=[^\s(]*\.)[^\s(]+\(.*\)"  # JVM `at pkg.Class.method(File.java:12)`, .NET
    r"|[ \t]*at (?:async |new )?(?:[^()]*? \()?"  # V8 `at fn (file:line:col)`, `at file:line:col`
    r"(?:(?=[^()\s]*[/\\.<])[^()\s]+:\d+:\d+|<anonymous>|native|index \d+)\)?\s*$"  # linear: one path scan
    r'|[ \t]*File "[^"\n]+", line \d+'  # Python frame
    r"|Traceback \(most recent call last\):"
    r"|[ \t]*--- End of (?:inner exception )?stack trace"
    r"|[ \t]*---> (?:[A-Za-z_][\w`]*\.)*[A-Za-z_][\w`]*(?:Exception|Error)\b"  # .NET inner exception
    r"|[ \t]*\.\.\. \d+ (?:more|common frames omitted)"
    r"|goroutine \d+ \[|\[signal SIG"
)
# ... and lines that continue one only while a trace is open: a cause, Go's `created by`, and any
# indented line (code under a Python frame, a Go file line, an indented exception message).
_IN_TRACE = re.compile(r"[ \t]+\S|Caused by:|Suppressed:|created by ")


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


def is_continuation(line: str, *, in_trace: bool = False) -> bool:
    """True when a plain-text line surely continues the previous event.

    By shape alone: a frame (`at pkg.Class.method(File.java:12)`, `at Ns.Type.Method() in f:line 3`,
    `at fn (file.js:1:2)`, `File "x.py", line 3`), a traceback or goroutine header, an elision.
    With `in_trace` (the text source knows a trace is open) also `Caused by:`, `Suppressed:`,
    `created by ` and any indented line. A bare `SomeError: ...` line or a blank line needs more
    context than that, which the text source decides, so both are False here.
    """
    line = line.rstrip("\r\n")
    return bool(_CONTINUATION.match(line) or (in_trace and _IN_TRACE.match(line)))


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
    lines = block.strip().splitlines()
    # Only below the traceback header: a log line above it ("Request failed") is not the exception.
    headers = [i for i, line in enumerate(lines) if line.startswith("Traceback (most recent call last)")]
    for line in reversed(lines[headers[-1] + 1 :] if headers else lines):
        if line.startswith((" ", "\t")):
            continue
        match = _PY_EXC.match(line)
        if match and not line.startswith("Traceback"):
            return match.group(1)
    return ""


def _exception_before_frames(lines: list[str], pattern: re.Pattern[str]) -> str:
    """The type on the first exception line above the first frame, or ""."""
    for line in lines:
        if _FRAME_START.match(line):
            break
        match = pattern.match(line)
        if match:
            return match.group(1)
    return ""


def _java(message: str, masker: Masker | None) -> Trace | None:
    if not re.search(r"^\s+at [\w$.<>/]+\.[\w$<>]+\([^)]*\)\s*$", message, re.M) or "---> " in message:
        return None
    if re.search(r"\) in .*:line \d+", message):
        return None  # .NET frames also start with "at "
    sections = re.split(r"\n\s*Caused by: ", "\n" + message)
    types: list[str] = []
    for i, section in enumerate(sections):
        lines = section.strip().splitlines()
        # The outermost exception may sit under a log line ("Request failed"): look before the frames.
        head = _exception_before_frames(lines, _JAVA_EXC_LINE) if i == 0 else ""
        if not head and lines and (match := _EXC_HEAD.match(lines[0])):
            head = match.group(1)
        if head:
            types.append(head)
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
    # The outer exception is the first exception line above the frames (a log line may come first);
    # inner ones follow `---> ` wherever they are.
    lines = message.strip().splitlines()
    outer = _exception_before_frames(lines, _DOTNET_EXC)
    types = list(dict.fromkeys(([outer] if outer else []) + _DOTNET_EXC.findall(message)))
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
    lines = message.strip().splitlines()
    exception = _exception_before_frames(lines, _JS_EXC_LINE)  # under a log line too
    if not exception and (match := re.match(r"^(?:Uncaught )?([A-Za-z_$][\w$.]*(?:Error|Exception))\b", lines[0])):
        exception = match.group(1)
    frames: list[str] = []
    raw: list[str] = []
    for func, path in found:
        module = re.sub(r"\.[cm]?[jt]sx?$", "", re.split(r"[\\/]", path)[-1])
        frames.append(f"{module}.{func or '<anonymous>'}")
        raw.append(path)
    app = [f for f, p in zip(frames, raw, strict=True) if not _is_library("js", p)]
    picked, in_app = (tuple(app[:TOP_FRAMES]), True) if app else (tuple(frames[:TOP_FRAMES]), False)
    return Trace("js", exception or "Error", picked, in_app)
