from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wiretrim.compression import marker
from wiretrim.compression.transforms import by_name
from wiretrim.compression.transforms._api import TransformParams
from wiretrim.compression.transforms.logs import LOGS, Logs

LOSSLESS = TransformParams(level="lossless")
LOSSY = TransformParams(level="balanced", lossy_above_tokens=0)

FIXTURES = Path(__file__).parent / "fixtures" / "logs"
# An HDFS DataNode excerpt: one frequent shape with unique block ids, rare shapes, one warning.
HDFS = (FIXTURES / "hdfs.txt").read_text()
HDFS_EXPECTED = (FIXTURES / "hdfs.expected.txt").read_text()


def syslog() -> str:
    """An sshd/cron syslog: a brute-force run, cron sessions, one kernel line (no levels)."""
    lines = []
    for k in range(60):
        ts = f"Mar  3 06:{25 + k // 20:02d}:{k * 7 % 60:02d}"
        pid = 20811 + 3 * k
        ip = f"203.0.113.{k * 37 % 250 + 1}"
        port = 40000 + k * 131 % 20000
        sshd = f"{ts} web01 sshd[{pid}]:"
        lines.append(f"{sshd} Received disconnect from {ip} port {port}:11: Bye Bye [preauth]")
        if k % 10 == 3:
            lines.append(f"{sshd} Failed password for invalid user admin from {ip} port {port} ssh2")
        if k % 15 == 0:
            cron = f"{ts} web01 CRON[{pid + 1}]: pam_unix(cron:session): session"
            lines.append(f"{cron} opened for user root by (uid=0)")
            lines.append(f"{cron} closed for user root")
    lines.append("Mar  3 06:29:58 web01 kernel: [8812.431201] usb 1-1: new high-speed USB device number 4")
    return "\n".join(lines) + "\n"


def android() -> str:
    """A logcat capture with padded pid/tid columns and single-letter levels."""
    lines = []
    for k in range(40):
        ms = f"{k * 37 % 1000:03d}"
        sec = f"{13 + k // 10:02d}"
        tid = 2514 if k % 3 else 30852
        ts = f"03-17 16:14:{sec}.{ms}"
        lines.append(f"{ts}  2227 {tid:5d} V AudioManager: getStreamVolume  streamType: {k % 9}")
        if k % 4 == 0:
            lines.append(f"{ts}  1702  {1737 + k} I ActivityManager: Start proc {12000 + k}:org.ex/u0a{k}")
        if k % 13 == 5:
            lines.append(
                f"{ts}  1702  2639 W ActivityManager: getTasks: caller 10091 does not hold REAL_GET_TASKS"
            )
    return "\n".join(lines)


APP_LOG_HEAD = "".join(
    f"2024-03-07 14:02:{10 + k:02d},{k * 61 % 1000:03d} INFO  [pool-1-thread-{k % 4}] o.e.kestrel.Handler - "
    f"GET /api/items/{1800 + k * 7} 200 {k % 9 + 3}ms\n"
    for k in range(30)
)
JAVA_TRACE = (
    "2024-03-07 14:02:55,017 ERROR [pool-1-thread-3] o.e.kestrel.Handler - Request failed: GET /api/tree/77\n"
    "java.lang.StackOverflowError: null\n"
    "\tat org.example.kestrel.Tree.depth(Tree.java:88)\n"
    + "\tat org.example.kestrel.Tree.depth(Tree.java:91)\n"
    * 40
    + "\tat org.example.kestrel.Handler.handle(Handler.java:57)\n"
    "\tat java.base/java.lang.Thread.run(Thread.java:1583)\n"
)
APP_LOG_TAIL = "".join(
    f"2024-03-07 14:03:{k:02d},{k * 13 % 1000:03d} INFO  [pool-1-thread-{k % 4}] o.e.kestrel.Handler - "
    f"GET /api/items/{2100 + k * 3} 200 {k % 7 + 2}ms\n"
    for k in range(20)
)
PY_TRACE = """\
2024-03-07 14:04:00,100 ERROR [worker] kestrel.jobs - job 4411 crashed
Traceback (most recent call last):
  File "/srv/kestrel/jobs.py", line 41, in run
    walk(tree)
  File "/srv/kestrel/jobs.py", line 12, in walk
    return walk(node.child)
  File "/srv/kestrel/jobs.py", line 12, in walk
    return walk(node.child)
  File "/srv/kestrel/jobs.py", line 12, in walk
    return walk(node.child)
  File "/srv/kestrel/jobs.py", line 12, in walk
    return walk(node.child)
  [Previous line repeated 993 more times]
RecursionError: maximum recursion depth exceeded
"""


_DEF = re.compile(r"(T[A-Z]|T\d+) = (.*)", re.S)
_ROW = re.compile(r"(T[A-Z]|T\d+)(?: (.*))?", re.S)
_HOLE = re.compile(r"\{(\d*|\*)\}")


def decode(out: str) -> str:
    """Rebuild the source from lossless output: templates, rows and repeat markers."""
    templates: dict[str, str] = {}
    lines: list[str] = []
    for line in out.split("\n"):
        if line.startswith(marker.OPEN) and line.endswith(marker.CLOSE):
            parsed = marker.parse_omitted(marker.find(line)[0])
            if parsed is None:
                continue  # the legend note
            count, unit, where = parsed
            if unit.startswith("repeat"):
                lines.extend([lines[-1]] * count)
            else:
                m = re.search(r"the (\d+) lines above, (\d+) more times", where or "")
                assert m, line
                period, reps = int(m.group(1)), int(m.group(2))
                lines.extend(lines[-period:] * reps)
            continue
        if (m := _DEF.fullmatch(line)) and m.group(1) not in templates:
            templates[m.group(1)] = m.group(2)
            continue
        if (m := _ROW.fullmatch(line)) and m.group(1) in templates:
            template = templates[m.group(1)]
            holes = _HOLE.findall(template)
            own = holes.count("")
            values = (m.group(2) or "").split(" ", own) if own or "*" in holes else []
            own_values, message = values[:own], (values[own] if len(values) > own else "")
            pieces = _HOLE.split(template)
            text = []
            k = 0
            for i, piece in enumerate(pieces):
                if i % 2 == 0:
                    text.append(piece)
                elif piece == "":
                    text.append(own_values[k])
                    k += 1
                elif piece == "*":
                    text.append(message)
                else:
                    text.append(own_values[int(piece) - 1])
            lines.append("".join(text))
            continue
        lines.append(line)
    return "\n".join(lines)


def test_registered_by_name():
    assert by_name("logs") is LOGS


def test_hdfs_golden():
    assert LOGS.apply(HDFS, LOSSLESS) == HDFS_EXPECTED


@pytest.mark.parametrize(
    "text",
    [HDFS, syslog(), android(), APP_LOG_HEAD + JAVA_TRACE + APP_LOG_TAIL, APP_LOG_HEAD + PY_TRACE],
    ids=["hdfs", "syslog", "android", "java", "python"],
)
def test_lossless_round_trip(text):
    out = LOGS.apply(text, LOSSLESS)
    assert len(out) < len(text)
    assert decode(out) == text
    # Every whitespace-delimited token survives whole, in a legend, a row or a kept line.
    assert set(text.split()) <= set(out.split())


@pytest.mark.parametrize("text", [HDFS, syslog(), android()], ids=["hdfs", "syslog", "android"])
def test_detected(text):
    assert LOGS.detect(text) >= 0.8


@pytest.mark.parametrize(
    "text",
    [
        "".join(f"{k:6d}\tdef handler_{k}(request):\n" for k in range(1, 40)),  # cat -n of code
        '{\n  "items": [\n' + "".join(f'    {{"id": {k}, "n": "n{k}"}},\n' for k in range(30)) + "  ]\n}\n",
        "diff --git a/app.py b/app.py\n--- a/app.py\n+++ b/app.py\n@@ -1,3 +1,3 @@\n-x = 1\n+x = 2\n y = 3\n",
        "Flask is a lightweight WSGI web application framework.\n\nIt makes getting started quick.\n" * 5,
        "src/app.py:12:def main():\nsrc/app.py:40:    main()\nsrc/cli.py:7:from app import main\n" * 4,
        "date,open\n" + "".join(f"2024-01-{d:02d} 09:30:00,{100 + d}.5\n" for d in range(1, 28)),
        "| when | user |\n|---|---|\n" + "".join(f"| 2024-01-{d:02d} 10:00 | u{d} |\n" for d in range(1, 28)),
    ],
    ids=["cat-n", "json", "diff", "prose", "grep", "csv", "markdown-table"],
)
def test_not_detected(text):
    assert LOGS.detect(text) < 0.5


def test_first_last_and_errors_stay_whole():
    text = syslog()
    out = LOGS.apply(text, LOSSLESS)
    lines = text.splitlines()
    out_lines = out.splitlines()
    assert lines[0] in out_lines
    assert lines[-1] in out_lines
    # The failure's words stay together (in a legend or in a row), never split into values.
    assert "Failed password for invalid user admin from" in out


def test_warning_message_stays_whole():
    out = LOGS.apply(android(), LOSSLESS)
    assert "getTasks: caller 10091 does not hold REAL_GET_TASKS" in out
    assert "W ActivityManager:" in out


def test_message_without_id_stays_whole():
    # "Start proc 12008:com.example.app/u0a8" has a unique id: it may be split into values.
    # "getStreamVolume  streamType: 4" has none: its words stay together in a header row.
    out = LOGS.apply(android(), LOSSLESS)
    assert "getStreamVolume  streamType: 4" in out


def test_traces_verbatim_and_recursion_collapsed():
    text = APP_LOG_HEAD + JAVA_TRACE + APP_LOG_TAIL
    out = LOGS.apply(text, LOSSLESS)
    assert "java.lang.StackOverflowError: null\n\tat org.example.kestrel.Tree.depth(Tree.java:88)\n" in out
    assert out.count("\tat org.example.kestrel.Tree.depth(Tree.java:91)") == 1
    bodies = [marker.parse_omitted(b) for b in marker.find(out)]
    repeats = [b for b in bodies if b is not None]
    assert repeats == [(39, "repeats of the line above", "lines 35–73")]
    assert "\tat org.example.kestrel.Handler.handle(Handler.java:57)\n" in out


def test_python_traceback_verbatim():
    text = APP_LOG_HEAD + PY_TRACE + APP_LOG_TAIL
    out = LOGS.apply(text, LOSSLESS)
    # Python prints three frames before its own "repeated" note; two of them repeat the first.
    trace_start = out.index("Traceback (most recent call last):")
    assert out[trace_start:].startswith(
        'Traceback (most recent call last):\n  File "/srv/kestrel/jobs.py", line 41, in run\n    walk(tree)\n'
    )
    assert "RecursionError: maximum recursion depth exceeded\n" in out
    assert "  [Previous line repeated 993 more times]\n" in out


def test_kept_terms_stay_verbatim():
    text = syslog()
    line = next(x for x in text.splitlines() if "203.0.113.38 " in x and "disconnect" in x)
    out = LOGS.apply(text, TransformParams(level="lossless", keep_terms=frozenset({"203.0.113.38"})))
    assert line in out.splitlines()


def test_padding_survives_exactly():
    text = android()
    out = LOGS.apply(text, LOSSLESS)
    assert decode(out) == text
    assert any(line.startswith("T") and " = 03-17 {}  2227 " in line for line in out.splitlines())


def test_lossy_runs_leave_markers_and_keep_ends():
    body = "".join(
        f"2024-03-07 14:05:{k:02d},{k * 17 % 1000:03d} INFO  [sched] o.e.Sweeper - sweep done, nothing new\n"
        for k in range(40)
    )
    warn = "".join(
        f"2024-03-07 14:06:{k:02d},{k * 11 % 1000:03d} WARN  [sched] o.e.Sweeper - disk usage above 90%\n"
        for k in range(10)
    )
    text = "2024-03-07 14:04:59,000 INFO  [main] o.e.kestrel.Server - started\n" + body + warn
    out = LOGS.apply(text, LOSSY)
    omitted = [marker.parse_omitted(b) for b in marker.find(out)]
    omitted = [o for o in omitted if o is not None]
    assert omitted == [(38, "TA lines", "lines 3–40")]
    # Warnings are never dropped: nine rows, and the last line of the text kept verbatim.
    warn_rows = [x for x in out.splitlines() if re.fullmatch(r"TB 14:06:\d\d,\d{3}", x)]
    assert len(warn_rows) == 9
    assert out.endswith(warn.splitlines()[-1] + "\n")
    assert "2024-03-07 14:05:39,663 INFO" not in out  # the last dropped row's own text is gone
    assert "TA 14:05:00,000" in out and "TA 14:05:39,663" in out
    lossless = LOGS.apply(text, LOSSLESS)
    assert all(marker.parse_omitted(b) is None for b in marker.find(lossless))
    assert decode(lossless) == text


def test_verbatim_severe_mode_keeps_warning_lines():
    text = android()
    out = Logs(verbatim_severe="always").apply(text, LOSSLESS)
    warnings = [x for x in text.splitlines() if " W ActivityManager:" in x]
    assert warnings
    assert all(w in out.splitlines() for w in warnings)
    assert decode(out) == text


def _worker_log(n_warn: int, n_info: int) -> str:
    lines = [
        f"2024-03-07 14:05:{k % 60:02d},{k:03d} INFO worker-{k % 3}: processed batch {1000 + k} in {k % 7} ms"
        for k in range(n_info)
    ]
    for k in range(n_warn):
        lines.insert(
            3 + 5 * k, f"2024-03-07 14:06:{k:02d},{k:03d} WARN worker-{k % 3}: batch {5000 + k} retried"
        )
    return "\n".join(lines) + "\n"


def test_rare_warnings_stay_verbatim_by_default():
    text = _worker_log(n_warn=3, n_info=60)
    out = LOGS.apply(text, LOSSLESS)
    warnings = [x for x in text.splitlines() if " WARN " in x]
    assert out != text
    assert all(w in out.splitlines() for w in warnings)
    assert decode(out) == text


def test_warnings_that_are_the_bulk_of_a_log_may_become_rows():
    text = _worker_log(n_warn=30, n_info=60)
    out = LOGS.apply(text, LOSSLESS)
    warnings = [x for x in text.splitlines() if " WARN " in x]
    assert not all(w in out.splitlines() for w in warnings)
    assert all(f"batch {5000 + k} retried" in out for k in range(30))  # never dropped, message whole
    assert decode(out) == text
    kept = Logs(verbatim_severe="always").apply(text, LOSSLESS)
    assert all(w in kept.splitlines() for w in warnings)


def test_placeholder_text_is_never_a_template():
    text = "".join(f"2024-03-07 14:05:{k:02d} INFO worker: payload {{}} dropped ({k})\n" for k in range(30))
    out = LOGS.apply(text, LOSSLESS)
    assert decode(out) == text
    assert not any(re.fullmatch(r"T\d+ = .*", x) and "payload {}" in x for x in out.splitlines())


def test_nothing_to_gain_returns_input():
    text = "2024-03-07 14:05:00 INFO started\n2024-03-07 14:05:01 INFO ready\n"
    assert LOGS.apply(text, LOSSY) is text
    assert LOGS.apply("x", LOSSY) == "x"


def test_deterministic_across_processes():
    text = syslog() + android()
    here = LOGS.apply(text, LOSSY)
    code = (
        "import sys\n"
        "from wiretrim.compression.transforms.logs import LOGS\n"
        "from wiretrim.compression.transforms._api import TransformParams\n"
        "params = TransformParams(level='balanced', lossy_above_tokens=0)\n"
        "sys.stdout.write(LOGS.apply(sys.stdin.read(), params))\n"
    )
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run(
            [sys.executable, "-c", code], input=text, capture_output=True, text=True, env=env, check=True
        )
        assert done.stdout == here


def test_ansi_and_redraws_cleaned_first():
    text = "".join(
        f"2024-03-07 14:05:{k:02d} \x1b[32mINFO\x1b[0m fetch: got chunk {k} of job 9f3c{k:04d}a1\n"
        for k in range(20)
    )
    out = LOGS.apply(text, LOSSLESS)
    assert "\x1b" not in out
    assert decode(out) == text.replace("\x1b[32m", "").replace("\x1b[0m", "")


def test_lines_without_header_or_id_keep_their_words():
    # No timestamp, no level: the whole line is the message, and nothing in it is unique.
    text = "".join(f"Running task {k % 5}.0 in stage {k // 5}.0 (TID {k})\n" for k in range(40))
    out = LOGS.apply(text, LOSSLESS)
    for line in text.splitlines():
        assert line in out


def test_warning_with_unique_id_keeps_its_message_whole():
    text = "".join(
        f"2024-03-07 14:05:{k:02d},000 WARN  [io] o.e.Store - slow write of seg-{k:04d}-a7f3c9 took {k}ms\n"
        for k in range(30)
    )
    out = LOGS.apply(text, LOSSLESS)
    assert decode(out) == text
    for k in (1, 17, 28):
        assert f"slow write of seg-{k:04d}-a7f3c9 took {k}ms" in out


def test_crlf_lines_round_trip():
    text = "".join(f"2024-03-07 14:05:{k:02d} INFO worker: got job-{k:05d}-a in {k}ms\r\n" for k in range(30))
    out = LOGS.apply(text, LOSSLESS)
    assert len(out) < len(text)
    assert decode(out) == text


def test_go_panic_stays_verbatim():
    panic = (
        "panic: runtime error: index out of range [5] with length 3\n"
        "\n"
        "goroutine 1 [running]:\n"
        "main.lookup(...)\n"
        "\t/home/dev/kestrel/main.go:12\n"
        "main.main()\n"
        "\t/home/dev/kestrel/main.go:20 +0x1d\n"
        "exit status 2\n"
    )
    text = APP_LOG_HEAD + panic + APP_LOG_TAIL
    out = LOGS.apply(text, LOSSLESS)
    assert panic in out
    assert decode(out) == text


_TOKENS = st.one_of(
    st.integers(0, 99999).map(str),
    st.sampled_from(["INFO", "WARN", "-", "[main]", "foo:", "{}", "{*}", "", "x=1", "TA", "T1", "=", "\tat"]),
)
_LINES = st.lists(st.lists(_TOKENS, min_size=1, max_size=6), min_size=1, max_size=4).flatmap(
    lambda shapes: st.lists(
        st.tuples(st.sampled_from(shapes), st.integers(0, 59), st.sampled_from([" ", "  "])), max_size=40
    )
)


@settings(max_examples=200, deadline=None)
@given(_LINES)
def test_round_trip_property(lines):
    text = "\n".join(f"2024-01-01 10:00:{sec:02d} {sep.join(shape)}" for shape, sec, sep in lines)
    out = LOGS.apply(text, LOSSLESS)
    assert out.strip() or not text.strip()
    assert decode(out) == text
