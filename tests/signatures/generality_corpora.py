# ruff: noqa: E501  (log lines are data; wrapping them would hide what they look like)
"""Synthetic-but-realistic log corpora in the styles of systems the grouping was never tuned on.

Each corpus is a list of events: (expected template, weight, line generator). The expected
template is written by hand from the event's meaning, the way Loghub labels its templates: every
value filled in at run time (ids, numbers, addresses, user and host names, states, package names)
is `<*>`, and the format string's literal words are kept. Lines are drawn with a seeded random
generator, so a corpus is the same on every run; weights give the skew of real logs (a few
events dominate, many are rare).

These corpora exist to measure *generalization*: they are not Loghub data (the held-out Loghub
systems must never be used), and a grouping rule must never name a word from them.
"""

from __future__ import annotations

import random
import string
from collections.abc import Callable

Gen = Callable[[random.Random], str]
Event = tuple[str, float, Gen]

# -- value generators ----------------------------------------------------------------------------


def ip(r: random.Random) -> str:
    return ".".join(str(r.randint(1, 254)) for _ in range(4))


def port(r: random.Random) -> int:
    return r.randint(1024, 65535)


def hexs(r: random.Random, n: int) -> str:
    return "".join(r.choice("0123456789abcdef") for _ in range(n))


def word(r: random.Random, n: int = 6) -> str:
    return "".join(r.choice(string.ascii_lowercase) for _ in range(n))


def pick(r: random.Random, *values: str, weights: tuple[float, ...] | None = None) -> str:
    return r.choices(values, weights=weights)[0]


def reverse_host(r: random.Random) -> str:
    a, b, c, d = (r.randint(1, 254) for _ in range(4))
    return pick(
        r,
        f"{a}-{b}-{c}-{d}.dynamic.{word(r, 5)}.net",
        f"host{a}.{word(r, 7)}.com",
        f"ip-{a}-{b}-{c}-{d}.ip.secureserver.net",
        f"{word(r, 4)}.{word(r, 6)}.edu.cn",
        f"{a}.{b}.{c}.{d}.rev.sfr.net",
    )


INVALID_USERS = (
    "admin",
    "test",
    "oracle",
    "guest",
    "webmaster",
    "ubuntu",
    "postgres",
    "git",
    "user",
    "support",
    "pi",
    "ftpuser",
    "nagios",
    "mysql",
    "tomcat",
    "deploy",
    "jenkins",
    "hadoop",
    "www",
)

# -- sshd ----------------------------------------------------------------------------------------


def _root_or_user(r: random.Random) -> str:
    return pick(r, "root", "fztu", "backup", weights=(90, 7, 3))


SSHD: list[Event] = [
    (
        "Failed password for <*> from <*> port <*> ssh2",
        22,
        lambda r: f"Failed password for {_root_or_user(r)} from {ip(r)} port {port(r)} ssh2",
    ),
    (
        "Failed password for invalid user <*> from <*> port <*> ssh2",
        16,
        lambda r: f"Failed password for invalid user {r.choice(INVALID_USERS)} from {ip(r)} port {port(r)} ssh2",
    ),
    ("Invalid user <*> from <*>", 12, lambda r: f"Invalid user {r.choice(INVALID_USERS)} from {ip(r)}"),
    (
        "input_userauth_request: invalid user <*> [preauth]",
        12,
        lambda r: f"input_userauth_request: invalid user {r.choice(INVALID_USERS)} [preauth]",
    ),
    ("pam_unix(sshd:auth): check pass; user unknown", 10, lambda r: "pam_unix(sshd:auth): check pass; user unknown"),
    (
        "pam_unix(sshd:auth): authentication failure; logname= uid=<*> euid=<*> tty=ssh ruser= rhost=<*>",
        14,
        lambda r: (
            "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= "
            f"rhost={pick(r, ip(r), reverse_host(r))}"
        ),
    ),
    (
        "pam_unix(sshd:auth): authentication failure; logname= uid=<*> euid=<*> tty=ssh ruser= rhost=<*> user=<*>",
        14,
        lambda r: (
            "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= "
            f"rhost={pick(r, ip(r), reverse_host(r))}  user={_root_or_user(r)}"
        ),
    ),
    (
        "Received disconnect from <*>: 11: Bye Bye [preauth]",
        14,
        lambda r: f"Received disconnect from {ip(r)}: 11: Bye Bye [preauth]",
    ),
    ("Connection closed by <*> [preauth]", 8, lambda r: f"Connection closed by {ip(r)} [preauth]"),
    (
        "reverse mapping checking getaddrinfo for <*> [<*>] failed - POSSIBLE BREAK-IN ATTEMPT!",
        6,
        lambda r: (
            f"reverse mapping checking getaddrinfo for {reverse_host(r)} [{ip(r)}] failed - POSSIBLE BREAK-IN ATTEMPT!"
        ),
    ),
    (
        "Address <*> maps to <*>, but this does not map back to the address - POSSIBLE BREAK-IN ATTEMPT!",
        3,
        lambda r: (
            f"Address {ip(r)} maps to {reverse_host(r)}, but this does not map back to the address "
            "- POSSIBLE BREAK-IN ATTEMPT!"
        ),
    ),
    (
        "Accepted password for <*> from <*> port <*> ssh2",
        2,
        lambda r: f"Accepted password for {pick(r, 'fztu', 'root')} from {ip(r)} port {port(r)} ssh2",
    ),
    (
        "pam_unix(sshd:session): session opened for user <*> by (uid=<*>)",
        2,
        lambda r: f"pam_unix(sshd:session): session opened for user {pick(r, 'fztu', 'root')} by (uid=0)",
    ),
    (
        "pam_unix(sshd:session): session closed for user <*>",
        2,
        lambda r: f"pam_unix(sshd:session): session closed for user {pick(r, 'fztu', 'root')}",
    ),
    (
        "Did not receive identification string from <*>",
        2,
        lambda r: f"Did not receive identification string from {ip(r)}",
    ),
    (
        "PAM <*> more authentication failures; logname= uid=<*> euid=<*> tty=ssh ruser= rhost=<*> user=<*>",
        3,
        lambda r: (
            f"PAM {r.randint(1, 5)} more authentication failures; logname= uid=0 euid=0 tty=ssh ruser= "
            f"rhost={ip(r)}  user=root"
        ),
    ),
    (
        "PAM service(sshd) ignoring max retries; <*> > <*>",
        3,
        lambda r: f"PAM service(sshd) ignoring max retries; {r.randint(6, 9)} > 3",
    ),
    (
        "Disconnecting: Too many authentication failures for <*> [preauth]",
        2,
        lambda r: f"Disconnecting: Too many authentication failures for {pick(r, 'root', 'admin')} [preauth]",
    ),
    (
        "message repeated <*> times: [ Failed password for <*> from <*> port <*> ssh2]",
        2,
        lambda r: (
            f"message repeated {r.randint(2, 5)} times: [ Failed password for root from {ip(r)} port {port(r)} ssh2]"
        ),
    ),
    (
        "fatal: Read from socket failed: Connection reset by peer [preauth]",
        1,
        lambda r: "fatal: Read from socket failed: Connection reset by peer [preauth]",
    ),
    (
        "Received disconnect from <*>: 11: disconnected by user",
        1,
        lambda r: f"Received disconnect from {ip(r)}: 11: disconnected by user",
    ),
]

# -- Hadoop MapReduce application master -------------------------------------------------------

_APP = "1445144423722_0020"


def attempt(r: random.Random) -> str:
    return f"attempt_{_APP}_{pick(r, 'm', 'r')}_{r.randint(0, 12):06d}_{r.randint(0, 1)}"


def task(r: random.Random) -> str:
    return f"task_{_APP}_{pick(r, 'm', 'r')}_{r.randint(0, 12):06d}"


def container(r: random.Random) -> str:
    return f"container_{_APP}_01_{r.randint(1, 14):06d}"


def nm_host(r: random.Random) -> str:
    return pick(
        r,
        "MININT-FNANLI5.fareast.corp.microsoft.com",
        "MININT-75DGDAM1.fareast.corp.microsoft.com",
        "MSRA-SA-41.fareast.corp.microsoft.com",
    )


_ATTEMPT_STATES = [
    ("NEW", "UNASSIGNED"),
    ("UNASSIGNED", "ASSIGNED"),
    ("ASSIGNED", "RUNNING"),
    ("RUNNING", "SUCCESS_CONTAINER_CLEANUP"),
    ("SUCCESS_CONTAINER_CLEANUP", "SUCCEEDED"),
    ("RUNNING", "FAIL_CONTAINER_CLEANUP"),
]
_TASK_STATES = [("NEW", "SCHEDULED"), ("SCHEDULED", "RUNNING"), ("RUNNING", "SUCCEEDED"), ("RUNNING", "FAILED")]

HADOOP: list[Event] = [
    (
        "Progress of TaskAttempt <*> is : <*>",
        25,
        lambda r: f"Progress of TaskAttempt {attempt(r)} is : {r.random():.7f}",
    ),
    (
        "<*> TaskAttempt Transitioned from <*> to <*>",
        10,
        lambda r: "{} TaskAttempt Transitioned from {} to {}".format(attempt(r), *r.choice(_ATTEMPT_STATES)),
    ),
    (
        "<*> Task Transitioned from <*> to <*>",
        6,
        lambda r: "{} Task Transitioned from {} to {}".format(task(r), *r.choice(_TASK_STATES)),
    ),
    (
        "TaskAttempt: [<*>] using containerId: [<*> on NM: [<*>]",
        3,
        lambda r: f"TaskAttempt: [{attempt(r)}] using containerId: [{container(r)} on NM: [{nm_host(r)}:{port(r)}]",
    ),
    ("Assigned container <*> to <*>", 3, lambda r: f"Assigned container {container(r)} to {attempt(r)}"),
    (
        "Retrying connect to server: <*>. Already tried <*> time(s); retry policy is "
        "RetryUpToMaximumCountWithFixedSleep(maxRetries=<*>, sleepTime=<*> MILLISECONDS)",
        12,
        lambda r: (
            f"Retrying connect to server: msra-sa-41:9000. Already tried {r.randint(0, 9)} time(s); retry policy is "
            "RetryUpToMaximumCountWithFixedSleep(maxRetries=10, sleepTime=1000 MILLISECONDS)"
        ),
    ),
    (
        "Address change detected. Old: <*> New: <*>",
        4,
        lambda r: f"Address change detected. Old: msra-sa-41/{ip(r)}:9000 New: msra-sa-41:9000",
    ),
    (
        "Recalculating schedule, headroom=<memory:<*>, vCores:<*>>",
        8,
        lambda r: f"Recalculating schedule, headroom=<memory:{r.choice([0, 1024, 2048])}, vCores:{r.randint(-30, 4)}>",
    ),
    (
        "Reduce slow start threshold not met. completedMapsForReduceSlowstart <*>",
        8,
        lambda r: "Reduce slow start threshold not met. completedMapsForReduceSlowstart 1",
    ),
    (
        "After Scheduling: PendingReds:<*> ScheduledMaps:<*> ScheduledReds:<*> AssignedMaps:<*> AssignedReds:<*> "
        "CompletedMaps:<*> CompletedReds:<*> ContAlloc:<*> ContRel:<*> HostLocal:<*> RackLocal:<*>",
        5,
        lambda r: (
            "After Scheduling: PendingReds:{} ScheduledMaps:{} ScheduledReds:0 AssignedMaps:{} AssignedReds:0 "
            "CompletedMaps:{} CompletedReds:0 ContAlloc:{} ContRel:0 HostLocal:{} RackLocal:{}".format(
                *(r.randint(0, 12) for _ in range(7))
            )
        ),
    ),
    (
        "Processing the event EventType: <*> for container <*> taskAttempt <*>",
        4,
        lambda r: (
            f"Processing the event EventType: {pick(r, 'CONTAINER_REMOTE_LAUNCH', 'CONTAINER_REMOTE_CLEANUP')} "
            f"for container {container(r)} taskAttempt {attempt(r)}"
        ),
    ),
    ("ERROR IN CONTACTING RM.", 2, lambda r: "ERROR IN CONTACTING RM."),
    ("Num completed Tasks: <*>", 2, lambda r: f"Num completed Tasks: {r.randint(1, 13)}"),
    (
        "Diagnostics report from <*>: Container killed by the ApplicationMaster.",
        1,
        lambda r: f"Diagnostics report from {attempt(r)}: Container killed by the ApplicationMaster.",
    ),
    ("DataStreamer Exception", 1, lambda r: "DataStreamer Exception"),
    (
        "Failed to renew lease for [<*>] for <*> seconds. Will retry shortly ...",
        3,
        lambda r: (
            f"Failed to renew lease for [DFSClient_NONMAPREDUCE_{r.randint(10**8, 10**9)}_1] for "
            f"{r.randint(30, 400)} seconds.  Will retry shortly ..."
        ),
    ),
    (
        "JVM with ID : <*> asked for a task",
        2,
        lambda r: f"JVM with ID : jvm_{_APP}_m_{r.randint(2, 14):06d} asked for a task",
    ),
    (
        "JVM with ID: <*> given task: <*>",
        2,
        lambda r: f"JVM with ID: jvm_{_APP}_m_{r.randint(2, 14):06d} given task: {attempt(r)}",
    ),
    (
        "fetcher#<*> about to shuffle output of map <*> decomp: <*> len: <*> to MEMORY",
        4,
        lambda r: (
            f"fetcher#{r.randint(1, 5)} about to shuffle output of map {attempt(r)} decomp: "
            f"{r.randint(10**4, 10**6)} len: {r.randint(10**4, 10**6)} to MEMORY"
        ),
    ),
    ("Resolved <*> to /default-rack", 2, lambda r: f"Resolved {nm_host(r)} to /default-rack"),
    (
        "Shuffle port returned by ContainerManager for <*> : <*>",
        2,
        lambda r: f"Shuffle port returned by ContainerManager for {attempt(r)} : 13562",
    ),
    ("Opening proxy : <*>", 2, lambda r: f"Opening proxy : {nm_host(r)}:{port(r)}"),
]

# -- Spark executors -----------------------------------------------------------------------------


def rdd(r: random.Random) -> str:
    return f"rdd_{r.randint(2, 48)}_{r.randint(0, 40)}"


def size(r: random.Random) -> str:
    return f"{r.uniform(0.1, 900):.1f} {pick(r, 'KB', 'MB', 'B', weights=(6, 3, 1))}"


SPARK: list[Event] = [
    (
        "Running task <*> in stage <*> (TID <*>)",
        18,
        lambda r: f"Running task {r.randint(0, 40)}.0 in stage {r.randint(0, 30)}.0 (TID {r.randint(1, 2000)})",
    ),
    (
        "Finished task <*> in stage <*> (TID <*>). <*> bytes result sent to driver",
        18,
        lambda r: (
            f"Finished task {r.randint(0, 40)}.0 in stage {r.randint(0, 30)}.0 (TID {r.randint(1, 2000)}). "
            f"{r.randint(900, 3000)} bytes result sent to driver"
        ),
    ),
    ("Got assigned task <*>", 14, lambda r: f"Got assigned task {r.randint(1, 2000)}"),
    ("Found block <*> locally", 12, lambda r: f"Found block {rdd(r)} locally"),
    ("Partition <*> not found, computing it", 6, lambda r: f"Partition {rdd(r)} not found, computing it"),
    (
        "Getting <*> non-empty blocks out of <*> blocks",
        5,
        lambda r: f"Getting {r.randint(0, 40)} non-empty blocks out of {r.randint(1, 40)} blocks",
    ),
    (
        "Started <*> remote fetches in <*> ms",
        5,
        lambda r: f"Started {r.randint(0, 10)} remote fetches in {r.randint(0, 9)} ms",
    ),
    (
        "Block <*> stored as values in memory (estimated size <*>, free <*>)",
        6,
        lambda r: (
            f"Block {pick(r, f'broadcast_{r.randint(0, 40)}', rdd(r))} stored as values in memory "
            f"(estimated size {size(r)}, free {size(r)})"
        ),
    ),
    (
        "Block <*> stored as bytes in memory (estimated size <*>, free <*>)",
        5,
        lambda r: (
            f"Block broadcast_{r.randint(0, 40)}_piece0 stored as bytes in memory (estimated size {size(r)}, free {size(r)})"
        ),
    ),
    (
        "Reading broadcast variable <*> took <*> ms",
        5,
        lambda r: f"Reading broadcast variable {r.randint(0, 40)} took {r.randint(1, 300)} ms",
    ),
    ("Started reading broadcast variable <*>", 5, lambda r: f"Started reading broadcast variable {r.randint(0, 40)}"),
    ("Changing view acls to: <*>", 1, lambda r: f"Changing view acls to: {pick(r, 'yarn,curi', 'curi,yarn')}"),
    ("Changing modify acls to: <*>", 1, lambda r: f"Changing modify acls to: {pick(r, 'yarn,curi', 'curi,yarn')}"),
    (
        "SecurityManager: authentication disabled; ui acls disabled; users with view permissions: Set(<*>); "
        "users with modify permissions: Set(<*>)",
        1,
        lambda r: (
            "SecurityManager: authentication disabled; ui acls disabled; users with view permissions: "
            "Set(yarn, curi); users with modify permissions: Set(yarn, curi)"
        ),
    ),
    (
        "Successfully started service '<*>' on port <*>.",
        1,
        lambda r: (
            f"Successfully started service '{pick(r, 'sparkExecutorActorSystem', 'org.apache.spark.network.netty.NettyBlockTransferService')}' on port {port(r)}."
        ),
    ),
    ("Registered signal handlers for [TERM, HUP, INT]", 1, lambda r: "Registered signal handlers for [TERM, HUP, INT]"),
    (
        "Connecting to driver: spark://CoarseGrainedScheduler@<*>",
        1,
        lambda r: f"Connecting to driver: spark://CoarseGrainedScheduler@{ip(r)}:{port(r)}",
    ),
    (
        "Starting executor ID <*> on host <*>",
        1,
        lambda r: f"Starting executor ID {r.randint(1, 30)} on host mesos-slave-{r.randint(1, 30):02d}",
    ),
    (
        "MemoryStore started with capacity <*>",
        1,
        lambda r: f"MemoryStore started with capacity {r.uniform(10, 999):.1f} MB",
    ),
    (
        "Executor is trying to kill task <*> in stage <*> (TID <*>)",
        1,
        lambda r: (
            f"Executor is trying to kill task {r.randint(0, 40)}.0 in stage {r.randint(0, 30)}.0 (TID {r.randint(1, 2000)})"
        ),
    ),
    (
        "Input split: <*>",
        3,
        lambda r: (
            f"Input split: hdfs://10.10.34.11:9000/pjhe/test/{r.randint(1, 9)}/part-{r.randint(0, 99):05d}:"
            f"{r.randint(0, 10**8)}+{r.randint(10**5, 10**8)}"
        ),
    ),
]

# -- Windows CBS / CSI ---------------------------------------------------------------------------


def kb_package(r: random.Random) -> str:
    return f"Package_{pick(r, 'for_KB', '1_for_KB', '2_for_KB')}{r.randint(2500000, 3200000)}~31bf3856ad364e35~amd64~~6.1.{r.randint(1, 4)}.{r.randint(0, 9)}"


def hresult(r: random.Random) -> str:
    code, name = r.choice(
        [
            ("0x800f080d", "CBS_E_MANIFEST_INVALID_ITEM"),
            ("0x80070002", "ERROR_FILE_NOT_FOUND"),
            ("0x800f0805", "CBS_E_INVALID_PACKAGE"),
        ]
    )
    return f"[HRESULT = {code} - {name}]"


def winsxs(r: random.Random) -> str:
    return (
        f"C:\\Windows\\winsxs\\amd64_microsoft-windows-{pick(r, 'servicingstack', 'wcp', 'cbs')}_31bf3856ad364e35_"
        f"6.1.7601.{r.randint(17000, 24000)}_none_{hexs(r, 16)}\\{pick(r, 'cbscore.dll', 'wcp.dll')}"
    )


WINDOWS: list[Event] = [
    (
        "Loaded Servicing Stack v<*> with Core: <*>",
        8,
        lambda r: f"Loaded Servicing Stack v6.1.7601.{r.randint(17000, 24000)} with Core: {winsxs(r)}",
    ),
    (
        "Session: <*> initialized by client <*>.",
        10,
        lambda r: (
            f"Session: {r.randint(10**7, 10**8)}_{r.randint(10**9, 4 * 10**9)} initialized by client "
            f"{pick(r, 'WindowsUpdateAgent', 'DeploymentAgent', weights=(9, 1))}."
        ),
    ),
    (
        "Warning: Unrecognized packageExtended attribute.",
        14,
        lambda r: "Warning: Unrecognized packageExtended attribute.",
    ),
    ("Expecting attribute name <*>", 10, lambda r: f"Expecting attribute name {hresult(r)}"),
    ("Failed to get next element <*>", 10, lambda r: f"Failed to get next element {hresult(r)}"),
    (
        "Read out cached package applicability for package: <*>, ApplicableState: <*>, CurrentState:<*>",
        14,
        lambda r: (
            f"Read out cached package applicability for package: {kb_package(r)}, "
            f"ApplicableState: {pick(r, '112', '80', '0')}, CurrentState:{pick(r, '112', '0')}"
        ),
    ),
    (
        "SQM: Initializing online with Windows opt-in: False",
        2,
        lambda r: "SQM: Initializing online with Windows opt-in: False",
    ),
    (
        "SQM: Cleaning up report files older than <*> days.",
        2,
        lambda r: "SQM: Cleaning up report files older than 10 days.",
    ),
    ("SQM: Requesting upload of all unsent reports.", 2, lambda r: "SQM: Requesting upload of all unsent reports."),
    (
        "SQM: Failed to start upload with file pattern: <*>, flags: <*> <*>",
        2,
        lambda r: (
            "SQM: Failed to start upload with file pattern: "
            f"C:\\Windows\\servicing\\sqm\\*_std.sqm, flags: 0x2 {hresult(r)}"
        ),
    ),
    (
        "SQM: Failed to start standard sample upload. <*>",
        2,
        lambda r: f"SQM: Failed to start standard sample upload. {hresult(r)}",
    ),
    ("Starting TrustedInstaller initialization.", 3, lambda r: "Starting TrustedInstaller initialization."),
    ("Ending TrustedInstaller initialization.", 3, lambda r: "Ending TrustedInstaller initialization."),
    ("Starting the TrustedInstaller main loop.", 3, lambda r: "Starting the TrustedInstaller main loop."),
    ("TrustedInstaller service starts successfully.", 3, lambda r: "TrustedInstaller service starts successfully."),
    (
        "No startup processing required, TrustedInstaller service was not set as autostart",
        3,
        lambda r: "No startup processing required, TrustedInstaller service was not set as autostart",
    ),
    ("Startup processing thread terminated normally", 3, lambda r: "Startup processing thread terminated normally"),
    ("Idle processing thread terminated normally", 3, lambda r: "Idle processing thread terminated normally"),
    ("TI: --- Initializing Trusted Installer ---", 2, lambda r: "TI: --- Initializing Trusted Installer ---"),
    (
        "TI: Last boot time: <*>",
        2,
        lambda r: (
            f"TI: Last boot time: 2016-09-{r.randint(10, 30)} {r.randint(0, 23):02d}:{r.randint(0, 59):02d}:"
            f"{r.randint(0, 59):02d}.{r.randint(0, 999999):06d}"
        ),
    ),
    (
        "Unloading offline registry hive: <*>",
        2,
        lambda r: (
            f"Unloading offline registry hive: {pick(r, 'SOFTWARE', 'SYSTEM', 'COMPONENTS', 'SECURITY', 'DEFAULT')}"
        ),
    ),
    (
        "CSI <*> WcpInitialize (wcp.dll version <*>) called (stack <*>)",
        3,
        lambda r: (
            f"CSI    {r.randint(1, 9):08x}@2016/9/{r.randint(10, 30)}:{r.randint(0, 23)}:{r.randint(0, 59)}:"
            f"{r.randint(0, 59)}.{r.randint(0, 999)} WcpInitialize (wcp.dll version 0.0.0.6) called (stack "
            + " ".join(f"@0x{hexs(r, 11)}" for _ in range(r.randint(4, 8)))
            + ")"
        ),
    ),
    (
        "CSI <*> [SR] Verifying <*> (<*>) components",
        6,
        lambda r: f"CSI    {r.randint(1, 4000):08x} [SR] Verifying 100 (0x{r.randint(0, 10**6):016x}) components",
    ),
    ("CSI <*> [SR] Verify complete", 2, lambda r: f"CSI    {r.randint(1, 4000):08x} [SR] Verify complete"),
    (
        "CSI <*> [SR] Beginning Verify and Repair transaction",
        6,
        lambda r: f"CSI    {r.randint(1, 4000):08x} [SR] Beginning Verify and Repair transaction",
    ),
    (
        "CSI <*> [SR] Repairing <*> components",
        2,
        lambda r: f"CSI    {r.randint(1, 4000):08x} [SR] Repairing {r.randint(1, 3)} components",
    ),
]

# -- Android framework ---------------------------------------------------------------------------

PACKAGES = (
    "com.android.systemui",
    "com.tencent.mm",
    "com.android.phone",
    "com.huawei.android.launcher",
    "com.sina.weibo",
    "com.tencent.qt.qtl",
    "com.android.settings",
    "com.eg.android.AlipayGphone",
)
WAKE_TAGS = ("View Lock", "RILJ", "WindowManager", "*alarm*", "AudioMix", "NetworkStats")


def lock_line(r: random.Random, verb: str) -> str:
    return (
        f"{verb} lock={r.randint(10**8, 3 * 10**8)}, flags=0x{r.choice([1, 0x1A, 0x20000001])}, "
        f'tag="{r.choice(WAKE_TAGS)}", name={r.choice(PACKAGES)}, ws={pick(r, "null", f"WorkSource{{{r.randint(1000, 10999)}}}")}, '
        f"uid={r.randint(1000, 10999)}, pid={r.randint(600, 30000)}"
    )


def token_block(r: random.Random) -> str:
    return (
        f"AppWindowToken{{{hexs(r, 7)} token=Token{{{hexs(r, 7)} ActivityRecord{{{hexs(r, 7)} u0 "
        f"{r.choice(PACKAGES)}/.{pick(r, 'MainActivity', 'ui.LauncherUI', 'video.PlayerActivity')} t{r.randint(100, 999)}}}}}}}"
    )


ANDROID: list[Event] = [
    ("acquire lock=<*>, flags=<*>, tag=<*>, name=<*>, ws=<*>, uid=<*>, pid=<*>", 14, lambda r: lock_line(r, "acquire")),
    ("release lock=<*>, flags=<*>, tag=<*>, name=<*>, ws=<*>, uid=<*>, pid=<*>", 14, lambda r: lock_line(r, "release")),
    (
        'Acquiring suspend blocker "<*>".',
        4,
        lambda r: (
            f'Acquiring suspend blocker "{pick(r, "PowerManagerService.Display", "PowerManagerService.WakeLocks")}".'
        ),
    ),
    (
        'Releasing suspend blocker "<*>".',
        4,
        lambda r: (
            f'Releasing suspend blocker "{pick(r, "PowerManagerService.Display", "PowerManagerService.WakeLocks")}".'
        ),
    ),
    (
        "setSystemUiVisibility vis=<*> mask=<*> oldVal=<*> newVal=<*> diff=<*> fullscreenStackVis=<*> dockedStackVis=<*>, "
        "fullscreenStackBounds=Rect(<*>, <*> - <*>, <*>), dockedStackBounds=Rect(<*>, <*> - <*>, <*>)",
        5,
        lambda r: (
            f"setSystemUiVisibility vis={r.randint(0, 9)} mask={r.randint(1, 9)} oldVal={r.randint(0, 10**8)} "
            f"newVal={r.randint(0, 10**8)} diff={r.randint(0, 10**6)} fullscreenStackVis=0 dockedStackVis=0, "
            "fullscreenStackBounds=Rect(0, 0 - 0, 0), dockedStackBounds=Rect(0, 0 - 0, 0)"
        ),
    ),
    ("Skipping <*> -- going to hide", 6, lambda r: f"Skipping {token_block(r)} -- going to hide"),
    (
        "Start proc <*>:<*>/<*> for service <*>",
        3,
        lambda r: (
            f"Start proc {r.randint(1000, 30000)}:{r.choice(PACKAGES)}:{pick(r, 'push', 'exdevice', 'remote')}/u0a{r.randint(10, 200)} "
            f"for service {r.choice(PACKAGES)}/.{pick(r, 'PushService', 'plugin.exdevice.ExDeviceService')}"
        ),
    ),
    (
        "Process <*> (pid <*>) has died",
        3,
        lambda r: (
            f"Process {r.choice(PACKAGES)}:{pick(r, 'push', 'exdevice', 'remote')} (pid {r.randint(1000, 30000)}) has died"
        ),
    ),
    ("cleanUpApplicationRecord -- <*>", 3, lambda r: f"cleanUpApplicationRecord -- {r.randint(1000, 30000)}"),
    ("getRingerModeInternal", 4, lambda r: "getRingerModeInternal"),
    (
        "visible is <*>",
        3,
        lambda r: f"visible is {pick(r, 'system.time.showampm', 'system.net.wifi', 'system.battery.percent')}",
    ),
    (
        "interceptKeyBeforeQueueing: key <*> , result : <*>",
        3,
        lambda r: f"interceptKeyBeforeQueueing: key {r.choice([24, 25, 26, 3])} , result : {r.randint(0, 1)}",
    ),
    (
        "Displayed <*>: +<*>",
        2,
        lambda r: f"Displayed {r.choice(PACKAGES)}/.MainActivity: +{r.randint(100, 2000)}ms",
    ),
    (
        "printFreezingDisplayLogsopening app wtoken = <*>, allDrawn= <*>, startingDisplayed = <*>, "
        "startingMoved = <*>, isRelaunching = <*>",
        3,
        lambda r: (
            f"printFreezingDisplayLogsopening app wtoken = {token_block(r)}, allDrawn= {pick(r, 'false', 'true')}, "
            f"startingDisplayed =  {pick(r, 'false', 'true')}, startingMoved =  false, isRelaunching =  false"
        ),
    ),
    (
        "Destroying surface Surface(name=<*>) called by <*>",
        2,
        lambda r: (
            f"Destroying surface Surface(name={r.choice(PACKAGES)}/.MainActivity) called by "
            "com.android.server.wm.WindowStateAnimator.destroySurface:2014"
        ),
    ),
    ("mWakefulness=<*>", 2, lambda r: f"mWakefulness={pick(r, 'Awake', 'Asleep', 'Dozing')}"),
    (
        "updateLightsLocked,mLightsEnabled= <*>",
        2,
        lambda r: f"updateLightsLocked,mLightsEnabled= {pick(r, 'true', 'false')}",
    ),
]

# -- HealthApp (component|message) ---------------------------------------------------------------


def details(r: random.Random) -> str:
    return "##".join(str(r.randint(10**3, 10**8)) for _ in range(6))


HEALTHAPP: list[Event] = [
    ("Step_LSC|onStandStepChanged <*>", 22, lambda r: f"Step_LSC|onStandStepChanged {r.randint(3000, 9000)}"),
    (
        "Step_LSC|onExtend:<*> <*> <*> <*>",
        10,
        lambda r: f"Step_LSC|onExtend:{1514038000000 + r.randint(0, 10**6)} {r.randint(0, 20)} 0 {r.randint(0, 9)}",
    ),
    (
        "Step_SPUtils|getTodayTotalDetailSteps = <*>",
        10,
        lambda r: f"Step_SPUtils|getTodayTotalDetailSteps = 1514038{r.randint(0, 999999):06d}##{details(r)}",
    ),
    (
        "Step_SPUtils|setTodayTotalDetailSteps=<*>",
        8,
        lambda r: f"Step_SPUtils|setTodayTotalDetailSteps=1514038{r.randint(0, 999999):06d}##{details(r)}",
    ),
    (
        "Step_ExtSDM|calculateCaloriesWithCache totalCalories=<*>",
        8,
        lambda r: f"Step_ExtSDM|calculateCaloriesWithCache totalCalories={r.randint(10**5, 2 * 10**5)}",
    ),
    (
        "Step_ExtSDM|calculateAltitudeWithCache totalAltitude=<*>",
        8,
        lambda r: f"Step_ExtSDM|calculateAltitudeWithCache totalAltitude={r.randint(200, 300)}",
    ),
    ("Step_StandStepCounter|flush sensor data", 6, lambda r: "Step_StandStepCounter|flush sensor data"),
    (
        "Step_LSC|processHandleBroadcastAction action:<*>",
        5,
        lambda r: (
            "Step_LSC|processHandleBroadcastAction action:android.intent.action."
            + pick(r, "SCREEN_ON", "SCREEN_OFF", "TIME_TICK", "USER_PRESENT")
        ),
    ),
    (
        "Step_StandReportReceiver|onReceive action: <*>",
        4,
        lambda r: (
            "Step_StandReportReceiver|onReceive action: android.intent.action." + pick(r, "SCREEN_ON", "SCREEN_OFF")
        ),
    ),
    (
        "Step_LSC|REPORT : <*> <*> <*> <*>",
        4,
        lambda r: (
            f"Step_LSC|REPORT : {r.randint(5000, 9000)} {r.randint(4000, 6000)} {r.randint(10**5, 2 * 10**5)} {r.randint(200, 300)}"
        ),
    ),
    (
        "HiH_HiHealthDataInsertStore|saveHealthDetailData() deviceID = <*>, size = <*>",
        3,
        lambda r: (
            f"HiH_HiHealthDataInsertStore|saveHealthDetailData() deviceID = {r.randint(1, 3)}, size = {r.randint(1, 30)}"
        ),
    ),
    (
        "HiH_HiSyncControl|getSyncSwitch syncSwitch = <*>",
        2,
        lambda r: f"HiH_HiSyncControl|getSyncSwitch syncSwitch = {r.randint(0, 1)}",
    ),
    (
        "Step_ScreenUtil|screen status unknown,think screen on",
        2,
        lambda r: "Step_ScreenUtil|screen status unknown,think screen on",
    ),
    (
        "HiH_HiAppUtil|getAppName|<*>|<*>",
        2,
        lambda r: (
            f"HiH_HiAppUtil|getAppName|{pick(r, 'com.huawei.health', 'com.huawei.bone', 'com.huawei.wear')}|{r.randint(0, 9)}"
        ),
    ),
    (
        "Step_NotificationUtil|setGoalNotifiShow isShow = <*>",
        2,
        lambda r: f"Step_NotificationUtil|setGoalNotifiShow isShow = {pick(r, 'true', 'false')}",
    ),
]

# -- macOS kernel and daemons --------------------------------------------------------------------


def mac_addr(r: random.Random) -> str:
    return ":".join(hexs(r, 2) for _ in range(6))


def arpt(r: random.Random) -> str:
    return f"ARPT: {r.randint(600000, 700000)}.{r.randint(0, 999999):06d}:"


MAC_PROCESSES = ("com.apple.Addres", "com.apple.WebKit", "Safari", "mdworker", "CalendarAgent", "suggestd")

MAC: list[Event] = [
    ("ARPT: <*>: wl0: MDNS: IPV4 Addr: <*>", 8, lambda r: f"{arpt(r)} wl0: MDNS: IPV4 Addr: {ip(r)}"),
    (
        "ARPT: <*>: wl0: MDNS: IPV6 Addr: <*>",
        8,
        lambda r: f"{arpt(r)} wl0: MDNS: IPV6 Addr: fe80:0:0:0:{hexs(r, 4)}:{hexs(r, 4)}:{hexs(r, 4)}:{hexs(r, 4)}",
    ),
    (
        "ARPT: <*>: wl0: wl_update_tcpkeep_seq: Original Seq: <*>, Ack: <*>, Win size: <*>",
        8,
        lambda r: (
            f"{arpt(r)} wl0: wl_update_tcpkeep_seq: Original Seq: {r.randint(10**8, 4 * 10**9)}, "
            f"Ack: {r.randint(10**8, 4 * 10**9)}, Win size: {r.randint(1000, 9000)}"
        ),
    ),
    (
        "ARPT: <*>: wl0: Roamed or switched channel, reason #<*>, bssid <*>, last RSSI <*>",
        3,
        lambda r: (
            f"{arpt(r)} wl0: Roamed or switched channel, reason #{r.randint(0, 8)}, bssid {mac_addr(r)}, "
            f"last RSSI -{r.randint(40, 90)}"
        ),
    ),
    ("en0: BSSID changed to <*>", 4, lambda r: f"en0: BSSID changed to {mac_addr(r)}"),
    ("en0: channel changed to <*>", 4, lambda r: f"en0: channel changed to {r.choice([1, 6, 11, 36, 44, 149])}"),
    (
        "AppleCamIn::systemWakeCall - messageType = <*>",
        6,
        lambda r: f"AppleCamIn::systemWakeCall - messageType = 0x{pick(r, 'E0000340', 'E0000320', 'E0000280')}",
    ),
    ("AppleCamIn::handleWakeEvent_gated", 4, lambda r: "AppleCamIn::handleWakeEvent_gated"),
    (
        "Sandbox: <*>(<*>) deny(<*>) <*> <*>",
        8,
        lambda r: (
            f"Sandbox: {r.choice(MAC_PROCESSES)}({r.randint(100, 9999)}) deny(1) "
            f"{pick(r, 'network-outbound', 'file-read-data', 'mach-lookup')} "
            f"{pick(r, '/private/var/run/mDNSResponder', '/Library/Preferences/com.apple.security.plist', 'com.apple.nsurlstorage-cache')}"
        ),
    ),
    (
        "network changed: v4(en0:<*>) DNS+ Proxy+ SMB",
        3,
        lambda r: f"network changed: v4(en0:{ip(r)}) DNS+ Proxy+ SMB",
    ),
    (
        "Cocoa scripting error for '<*>': four character codes must be four characters long.",
        3,
        lambda r: (
            f"Cocoa scripting error for '0x{r.randint(0, 16**8):08x}': four character codes must be four characters long."
        ),
    ),
    ("hibernate_setup(<*>) took <*> ms", 2, lambda r: f"hibernate_setup(0) took {r.randint(1, 30)} ms"),
    (
        "IOThunderboltSwitch<<*>>(<*>)::listenerCallback - Thunderbolt HPD packet for route = <*> port = <*> unplug = <*>",
        3,
        lambda r: (
            f"IOThunderboltSwitch<0x{hexs(r, 16)}>(0x0)::listenerCallback - Thunderbolt HPD packet for route = 0x0 "
            f"port = {r.randint(1, 12)} unplug = {r.randint(0, 1)}"
        ),
    ),
    (
        "objc[<*>]: Class <*> is implemented in both <*> and <*>. One of the two will be used. Which one is undefined.",
        2,
        lambda r: (
            f"objc[{r.randint(100, 9999)}]: Class {pick(r, 'AVFAudioSession', 'NSSharingServiceHelper', 'WebKitLegacy')} is implemented "
            f"in both /System/Library/Frameworks/{word(r, 6)}.framework/{word(r, 6)} and "
            f"/usr/lib/{word(r, 5)}.dylib. One of the two will be used. Which one is undefined."
        ),
    ),
    (
        "Setting BTCoex Config: enable_2G:<*>, profile_2g:<*>, enable_5G:<*>, profile_5G:<*>",
        3,
        lambda r: (
            f"Setting BTCoex Config: enable_2G:{r.randint(0, 1)}, profile_2g:0, enable_5G:{r.randint(0, 1)}, profile_5G:0"
        ),
    ),
    (
        "Wake reason: <*>",
        2,
        lambda r: f"Wake reason: {pick(r, 'ARPT (Network)', 'RTC (Alarm)', 'EC.LidOpen (User)', 'XHC1')}",
    ),
    (
        "<*>: CGSSetConnectionProperty failed: <*>",
        1,
        lambda r: (
            f"{pick(r, 'Dock', 'Finder', 'SystemUIServer')}[{r.randint(100, 999)}]: CGSSetConnectionProperty failed: 1000"
        ),
    ),
    (
        "PM response took <*> ms (<*>, <*>)",
        2,
        lambda r: f"PM response took {r.randint(1000, 9000)} ms ({r.randint(20, 90)}, {r.choice(MAC_PROCESSES)})",
    ),
]

# -- Thunderbird-style cluster syslog ------------------------------------------------------------


def node(r: random.Random) -> str:
    return f"{pick(r, 'an', 'bn', 'cn', 'dn', 'en')}{r.randint(1, 999)}"


THUNDERBIRD: list[Event] = [
    ("(root) CMD (run-parts /etc/cron.hourly)", 14, lambda r: "(root) CMD (run-parts /etc/cron.hourly)"),
    (
        "session opened for user <*> by (uid=<*>)",
        12,
        lambda r: f"session opened for user {pick(r, 'root', 'nobody')} by (uid=0)",
    ),
    ("session closed for user <*>", 12, lambda r: f"session closed for user {pick(r, 'root', 'nobody')}"),
    (
        "data_thread() got not answer from any [<*>] datasource",
        10,
        lambda r: (
            f"data_thread() got not answer from any [Thunderbird_{pick(r, 'A', 'B', 'C')}{r.randint(1, 9)}] datasource"
        ),
    ),
    (
        "synchronized to <*>, stratum <*>",
        6,
        lambda r: f"synchronized to {ip(r)}, stratum {r.randint(1, 4)}",
    ),
    (
        "Accepted publickey for root from <*> port <*> ssh2",
        4,
        lambda r: f"Accepted publickey for root from {ip(r)} port {port(r)} ssh2",
    ),
    (
        "ib_sm.x[<*>]: [ib_sm_sweep.c:<*>]: ********************** NEW SWEEP ********************",
        4,
        lambda r: (
            f"ib_sm.x[{r.randint(1000, 30000)}]: [ib_sm_sweep.c:1455]: ********************** NEW SWEEP ********************"
        ),
    ),
    (
        "DHCPREQUEST for <*> (<*>) from <*> via <*>: unknown lease <*>.",
        4,
        lambda r: (
            lambda a: (
                f"DHCPREQUEST for {a} (10.100.0.250) from {mac_addr(r)} via eth{r.randint(0, 1)}: unknown lease {a}."
            )
        )(ip(r)),
    ),
    (
        "DHCPDISCOVER from <*> via <*>: network <*>: no free leases",
        3,
        lambda r: f"DHCPDISCOVER from {mac_addr(r)} via eth{r.randint(0, 1)}: network 10.100.0.0/16: no free leases",
    ),
    (
        "NFS: server <*> not responding, still trying",
        3,
        lambda r: f"NFS: server {pick(r, 'tbird-admin1', 'tbird-sm1', 'fs1')} not responding, still trying",
    ),
    ("NFS: server <*> OK", 3, lambda r: f"NFS: server {pick(r, 'tbird-admin1', 'tbird-sm1', 'fs1')} OK"),
    (
        "Local<*> <*> <*> <*> ... node <*> is down",
        2,
        lambda r: (
            f"Local{r.randint(0, 7)} {pick(r, 'alert', 'crit')} {r.randint(1000, 9999)} {word(r, 4)} ... node {node(r)} is down"
        ),
    ),
    (
        "check pass; user unknown",
        2,
        lambda r: "check pass; user unknown",
    ),
    (
        "authentication failure; logname= uid=<*> euid=<*> tty=NODEVssh ruser= rhost=<*> user=<*>",
        3,
        lambda r: f"authentication failure; logname= uid=0 euid=0 tty=NODEVssh ruser= rhost={node(r)}  user=root",
    ),
    (
        "Error writing to mailbox: <*>",
        1,
        lambda r: f"Error writing to mailbox: /var/spool/mail/{pick(r, 'root', 'sysadm')}",
    ),
    (
        "kernel: e1000: eth<*>: e1000_watchdog: NIC Link is Up <*> Mbps Full Duplex",
        2,
        lambda r: (
            f"kernel: e1000: eth{r.randint(0, 1)}: e1000_watchdog: NIC Link is Up {pick(r, '100', '1000')} Mbps Full Duplex"
        ),
    ),
    (
        "pbs_mom: task_check, cannot tm_reply to <*> task <*>",
        2,
        lambda r: f"pbs_mom: task_check, cannot tm_reply to {r.randint(10**4, 10**5)}.{node(r)} task {r.randint(1, 9)}",
    ),
    (
        "running unknown command: <*>",
        1,
        lambda r: f"running unknown command: {pick(r, 'reboot', 'halt', 'ifup')}",
    ),
]

CORPORA: dict[str, list[Event]] = {
    "sshd": SSHD,
    "hadoop": HADOOP,
    "spark": SPARK,
    "windows": WINDOWS,
    "android": ANDROID,
    "healthapp": HEALTHAPP,
    "mac": MAC,
    "thunderbird": THUNDERBIRD,
}


def generate(events: list[Event], lines: int = 1500, seed: int = 7) -> tuple[list[str], list[str]]:
    """(log lines, expected template of each line), drawn by weight with a fixed seed."""
    rng = random.Random(seed)
    weights = [w for _, w, _ in events]
    out: list[str] = []
    truth: list[str] = []
    for index in rng.choices(range(len(events)), weights=weights, k=lines):
        template, _, make = events[index]
        out.append(make(rng))
        truth.append(template)
    return out, truth
