"""`make bench`: what a cold start, a mail, a large routes file and the package cost, each beside
the floor that no Python Lambda doing the same job can beat, measured in the same run.

Prints a table and writes every figure to bench/results.json. Replies by mail add the
webhook function's cold start and answer and the cost of one participant's mail. Targets
are checked and reported, never asserted: a benchmark that fails on a busy machine
would teach people to ignore it. Ratios are what to compare across machines; absolute times
are this machine's.

Cold starts are fresh interpreters, timed from their start to the end of their code (Lambda's
init duration: the process then lives on, so its teardown is not counted), interleaved with
the floor's and the median of every run kept. Warm figures are the median of many calls.

    python -m bench.run [--quick] [--output bench/results.json]
"""

from __future__ import annotations

import argparse
import email
import gc
import json
import logging
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from email.policy import compat32
from pathlib import Path
from typing import Any

import yaml

from bench import mails
from scripts.locks import LOCKS, installed_closure, read_lock

ROOT = Path(__file__).resolve().parent.parent
REGION = "eu-west-1"


@dataclass
class Figure:
    name: str
    value: float
    unit: str
    floor: float | None
    floor_is: str
    target: str
    met: bool | None
    note: str = ""
    # The same measure at several sizes (size label -> value), shown as a table of its own.
    series: dict[str, float] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        return self.value / self.floor if self.floor else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (a smoke run)")
    parser.add_argument("--output", type=Path, default=ROOT / "bench" / "results.json")
    parser.add_argument(
        "--lambda-python",
        type=Path,
        default=os.environ.get("LAMBDA_PYTHON") or None,
        help="a CPython 3.12: cold starts are then also measured from the zip, as Lambda runs it",
    )
    args = parser.parse_args(argv)
    runs = 5 if args.quick else 21
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory() as scratch:
        bench = Bench(Path(scratch), runs, args.lambda_python)
        for section in (
            cold_start,
            lambda_cold_start,
            per_mail,
            html_by_shape,
            routes_scale,
            package_size,
            github_calls,
            burst,
            replies,
        ):
            found = section(bench)
            figures += found
            for figure in found:
                print(_row(figure), flush=True)
    print()
    print(table(figures))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(
        json.dumps(
            {
                "measured": datetime.now(UTC).isoformat(timespec="seconds"),
                "python": platform.python_version(),
                "machine": platform.machine(),
                "cpus": os.cpu_count(),
                "figures": [asdict(f) | {"ratio": f.ratio} for f in figures],
            },
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )
    print(f"\nwritten to {args.output}")
    return 0


@dataclass
class Bench:
    work: Path
    runs: int
    lambda_python: Path | None
    _zips: dict[str, Path] | None = None

    def zips(self) -> dict[str, Path]:
        """The deployment zip as `make package` builds it: without bytecode, and with it when a
        Python 3.12 is at hand."""
        if self._zips is None:
            self._zips = {"sources only": self._package("plain", None)}
            if self.lambda_python:
                self._zips["with 3.12 bytecode"] = self._package("bytecode", self.lambda_python)
        return self._zips

    def _package(self, name: str, python: Path | None) -> Path:
        output = self.work / name / "ticket-router.zip"
        command = [sys.executable, str(ROOT / "scripts" / "package.py"), "--output", str(output)]
        if python:
            command += ["--bytecode-python", str(python)]
        _quietly(command)
        return output


def _quietly(command: list[str]) -> None:
    """Run ``command``; its output (pip's warnings) is shown only if it fails."""
    done = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode:
        sys.stderr.write(done.stdout + done.stderr)
        done.check_returncode()


# --- cold start ------------------------------------------------------------------------------

_FLOOR = "import boto3; boto3.client('s3')"
_FLOOR_IS = "python -c \"import boto3; boto3.client('s3')\""
_LAMBDA_ENV = {
    **{k: v for k, v in os.environ.items() if not k.startswith("PYTHON")},
    "AWS_DEFAULT_REGION": REGION,
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "MAIL_BUCKET": "mail",
    "IDEMPOTENCY_TABLE": "claims",
    "GITHUB_TOKEN_SECRET_ARN": f"arn:aws:secretsmanager:{REGION}:123456789012:secret:t",
}
# What Lambda's init does: import the module, build the runtime (routes loaded and validated,
# the S3 client made; the other clients wait for the first mail that needs them).
_COLD = "from handler import lambda_function; lambda_function.runtime()"
# The same, with every client the function can use made as well (what a posting mail adds).
_COLD_ALL_CLIENTS = (
    "from handler import lambda_function as f; r = f.runtime(); "
    "[f.LazyClient(s).client for s in ('secretsmanager', 'dynamodb')]"
)
_FIRST_MAIL = (
    "from handler import lambda_function as f; from handler.inbound.plan import plan; "
    "import sys; r = f.runtime(); plan(open(sys.argv[1], 'rb').read(), r.routes)"
)


def cold_start(bench: Bench) -> list[Figure]:
    """From the checkout, with the bytecode Python keeps in __pycache__ (a developer's machine)."""
    from handler.routing import routes_json  # noqa: PLC0415 - the bench's own process

    work, runs = bench.work, bench.runs
    sample = work / "routes.json"
    sample.write_text(routes_json((ROOT / "routes.yaml").read_text(), "routes.yaml"))
    large = work / "routes-10000.json"
    large.write_text(routes_json(mails.many_routes(10_000), "routes-10000.yaml"))
    reply = work / "reply.eml"
    reply.write_bytes(mails.reply())
    # Bytecode cached as a developer's machine has it, in a folder of the bench's own.
    env = _LAMBDA_ENV | {"PYTHONPATH": str(ROOT), "PYTHONPYCACHEPREFIX": str(work / "pycache")}
    commands = {
        "floor": ([_FLOOR], {}),
        "init": ([_COLD], {"ROUTES_FILE": str(sample)}),
        "all clients": ([_COLD_ALL_CLIENTS], {"ROUTES_FILE": str(sample)}),
        "first mail": ([_FIRST_MAIL, str(reply)], {"ROUTES_FILE": str(sample)}),
        "10,000 routes": ([_COLD], {"ROUTES_FILE": str(large)}),
    }
    times: dict[str, list[float]] = {name: [] for name in commands}
    for argv, extra in commands.values():
        _process_seconds(argv, env | extra)
    for _ in range(runs):
        # Interleaved, so that whatever else the machine does weighs on every command alike.
        for name, (argv, extra) in commands.items():
            times[name].append(_process_seconds(argv, env | extra))
    floor = statistics.median(times["floor"])
    what = _FLOOR_IS
    return [
        Figure(
            "cold start: import, routes.json, S3 client",
            statistics.median(times["init"]),
            "s",
            floor,
            what,
            "<= 1.25 x floor",
            statistics.median(times["init"]) <= 1.25 * floor,
        ),
        Figure(
            "cold start with every client made",
            statistics.median(times["all clients"]),
            "s",
            floor,
            what,
            "(reported)",
            None,
            "Secrets Manager and DynamoDB clients, made by the first mail that posts",
        ),
        Figure(
            "cold start and a first 20 KB reply planned",
            statistics.median(times["first mail"]),
            "s",
            floor,
            what,
            "(reported)",
            None,
        ),
        Figure(
            "cold start with 10,000 routes",
            statistics.median(times["10,000 routes"]),
            "s",
            floor,
            what,
            "(reported)",
            None,
        ),
    ]


# Printed by the process once its code has run: a Lambda's init ends there, and the process
# lives on, so tearing the interpreter down (longer the more it imported) is no part of it.
# CLOCK_MONOTONIC is one clock for every process of the machine.
_DONE = "; import time as _t; print(_t.monotonic())"


def _process_seconds(
    argv: list[str],
    env: dict[str, str],
    python: Path | str = sys.executable,
    cwd: Path | None = None,
) -> float:
    """From starting the interpreter to the end of ``argv``'s code, as Lambda's init duration.
    ``python -c`` puts the working directory first on the path: from the zip, it must be the
    unzipped task (Lambda's is /var/task), or the checkout's handler/ would be imported."""
    code, *args = argv
    started = time.monotonic()
    done = subprocess.run(  # noqa: S603 - an interpreter of ours, code of ours
        [str(python), "-c", code + _DONE, *args],
        env=env,
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
    )
    return float(done.stdout.split()[-1]) - started


# The webhook and the outbox from the zip: each with the clients its first request makes (the
# webhook makes its three at init; the outbox's first batch reads participants and claims in
# DynamoDB, the webhook secret for unsubscribe links, and sends through SES).
_COLD_OUTBOX_ALL_CLIENTS = (
    "from handler import outbox_function as f; r = f.runtime(); "
    "[f.LazyClient(s).client for s in ('dynamodb', 'secretsmanager', 'ses')]"
)
_REPLIES_ENV = {
    "WORK_QUEUE_URL": f"https://sqs.{REGION}.amazonaws.com/123456789012/work",
    "WEBHOOK_SECRET_ARN": f"arn:aws:secretsmanager:{REGION}:123456789012:secret:w",
    "WEBHOOK_URL": "https://abc.lambda-url.eu-west-1.on.aws/",
}


def lambda_cold_start(bench: Bench) -> list[Figure]:
    """From the deployment zip, under Python 3.12, with /var/task read-only (no bytecode is
    written), beside the floor under the same Python: what Lambda's init runs, with every
    client the first request makes. The mail function from both zips; the webhook, the outbox
    and 10,000 routes from the zip with bytecode, as `make package` builds it for Lambda."""
    if not bench.lambda_python:
        print("no Python 3.12 (LAMBDA_PYTHON): cold starts from the zip not measured")
        return []
    from handler.routing import routes_json  # noqa: PLC0415 - the bench's own process

    runtime = bench.work / "runtime312"
    _quietly([str(bench.lambda_python), "-m", "venv", "--without-pip", str(runtime)])
    # What the Lambda runtime provides: boto3 and what it needs, at the locked versions.
    boto3 = bench.work / "boto3.txt"
    provided = installed_closure({"boto3"})
    boto3.write_text(
        "".join(pin.text + "\n" for pin in read_lock(LOCKS / "runtime.txt") if pin.name in provided)
    )
    _quietly(
        [str(Path(sys.executable).with_name("uv")), "pip", "install", "--quiet", "--require-hashes",
         "--no-deps", "--python", str(runtime / "bin" / "python"), "-r", str(boto3)]
    )  # fmt: skip
    python = runtime / "bin" / "python"
    # The runtime's own packages come with their bytecode, as Lambda's do.
    _quietly([str(python), "-m", "compileall", "-q", str(runtime / "lib")])
    large = bench.work / "routes-10000-zip.json"
    large.write_text(routes_json(mails.many_routes(10_000), "routes-10000.yaml"))
    commands: dict[str, tuple[str, dict[str, str], Path]] = {"floor": (_FLOOR, {}, bench.work)}
    for name, package in bench.zips().items():
        task = bench.work / ("task-" + name.replace(" ", "-"))
        with zipfile.ZipFile(package) as archive:
            archive.extractall(task)
        # /var/task is read-only: nothing compiled at run time is kept.
        env = {"PYTHONPATH": str(task), "PYTHONDONTWRITEBYTECODE": "1"}
        packaged = env | {"ROUTES_FILE": str(task / "routes.json")}
        commands[f"mail {name}"] = (_COLD_ALL_CLIENTS, packaged, task)
        if name == "with 3.12 bytecode":
            commands["webhook"] = (_COLD_WEBHOOK, packaged | _REPLIES_ENV, task)
            commands["outbox"] = (_COLD_OUTBOX_ALL_CLIENTS, packaged | _REPLIES_ENV, task)
            large_routes = env | {"ROUTES_FILE": str(large)}
            commands["10,000 routes"] = (_COLD_ALL_CLIENTS, large_routes, task)
    times: dict[str, list[float]] = {name: [] for name in commands}
    for code, extra, cwd in commands.values():
        _process_seconds([code], _LAMBDA_ENV | extra, python, cwd)
    for _ in range(bench.runs):
        # Interleaved, so that whatever else the machine does weighs on every command alike.
        for name, (code, extra, cwd) in commands.items():
            times[name].append(_process_seconds([code], _LAMBDA_ENV | extra, python, cwd))
    floor = statistics.median(times["floor"])
    what = _FLOOR_IS + " (3.12)"
    wanted = {
        "mail sources only": (
            "mail function cold start from the zip, Python 3.12, sources only, every client",
            None,
            "as Lambda runs a zip without bytecode: nothing can be compiled into /var/task",
        ),
        "mail with 3.12 bytecode": (
            "mail function cold start from the zip, Python 3.12, with 3.12 bytecode, every client",
            1.15,
            "import, routes.json, the S3, Secrets Manager and DynamoDB clients a posted mail uses",
        ),
        "webhook": (
            "webhook cold start from the zip, Python 3.12, with 3.12 bytecode",
            1.20,
            "import, routes.json, its DynamoDB, Secrets Manager and SQS clients",
        ),
        "outbox": (
            "outbox cold start from the zip, Python 3.12, with 3.12 bytecode, every client",
            1.20,
            "import, routes.json, the DynamoDB, Secrets Manager and SES clients a batch uses",
        ),
        "10,000 routes": (
            "mail function cold start from the zip with 10,000 routes, every client",
            1.30,
            "routes.json indexed at `make package`: loaded without validation, each domain "
            "decoded when first looked up",
        ),
    }
    figures = []
    for key, (title, ratio, note) in wanted.items():
        if key not in times:
            continue
        value = statistics.median(times[key])
        figures.append(
            Figure(
                title,
                value,
                "s",
                floor,
                what,
                f"<= {ratio:.2f} x floor" if ratio else "(reported)",
                value <= ratio * floor if ratio else None,
                note,
            )
        )
    return figures


# --- per mail --------------------------------------------------------------------------------

_MAILS: dict[str, tuple[Callable[[], bytes], float, int]] = {
    # name: (builder, target in ms, warm repetitions)
    "20 KB reply": (mails.reply, 2.0, 400),
    "200 KB HTML newsletter": (mails.newsletter, 15.0, 30),
    "10 MB mail with attachments": (mails.attachments, 300.0, 5),
}


def per_mail(bench: Bench) -> list[Figure]:
    from handler.inbound.plan import plan  # noqa: PLC0415
    from handler.routing import parse_routes  # noqa: PLC0415

    routes = parse_routes(mails.ROUTES, "bench")
    figures = []
    for name, (build, target_ms, repetitions) in _MAILS.items():
        raw = build()
        count = max(3, repetitions * bench.runs // 21)
        planned = plan(raw, routes)
        _require([d.reason for d in planned.decisions] == ["accepted"], planned.decisions)
        ours = _warm_seconds(lambda raw=raw: plan(raw, routes), count)
        floor = _warm_seconds(lambda raw=raw: email.message_from_bytes(raw, policy=compat32), count)
        figures.append(
            Figure(
                f"per mail, warm: {name} ({len(raw):,} bytes)",
                ours * 1000,
                "ms",
                floor * 1000,
                "the stdlib's parse of the same bytes (email, compat32)",
                f"< {target_ms:g} ms",
                ours * 1000 < target_ms,
                "parse, authenticate, route, render (plan); no network",
            )
        )
        if len(raw) > 1_000_000:
            peak = _peak_bytes(lambda raw=raw: plan(raw, routes))
            floor_peak = _peak_bytes(lambda raw=raw: email.message_from_bytes(raw, policy=compat32))
            figures.append(
                Figure(
                    f"peak memory: {name}",
                    peak / len(raw),
                    "x mail size",
                    floor_peak / len(raw),
                    "the stdlib's parse of the same bytes",
                    "< 3 x mail size",
                    peak < 3 * len(raw),
                    f"{peak / 1e6:.1f} MB allocated at the peak of plan(), the mail's bytes aside",
                )
            )
    return figures


# HTML-only mail at five sizes per shape: each shape's cost must grow in proportion to its size.
_SHAPE_SIZES = (25_000, 50_000, 100_000, 200_000, 400_000)
_SHAPE_TARGET_MS = 15.0


def html_by_shape(bench: Bench) -> list[Figure]:
    """Every shape of HTML-only mail through plan() at five sizes: the 200 KB mail against its
    target, and the cost per byte at the largest size against the smallest."""
    from handler.inbound.plan import plan  # noqa: PLC0415
    from handler.routing import parse_routes  # noqa: PLC0415

    routes = parse_routes(mails.ROUTES, "bench")
    figures = []
    for shape, build in mails.HTML_SHAPES.items():
        seconds: dict[int, float] = {}
        floors: dict[int, float] = {}
        for size in _SHAPE_SIZES:
            raw = mails.html_mail(build(size), f"A {shape}")
            planned = plan(raw, routes)
            _require([d.reason for d in planned.decisions] == ["accepted"], planned.decisions)
            count = max(3, bench.runs * 100_000 // (size * 7))
            seconds[size] = _warm_seconds(lambda raw=raw: plan(raw, routes), count)
            floors[size] = _warm_seconds(
                lambda raw=raw: email.message_from_bytes(raw, policy=compat32), count
            )
        ms = seconds[200_000] * 1000
        figures.append(
            Figure(
                f"HTML mail, warm: {shape}, 200 KB",
                ms,
                "ms",
                floors[200_000] * 1000,
                "the stdlib's parse of the same bytes (email, compat32)",
                f"<= {_SHAPE_TARGET_MS:g} ms",
                ms <= _SHAPE_TARGET_MS,
                series={f"{size // 1000} KB": seconds[size] * 1000 for size in _SHAPE_SIZES},
            )
        )
        small, large = _SHAPE_SIZES[0], _SHAPE_SIZES[-1]
        growth = (seconds[large] / large) / (seconds[small] / small)
        figures.append(
            Figure(
                f"HTML mail: {shape}, cost per byte at {large // 1000} KB / at {small // 1000} KB",
                growth,
                "x",
                1.0,
                "linear: the same cost per byte at every size",
                "<= 1.5 x",
                growth <= 1.5,
            )
        )
    return figures


def _warm_seconds(run: Callable[[], object], count: int) -> float:
    run()
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        run()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def _peak_bytes(run: Callable[[], object]) -> int:
    gc.collect()
    tracemalloc.start()
    try:
        run()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


# --- replies by mail --------------------------------------------------------------------------

# The webhook function's init: import, routes, its three clients (made at once: a delivery
# needs them all, and GitHub waits 10 s at most).
_COLD_WEBHOOK = "from handler import webhook_function as f; f.runtime()"


def replies(bench: Bench) -> list[Figure]:
    """The webhook's cold start and answer, and the cost of one participant's mail."""
    from handler.routing import routes_json  # noqa: PLC0415 - the bench's own process

    sample = bench.work / "routes.json"
    sample.write_text(routes_json((ROOT / "routes.yaml").read_text(), "routes.yaml"))
    env = _LAMBDA_ENV | {
        "PYTHONPATH": str(ROOT),
        "PYTHONPYCACHEPREFIX": str(bench.work / "pycache"),
        "ROUTES_FILE": str(sample),
        "WORK_QUEUE_URL": f"https://sqs.{REGION}.amazonaws.com/123456789012/work",
        "WEBHOOK_SECRET_ARN": f"arn:aws:secretsmanager:{REGION}:123456789012:secret:w",
    }
    floor_times, cold_times = [], []
    _process_seconds([_COLD_WEBHOOK], env)
    for _ in range(bench.runs):
        floor_times.append(_process_seconds([_FLOOR], env))
        cold_times.append(_process_seconds([_COLD_WEBHOOK], env))
    floor, cold = statistics.median(floor_times), statistics.median(cold_times)
    answer = _warm_seconds(_webhook_delivery(), 200)
    mail = _warm_seconds(_participant_mail(), 200)
    return [
        Figure(
            "webhook cold start: import, routes.json, 3 clients",
            cold,
            "s",
            floor,
            _FLOOR_IS,
            "(reported): GitHub waits 10 s",
            None,
        ),
        Figure(
            "webhook answer to a signed comment, warm",
            answer * 1000,
            "ms",
            None,
            "no floor: our own code, nothing to compare with",
            "< 10 s with AWS's calls (reported)",
            None,
            "signature, JSON, routes, work item; AWS replaced by in-memory fakes",
        ),
        Figure(
            "one participant's mail rendered (Markdown, text and HTML)",
            mail * 1000,
            "ms",
            None,
            "no floor: our own code, nothing to compare with",
            "(reported)",
            None,
        ),
    ]


def _webhook_delivery() -> Callable[[], object]:
    """One real GitHub comment delivery through handler.service.webhook.receive, AWS faked."""
    import hashlib  # noqa: PLC0415
    import hmac  # noqa: PLC0415

    from handler.outbound.http import Request  # noqa: PLC0415
    from handler.outbound.participants import NoParticipants  # noqa: PLC0415
    from handler.outbound.signatures import owner_secret  # noqa: PLC0415
    from handler.outbound.webhook import Remembered  # noqa: PLC0415
    from handler.routing import load_routes  # noqa: PLC0415
    from handler.service.webhook import Webhook, receive  # noqa: PLC0415

    payload = json.loads(
        (ROOT / "tests" / "github" / "webhooks" / "issue_comment.created.1.json").read_text()
    )
    payload["repository"]["full_name"] = "example-org/website"
    body = json.dumps(payload).encode()
    secret = b"bench secret"
    headers = {
        "content-type": "application/json",
        "x-github-event": "issue_comment",
        "x-github-delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958",
        "x-hub-signature-256": "sha256="
        + hmac.new(owner_secret(secret, "example-org").encode(), body, hashlib.sha256).hexdigest(),
    }
    request = Request("POST", "/", "", headers, body)
    routes = load_routes(ROOT / "routes.yaml")

    class Fakes:
        def get(self) -> bytes:
            return secret

        def refreshed(self) -> bytes | None:
            return None

        def once(self, delivery: str, work: Callable[[], None]) -> Remembered:
            work()
            return Remembered(fresh=True)

        def send(self, body: str) -> None:
            return None

    fakes = Fakes()
    # The example comment is from 2019: the clock is set to just after it.
    created = datetime.fromisoformat(payload["comment"]["created_at"].replace("Z", "+00:00"))
    moment = created.timestamp() + 1

    def run() -> object:
        outcome = receive(
            request,
            Webhook(
                routes=routes,
                secret=fakes,
                deliveries=fakes,
                queue=fakes,
                participants=NoParticipants(),
                clock=lambda: moment,
            ),
        )
        _require(outcome.reason == "queued", outcome.reason)
        return outcome

    return run


def _participant_mail() -> Callable[[], object]:
    from handler.outbound.update_mail import Update, render_update  # noqa: PLC0415

    text = (ROOT / "README.md").read_text()[:4000]
    update = Update(
        "comment",
        "example-org/website",
        45,
        "Printer on floor 3",
        "https://github.com/example-org/website/issues/45",
        "maintainer",
        text,
        "https://github.com/example-org/website/issues/45#issuecomment-1",
    )

    def run() -> object:
        return render_update(
            update,
            to="alice@example.com",
            from_address="web-45@issues.example.com",
            project="Example website",
            in_reply_to="a1@example.com",
            subject="Re: Printer on floor 3",
            message_id="update.0123456789abcdef01234567@issues.example.com",
            unsubscribe_url="https://abc.lambda-url.eu-west-1.on.aws/unsubscribe?r=x",
            unsubscribe_mailto="mailto:web-45+unsubscribe@issues.example.com?subject=unsubscribe",
            now=time.time(),
        )

    return run


# --- routes at scale -------------------------------------------------------------------------


def routes_scale(bench: Bench) -> list[Figure]:
    from handler.routing import Target, load_routes, routes_json  # noqa: PLC0415

    work, runs = bench.work, bench.runs
    text = mails.many_routes(10_000)
    source = work / "routes-10000.yaml"
    source.write_text(text)
    packaged = work / "routes-10000.json"
    packaged.write_text(routes_json(text, str(source)))
    count = max(3, runs // 4)
    json_load = _warm_seconds(lambda: load_routes(_uncached(packaged)), count)
    json_floor = _warm_seconds(lambda: json.loads(packaged.read_text()), count)
    yaml_load = _warm_seconds(lambda: load_routes(_uncached(source)), 2)
    yaml_floor = _warm_seconds(lambda: yaml.load(text, Loader=yaml.CSafeLoader), 2)
    figures = [
        Figure(
            "10,000 routes: load routes.json (the Lambda: format and digest checked)",
            json_load * 1000,
            "ms",
            json_floor * 1000,
            "json.loads of the same file",
            "< 300 ms",
            json_load < 0.3,
            "validated by `make package`; each domain decoded when first looked up",
        ),
        Figure(
            "10,000 routes: load and validate routes.yaml (check, make package)",
            yaml_load * 1000,
            "ms",
            yaml_floor * 1000,
            "PyYAML's C loader reading the same file",
            "(reported)",
            None,
            "YAML parsing is most of it: the function reads the JSON form",
        ),
    ]
    lookups: dict[int, float] = {}
    for size in (10, 1_000, 10_000):
        routes = load_routes(
            _write(work / f"r{size}.json", routes_json(mails.many_routes(size), "r"))
        )
        addresses = [
            f"{prefix}{n + 1}@issues.project{n % max(1, size // 4)}.example.org"
            for n, prefix in zip(range(4000), ["", "web-", "api-", "docs-"] * 1000, strict=True)
        ]
        _require(all(isinstance(routes.lookup(a), Target) for a in addresses), size)
        lookups[size] = _per_call(
            lambda routes=routes, addresses=addresses: [routes.lookup(a) for a in addresses], 4000
        )
    table = {f"issues.project{n}.example.org": n for n in range(2500)}
    domains = [f"issues.project{n % 2500}.example.org" for n in range(4000)]
    dict_floor = _per_call(lambda: [table.get(d) for d in domains], 4000)
    for size, seconds in lookups.items():
        figures.append(
            Figure(
                f"lookup among {size:,} routes",
                seconds * 1e6,
                "us",
                dict_floor * 1e6,
                "one dict.get of the domain",
                "< 20 us, flat in the number of routes",
                seconds < 20e-6 and seconds < 2 * lookups[10],
            )
        )
    return figures


def _uncached(path: Path) -> Path:
    """``path``, with the caches a load fills emptied: a cold start begins with them empty."""
    from handler.routing import checks, domains  # noqa: PLC0415

    domains._normalize.cache_clear()
    checks.sender_entry.cache_clear()
    return path


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def _per_call(run: Callable[[], object], calls: int) -> float:
    return min(_warm_seconds(run, 5) for _ in range(3)) / calls


# --- package ---------------------------------------------------------------------------------


def package_size(bench: Bench) -> list[Figure]:
    own = bench.work / "own.zip"
    with zipfile.ZipFile(own, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in sorted((ROOT / "handler").rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                archive.write(path, path.relative_to(ROOT).as_posix())
    figures = []
    for name, package in bench.zips().items():
        size = package.stat().st_size
        with zipfile.ZipFile(package) as archive:
            biggest = _largest_tops(archive)
            compiled = sum(1 for entry in archive.namelist() if entry.endswith(".pyc"))
        figures.append(
            Figure(
                f"deployment zip, {name}",
                size / 1e6,
                "MB",
                own.stat().st_size / 1e6,
                "handler/ alone, zipped",
                "< 2 MB",
                size < 2_000_000,
                "largest: "
                + ", ".join(f"{top} {kb} KB" for top, kb in biggest)
                + (f"; {compiled} .pyc files" if compiled else ""),
            )
        )
    return figures + package_unpacking(bench, own)


def _largest_tops(archive: zipfile.ZipFile) -> list[tuple[str, int]]:
    sizes: dict[str, int] = {}
    for info in archive.infolist():
        top = info.filename.split("/", 1)[0]
        sizes[top] = sizes.get(top, 0) + info.compress_size
    return [
        (name, round(size / 1000)) for name, size in sorted(sizes.items(), key=lambda i: -i[1])
    ][:4]


# Lambda copies a zip function's code before its init and publishes no rate for it: the figure
# of download + unzip + init assumes this one, and its note gives the rate above which the zip
# with bytecode (larger, but nothing compiled at init) is the faster one.
_DOWNLOAD_MB_PER_S = 50.0


def package_unpacking(bench: Bench, own: Path) -> list[Figure]:
    """Each zip's own unzip time (Python's zipfile into a fresh folder each run) beside
    handler/ alone zipped; with a Python 3.12 (lambda_cold_start made its runtime, with boto3),
    download + unzip + init with every client of each zip, unzip and init measured together
    run by run, the zip with bytecode beside the zip of sources only."""
    zips = bench.zips()
    runtime = bench.work / "runtime312" / "bin" / "python"
    unzip: dict[str, list[float]] = {name: [] for name in [*zips, "own"]}
    total: dict[str, list[float]] = {name: [] for name in zips}
    for run in range(bench.runs):
        for name, package in [*zips.items(), ("own", own)]:
            task = bench.work / f"unzip-{run}-{name.replace(' ', '-')}"
            started = time.monotonic()
            with zipfile.ZipFile(package) as archive:
                archive.extractall(task)
            unzip[name].append(time.monotonic() - started)
            if name in total and runtime.exists():
                total[name].append(unzip[name][-1] + _init_seconds(runtime, task))
            shutil.rmtree(task)
    floor = statistics.median(unzip["own"])
    figures = [
        Figure(
            f"unzip of the deployment zip, {name}",
            statistics.median(unzip[name]),
            "s",
            floor,
            "unzip of handler/ alone, zipped",
            "reported",
            None,
            f"{zips[name].stat().st_size / 1e6:.2f} MB, Python's zipfile (Lambda unzips natively)",
        )
        for name in zips
    ]
    if not all(total.values()) or len(total) < 2:
        return figures
    sizes = {name: package.stat().st_size / 1e6 for name, package in zips.items()}
    seconds = {name: statistics.median(times) for name, times in total.items()}
    compiled, plain = "with 3.12 bytecode", "sources only"
    saved = seconds[plain] - seconds[compiled]
    extra = sizes[compiled] - sizes[plain]
    pays = f"above {extra / saved:.0f} MB/s" if saved > 0 else "never"
    value = seconds[compiled] + sizes[compiled] / _DOWNLOAD_MB_PER_S
    floor = seconds[plain] + sizes[plain] / _DOWNLOAD_MB_PER_S
    return [
        *figures,
        Figure(
            f"download + unzip + init from the zip, Python 3.12, {compiled}",
            value,
            "s",
            floor,
            f"the same, {plain}",
            "< floor",
            value < floor,
            f"download at an assumed {_DOWNLOAD_MB_PER_S:.0f} MB/s; the bytecode's "
            f"{extra:.2f} MB more pay for themselves {pays}",
        ),
    ]


def _init_seconds(python: Path, task: Path) -> float:
    """Lambda's init with every client from the unzipped ``task``."""
    env = {"PYTHONPATH": str(task), "PYTHONDONTWRITEBYTECODE": "1"}
    env["ROUTES_FILE"] = str(task / "routes.json")
    return _process_seconds([_COLD_ALL_CLIENTS], _LAMBDA_ENV | env, python, task)


# --- GitHub requests per comment -------------------------------------------------------------


def github_calls(bench: Bench) -> list[Figure]:
    """One SES event through the whole Lambda path against a local GitHub: count requests."""
    with _deployed(bench.work) as (server, invoke):
        fresh = invoke(age_seconds=0)
        fresh_requests = [(r.method, r.path) for r, _ in server.log]
        server.clear_log()
        later = invoke(age_seconds=600, key="inbound/later")
        later_requests = [(r.method, r.path) for r, _ in server.log]
    _require(fresh == ["posted"] and later == ["posted"], (fresh, later))
    return [
        Figure(
            "GitHub requests for a posted comment (first delivery)",
            len(fresh_requests),
            "requests",
            1,
            "the one POST that creates the comment",
            "exactly 1",
            fresh_requests == [("POST", "/repos/example-org/app/issues/7/comments")],
            " ".join(f"{m} {p}" for m, p in fresh_requests),
        ),
        Figure(
            "GitHub requests for a redelivered or replayed mail",
            len(later_requests),
            "requests",
            1,
            "the one POST that creates the comment",
            "(reported)",
            None,
            "looks for its own marker first, so a retry cannot post twice: "
            + " ".join(f"{m} {p.split('?')[0]}" for m, p in later_requests),
        ),
    ]


def burst(bench: Bench) -> list[Figure]:
    """5,000 mails at once through the mail queue, two containers, GitHub at 80 POSTs a minute
    with two retry-after windows of its own: how close the burst comes to the ceiling, in
    simulated time (tests.burst; moto's DynamoDB and the loopback GitHub)."""
    import boto3  # noqa: PLC0415
    from moto import mock_aws  # noqa: PLC0415
    from pytest_httpserver import HTTPServer  # noqa: PLC0415

    from tests.burst import Burst, run  # noqa: PLC0415
    from tests.dynamo import create_claims_table  # noqa: PLC0415

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    mails = 1000 if bench.runs < 21 else 5000
    holds = ((mails // 5, 60), (mails * 3 // 5, 90))
    server = HTTPServer(host="127.0.0.1", port=0)
    server.start()
    saved = dict(os.environ)
    os.environ.update(
        AWS_DEFAULT_REGION=REGION,
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",  # noqa: S106 - moto's
    )
    try:
        with mock_aws():
            dynamodb = boto3.client("dynamodb", region_name=REGION)
            create_claims_table(dynamodb)
            outcome = run(Burst(mails, holds=holds), dynamodb=dynamodb, server=server)
    finally:
        os.environ.clear()
        os.environ.update(saved)
        server.stop()
    _require(outcome.posted_once == mails and outcome.dead_letters == 0, outcome.retried)
    held = sum(end - start for start, end in outcome.windows)
    return [
        Figure(
            f"burst of {mails:,} mails, 2 containers: mails posted per minute",
            outcome.per_minute,
            "mails/min",
            80,
            "GitHub's ceiling: 80 content-creating requests a minute",
            "(reported)",
            None,
            f"{outcome.seconds / 60:.1f} simulated minutes, {held:.0f} s of them in GitHub's own "
            f"retry-after windows; {outcome.busiest_minute} POSTs in the busiest minute, "
            f"{len(outcome.posts_in_windows)} inside a window, {len(outcome.duplicated)} "
            f"duplicated, {outcome.dead_letters} dead-lettered, {outcome.handed_back} messages "
            f"handed back to the queue ({dict(outcome.retried)})",
        )
    ]


@contextmanager
def _deployed(work: Path) -> Iterator[tuple[Any, Callable[..., list[str]]]]:
    import boto3  # noqa: PLC0415
    from moto import mock_aws  # noqa: PLC0415
    from pytest_httpserver import HTTPServer  # noqa: PLC0415

    # The local GitHub's request log would interleave with the table.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    comments = "/repos/example-org/app/issues/7/comments"
    server = HTTPServer(host="127.0.0.1", port=0)
    server.expect_request(comments, method="POST").respond_with_json(
        {"id": 1, "html_url": "https://github.com/example-org/app/issues/7#issuecomment-1"},
        status=201,
    )
    server.expect_request(comments, method="GET").respond_with_json([])
    server.start()
    saved = dict(os.environ)
    os.environ.update(
        AWS_DEFAULT_REGION=REGION,
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",  # noqa: S106 - moto's
        MAIL_BUCKET="mail",
        MAIL_PREFIX="inbound/",
        GITHUB_API_URL=server.url_for("/"),
        ROUTES_FILE=str(_write(work / "github-routes.yaml", mails.ROUTES)),
        POWERTOOLS_METRICS_DISABLED="true",
        LOG_LEVEL="WARNING",
    )
    # Imported once LOG_LEVEL is set: its decision log would print every post.
    from handler import lambda_function  # noqa: PLC0415

    try:
        with mock_aws():
            s3 = boto3.client("s3", region_name=REGION)
            s3.create_bucket(
                Bucket="mail", CreateBucketConfiguration={"LocationConstraint": REGION}
            )
            secret = boto3.client("secretsmanager", region_name=REGION).create_secret(
                Name="token", SecretString="ghp_bench0123456789"
            )
            os.environ["GITHUB_TOKEN_SECRET_ARN"] = secret["ARN"]
            lambda_function.runtime.cache_clear()

            def invoke(*, age_seconds: float, key: str = "inbound/first") -> list[str]:
                # Each on a fresh container: without a table, its posting records are its own.
                lambda_function.runtime.cache_clear()
                s3.put_object(Bucket="mail", Key=key, Body=mails.reply())
                event = _ses_event(key.rsplit("/", 1)[1], time.time() - age_seconds)
                result = lambda_function.lambda_handler(event, _Context())
                return [d["reason"] for d in result["decisions"]]

            yield server, invoke
    finally:
        lambda_function.runtime.cache_clear()
        os.environ.clear()
        os.environ.update(saved)
        server.stop()


def _ses_event(message_id: str, received: float) -> dict[str, Any]:
    stamp = datetime.fromtimestamp(received, UTC).isoformat(timespec="milliseconds")
    verdict = {"status": "PASS"}
    return {
        "Records": [
            {
                "eventSource": "aws:ses",
                "eventVersion": "1.0",
                "ses": {
                    "mail": {
                        "timestamp": stamp.replace("+00:00", "Z"),
                        "source": "alice@example.com",
                        "messageId": message_id,
                        "destination": ["7@issues.example.com"],
                    },
                    "receipt": {
                        "timestamp": stamp.replace("+00:00", "Z"),
                        "recipients": ["7@issues.example.com"],
                        "spamVerdict": verdict,
                        "virusVerdict": verdict,
                        "spfVerdict": verdict,
                        "dkimVerdict": verdict,
                        "dmarcVerdict": verdict,
                        "action": {"type": "Lambda", "invocationType": "Event"},
                    },
                },
            }
        ]
    }


class _Context:
    function_name = "ticket-router"
    memory_limit_in_mb = 1024
    invoked_function_arn = f"arn:aws:lambda:{REGION}:123456789012:function:ticket-router"
    aws_request_id = "bench"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


def _require(condition: bool, what: object) -> None:
    """The bench measures working code only: a mail not accepted, a lookup missing is a bug."""
    if not condition:
        raise RuntimeError(f"the benchmark's own check failed: {what}")


# --- output ----------------------------------------------------------------------------------


def _number(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def _row(figure: Figure) -> str:
    ratio = f"{figure.ratio:.2f} x" if figure.ratio is not None else ""
    floor = _number(figure.floor) if figure.floor is not None else ""
    met = {True: "met", False: "MISSED", None: ""}[figure.met]
    return (
        f"{figure.name:<62} {_number(figure.value):>10} {figure.unit:<12} {floor:>9} {ratio:>8}  "
        f"{figure.target:<26} {met}"
    )


def table(figures: list[Figure]) -> str:
    header = (
        f"{'figure':<62} {'ours':>10} {'unit':<12} {'floor':>9} {'ratio':>8}  {'target':<26} result"
    )
    lines = [header, "-" * len(header)]
    for figure in figures:
        lines.append(_row(figure))
    lines.append("")
    lines.append("floors:")
    for floor_is in dict.fromkeys(f.floor_is for f in figures):
        names = [f.name.split(":")[0] for f in figures if f.floor_is == floor_is]
        lines.append(f"  {floor_is}  ({', '.join(dict.fromkeys(names))})")
    series = [f for f in figures if f.series]
    if series:
        sizes = list(dict.fromkeys(size for f in series for size in f.series))
        lines += ["", f"{'by size':<62} " + " ".join(f"{size:>9}" for size in sizes)]
        for figure in series:
            cells = [_number(figure.series[s]) if s in figure.series else "" for s in sizes]
            label = figure.name.rsplit(",", 1)[0]
            lines.append(f"{label:<62} " + " ".join(f"{cell:>9}" for cell in cells))
    notes = [f"  {f.name}: {f.note}" for f in figures if f.note]
    if notes:
        lines += ["", "notes:", *notes]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
