"""The command line names its own flags in errors, not Python's settings (outside trial 18).

The core words messages and hints for Python (``lower max_concurrency=``, ``raise timeout=``,
``e.g. schema={"m": "float64"}``); the CLI prints them through ``converz._cli_words.for_cli``.
Every hint of ``src/python/errors.rs`` and every message of the core that names a setting
with ``=`` is rendered here for each command, so a hint added later in Python's words fails
until the table knows it.
"""

from __future__ import annotations

import argparse
import logging
import re
import urllib.parse
from pathlib import Path

import polars as pl
import pytest
from hostile_support import KEY, RawServer, Request, response

from converz import _cli
from converz.__main__ import main
from converz._cli_words import FLAGS, for_cli
from converz.testing import Emulator

ROOT = Path(__file__).resolve().parent.parent

# One command line of each kind, parsed by the real parser (its namespace says its flags).
COMMANDS = {
    "fetch calls": ["fetch", "calls", "-o", "x.csv"],
    "fetch reps": ["fetch", "reps", "-o", "x.csv"],
    "fetch report": ["fetch", "report", "-o", "x.csv"],
    "push": ["push", "x.csv"],
    "sync calls": ["sync", "calls", "data"],
}


def parsed(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="converz")
    _cli.add_commands(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(argv)


def rust_texts(path: Path) -> list[str]:
    """The string literals of a Rust file outside its tests, continuation lines joined and
    format placeholders filled (``{name}`` as ``m``, ``{{`` as ``{``)."""
    source = path.read_text().split("#[cfg(test)]")[0]
    # Comments and char literals hold quotes that are not strings' (a doc comment's `"x"`).
    source = re.sub(r"(?m)^\s*//.*$", "", source).replace("'\"'", "")
    texts = []
    for raw in re.findall(r'"((?:[^"\\]|\\.)*)"', source, re.DOTALL):
        text = re.sub(r"\\\n\s*", "", raw).replace('\\"', '"')
        text = re.sub(r"(?<!\{)\{[a-z_:?.0-9]*\}(?!\})", "m", text)
        texts.append(text.replace("{{", "{").replace("}}", "}"))
    return texts


def core_texts() -> list[str]:
    """Every hint of errors.rs, and every core message that names a setting with ``=``."""
    hints = rust_texts(ROOT / "src/python/errors.rs")
    messages = [
        text
        for pattern in ("decode/*.rs", "write/*.rs", "encode/*.rs", "http/*.rs", "*.rs")
        for path in sorted((ROOT / "src").glob(pattern))
        if "test" not in path.name
        for text in rust_texts(path)
        if re.search(r"\b(" + "|".join(FLAGS) + r")=", text)
    ]
    return [text for text in hints if " " in text] + messages


def test_the_core_texts_are_found():
    # The scan above is what the next test relies on: it must see the hints it checks.
    texts = " ".join(core_texts())
    for known in ["lower max_concurrency=", "raise timeout=", 'schema={"m": "float64"}']:
        assert known in texts


@pytest.mark.parametrize("command", list(COMMANDS))
def test_every_core_hint_names_the_commands_flags_or_says_it_has_none(command):
    args = parsed(COMMANDS[command])
    for text in core_texts():
        said = for_cli(text, args)
        assert "retry_after" not in said, said
        assert "api_key=" not in said, said
        left = {
            name
            for name in re.findall(r"(?<![\w.-])([a-z][a-z_]*)=", said)
            if name in FLAGS and "in Python" not in said
        }
        # A setting left as Python spells it is one this command has no flag for, said so.
        for name in left:
            assert not hasattr(args, name), (name, said)
            assert f"this command has no {FLAGS[name]}" in said or FLAGS[name] in said, said


@pytest.mark.parametrize(
    ("text", "command", "said"),
    [
        (
            "hint: lower max_concurrency= (fewer requests at once), or wait before trying again: "
            "retry_after is the server's wait in seconds when it sent a valid Retry-After (else "
            "None)",
            "fetch calls",
            "hint: lower --max-concurrency (fewer requests at once), or wait before trying "
            "again: the message says how long the server asked to wait, if it did",
        ),
        (
            "check base_url and the network; raise timeout= for slow links",
            "sync calls",
            "check --base-url (or CONVERZ_BASE_URL) and the network; raise --timeout for slow "
            "links",
        ),
        (
            "1.5 does not fit Int64 (column `m` is forced to Int64): use a type that keeps"
            ' it, e.g. schema={"m": "float64"}',
            "fetch calls",
            "1.5 does not fit Int64 (column `m` is forced to Int64): use a type that keeps"
            " it, e.g. --schema m:float64",
        ),
        (
            'give --schema a b:string (schema={"a b": "string"}) to push it as text',
            "push",
            "give --schema 'a b:string' to push it as text",
        ),
        (
            "pass a lower page_size= (e.g. page_size=1000)",
            "fetch reps",
            "pass a lower --page-size (e.g. --page-size 1000)",
        ),
        (
            "pass a lower page_size= (e.g. page_size=1000)",
            "fetch report",
            "pass a lower page_size= (e.g. page_size=1000) (page_size=: a setting of the "
            "Python API; this command has no --page-size)",
        ),
        (
            "the client already sends one request at a time (max_concurrency=1): wait",
            "push",
            "the client already sends one request at a time (--max-concurrency 1): wait",
        ),
        (
            'deduplicate, or pass on_duplicate="last" to keep; or push without strict=True',
            "push",
            "deduplicate, or pass --on-duplicate last to keep; or push without --strict",
        ),
        (
            "invalid parameter `max_concurrency`: must be between 1 and 64",
            "fetch calls",
            "invalid parameter `--max-concurrency`: must be between 1 and 64",
        ),
        ("check the API key: pass api_key=... or set CONVERZ_API_KEY", "push", None),
        # The CLI's own hints keep their Python asides as written.
        (
            "push it: converz push 'a(b'.csv --to calls (in Python: client.push_file("
            "'a(b.csv', to='calls', schema={'x': 'string'}))",
            "push",
            None,
        ),
        ("--to (to= in Python) picks the endpoint", "push", None),
        # A path or a URL's query is the user's or the server's text, kept.
        ("cannot read data/to=calls/days=3.csv: no such file", "push", None),
        ("GET /calls?columns=a&timeout=3 answered 400", "fetch calls", None),
    ],
)
def test_python_spellings_become_flags(text, command, said):
    expected = said
    if said is None:
        expected = text.replace("pass api_key=... or set", "set")
    assert for_cli(text, parsed(COMMANDS[command])) == expected


@pytest.fixture(scope="module")
def limited() -> Emulator:
    with Emulator(calls=200, reps=5, seed=2, rate_limit_rate=1.0) as emu:
        yield emu


@pytest.mark.parametrize("concurrency", [None, "1"])
def test_a_rate_limited_fetch_names_the_flag_and_no_attribute(
    limited, monkeypatch, tmp_path, capsys, concurrency
):
    monkeypatch.setenv("CONVERZ_BASE_URL", limited.url)
    monkeypatch.setenv("CONVERZ_API_KEY", limited.api_key)
    argv = ["fetch", "report", "-q", "-o", str(tmp_path / "r.csv"), "--retries", "0"]
    if concurrency is not None:
        argv += ["--max-concurrency", concurrency]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.startswith("converz: error: RateLimitError: "), err
    assert "max_concurrency=" not in err and "retry_after" not in err, err
    # At one request at a time there is nothing to lower (the flag reached the client).
    assert ("lower --max-concurrency" in err) == (concurrency is None), err


def test_a_transport_error_names_the_timeout_flag(monkeypatch, tmp_path, capsys):
    with RefusingPort() as port:
        monkeypatch.setenv("CONVERZ_BASE_URL", f"http://127.0.0.1:{port}/api/v1")
        monkeypatch.setenv("CONVERZ_API_KEY", "k")
        argv = ["fetch", "reps", "-q", "-o", str(tmp_path / "r.csv"), "--retries", "0"]
        assert main([*argv, "--timeout", "2"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("converz: error: TransportError: "), err
    assert "raise --timeout for slow links" in err and "timeout=" not in err, err
    assert "--base-url (or CONVERZ_BASE_URL)" in err, err


@pytest.mark.parametrize(("flag", "value"), [("--timeout", "0"), ("--max-concurrency", "65")])
def test_the_new_flags_reach_the_client_and_are_named_when_refused(
    monkeypatch, tmp_path, capsys, flag, value
):
    monkeypatch.setenv("CONVERZ_BASE_URL", "http://127.0.0.1:9/api/v1")
    monkeypatch.setenv("CONVERZ_API_KEY", "k")
    argv = ["fetch", "reps", "-q", "-o", str(tmp_path / "r.csv"), flag, value]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert f"invalid parameter `{flag}`" in err, err


def test_a_forced_type_that_loses_values_is_told_as_a_schema_flag(tmp_path, monkeypatch, capsys):
    with Emulator(calls=300, reps=5, seed=4) as emu:
        client = emu.client(progress=False)
        ids = client.calls(columns=["call_id"]).to_polars()["call_id"].head(3).to_list()
        client.push_updates(pl.DataFrame({"call_id": ids, "qa_score": [0.5, 1.5, 2.25]}))
        monkeypatch.setenv("CONVERZ_BASE_URL", emu.url)
        monkeypatch.setenv("CONVERZ_API_KEY", emu.api_key)
        argv = ["fetch", "calls", "-q", "-o", str(tmp_path / "c.csv"), "--schema", "qa_score:int64"]
        assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.startswith("converz: error: DecodeError: "), err
    assert "--schema qa_score:" in err and "schema={" not in err, err


@pytest.mark.parametrize(
    ("endpoint", "schema", "said"),
    [
        ("calls", "duraton:int64", "--schema names `duraton`, which is not a documented column"),
        ("report", "nope:int64", "--schema names `nope`, which this report does not return"),
        ("calls", "summary:i4", "--schema summary:i4 (did you mean 'int32'?"),
    ],
)
def test_a_schema_column_or_type_is_named_as_the_flag_gave_it(endpoint, schema, said, tmp_path):
    """Outside trial 20: `schema names 'duraton'` and `schema['summary']: 'i4'`, in Python.
    Run as a user runs it: its warnings reach the terminal through the command's own handler."""
    import os
    import subprocess
    import sys

    with Emulator(calls=50, reps=2, seed=0) as emu:
        env = {**os.environ, "CONVERZ_BASE_URL": emu.url, "CONVERZ_API_KEY": emu.api_key}
        argv = ["fetch", endpoint, "-q", "-o", str(tmp_path / "x.csv"), "--schema", schema]
        run = subprocess.run(
            [sys.executable, "-m", "converz", *argv], env=env, capture_output=True, text=True
        )
    err = run.stderr
    assert said in err, err
    assert "schema names '" not in err and "schema['" not in err, err


class RefusingPort:
    """A loopback port with nothing listening (bound, then closed)."""

    def __enter__(self) -> int:
        import socket

        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        sock.close()
        return port

    def __exit__(self, *exc: object) -> None:
        return None


def test_a_warning_of_the_core_names_the_flag_too(tmp_path, monkeypatch, capsys, caplog):
    # A column that turns to text on a late page: the file's note says how to keep its values
    # as text, "in schema=" in Python, "in --schema" here.
    def respond(request: Request) -> bytes:
        page = urllib.parse.parse_qs(urllib.parse.urlsplit(request.target).query).get("page")
        pages = {"1": b'[{"call_id":1,"x":5}]', "2": b'[{"call_id":2,"x":"a"}]'}
        return response("200 OK", pages.get((page or ["1"])[0], b"[]"))

    server = RawServer(respond)
    try:
        monkeypatch.setenv("CONVERZ_BASE_URL", server.url)
        monkeypatch.setenv("CONVERZ_API_KEY", KEY)
        out = tmp_path / "c.ndjson"
        argv = ["fetch", "calls", "-q", "-o", str(out), "--page-size", "1", "--retries", "0"]
        with caplog.at_level(logging.WARNING, logger="converz"):
            assert main(argv) == 0, capsys.readouterr().err
    finally:
        server.stop()
    notes = [line for line in caplog.messages if "ends as text" in line]
    assert notes and all("in --schema" in line and "schema=" not in line for line in notes), (
        caplog.messages
    )


@pytest.mark.parametrize(
    ("rows", "flags", "said"),
    [
        ("call_id,x\n1,true\n2,1\n", [], "invalid column `x`: column `x` of "),
        ("call_id,x\n1,5\n", ["--schema", "y:int64"], "invalid column `y`: the file has no column"),
    ],
)
def test_a_push_names_a_files_column_not_pythons_schema_key(
    rows, flags, said, tmp_path, monkeypatch, capsys
):
    """Outside trial 20b: ``invalid parameter `schema["x"]` `` for a column of the file."""
    monkeypatch.setenv("CONVERZ_BASE_URL", "http://127.0.0.1:9/api/v1")
    monkeypatch.setenv("CONVERZ_API_KEY", "k")
    path = tmp_path / "f.csv"
    path.write_text(rows)
    assert main(["push", str(path), "--dry-run", *flags]) != 0
    err = capsys.readouterr().err
    assert said in err and 'schema["' not in err, err


def test_sync_names_its_date_flags(monkeypatch, tmp_path, capsys):
    """Outside trial 21b, F16: `converz sync calls DIR --end-date <before the window>` hinted
    "give an end_date on or after ..., or --full-refresh to rebuild ... from start_date"."""
    with Emulator(calls=300, reps=5, seed=4, days=6) as emu:
        monkeypatch.setenv("CONVERZ_BASE_URL", emu.url)
        monkeypatch.setenv("CONVERZ_API_KEY", emu.api_key)
        path = str(tmp_path / "calls")
        assert main(["sync", "calls", path, "--start-date", "2025-01-01", "-q"]) == 0
        capsys.readouterr()
        assert main(["sync", "calls", path, "--end-date", "2025-01-02", "-q"]) == 1
        err = capsys.readouterr().err
    assert "--end-date" in err and "--start-date" in err, err
    assert not re.search(r"\b(end_date|start_date|overlap_days|full_refresh)\b", err), err
