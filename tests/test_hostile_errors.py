"""Errors a user must be able to act on, from servers and networks that misbehave (outside trial
18: F9 error text lost or mis-hinted, F10 a URL too long retried as a network failure, F19 a
TLS certificate refused and retried as a network failure).

Each test starts raw-socket servers (``hostile_support``); none needs the emulator.
"""

from __future__ import annotations

import gzip
import json
import logging
import os
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Callable

import pytest
from hostile_support import KEY, RawServer, Responder, always, good_body, response, serving

import converz


@pytest.fixture
def serve() -> Iterator[Callable[[Responder], RawServer]]:
    yield from serving()


def fails(client: converz.Client) -> converz.ConverzError:
    with pytest.raises(converz.ConverzError) as info:
        client.calls()
    err = info.value
    assert KEY not in str(err) and KEY not in repr(err)
    return err


# F10 --------------------------------------------------------------------------------------------


def test_a_list_filter_too_long_for_a_url_is_refused_before_any_request(serve, caplog):
    """1500 vendor_call_ids make a ~60 KB URL the HTTP stack cannot send: it was retried 9
    times a page as a "transport error" with network advice. Now InvalidParameterError
    naming the filter, saying how many values fit, and nothing sent."""
    server = serve(lambda request: response("200 OK", good_body(request)))
    ids = [f"vendor-call-{i:06d}-0123456789abcdef0123" for i in range(1_500)]
    client = server.client(retries=8)
    started = time.monotonic()
    with (
        caplog.at_level(logging.WARNING, logger="converz"),
        pytest.raises(converz.InvalidParameterError) as info,
    ):
        client.calls(vendor_call_id=ids)
    assert time.monotonic() - started < 2
    assert server.requests == []
    assert "attempt" not in caplog.text, caplog.text  # nothing retried
    err = info.value
    assert err.parameter == "vendor_call_id"
    assert type(err) is converz.InvalidParameterError
    message = str(err)
    assert "its 1500 values give a request URL of" in message, message
    assert "nothing was sent" in message and "Split the list" in message, message
    assert "replace(vendor_call_id=chunk)" in message, message
    assert "network" not in message and "timeout" not in message, message
    assert err.hint is not None and "split" in err.hint, err.hint
    # The count said to fit does fit: that many of the same ids are sent and answered.
    fit = int(message.split("fetch about ")[1].split(" ")[0])
    assert 1_000 <= fit < 1_500, message
    assert len(client.calls(vendor_call_id=ids[:fit])) == 2
    assert len(server.requests) >= 1


def test_the_command_line_says_a_url_too_long_in_its_own_words(
    serve, monkeypatch, capsys, tmp_path
):
    """The same refusal from `converz fetch`: the filter named as its flag, the advice one a
    shell user can follow, the Python call only as an aside (outside trial 18: Python only)."""
    from converz.__main__ import main

    server = serve(lambda request: response("200 OK", good_body(request)))
    monkeypatch.setenv("CONVERZ_BASE_URL", server.url)
    monkeypatch.setenv("CONVERZ_API_KEY", KEY)
    ids = ",".join(f"vendor-call-{i:06d}-0123456789abcdef0123" for i in range(1_500))
    out = str(tmp_path / "calls.csv")
    assert main(["fetch", "calls", "-o", out, "--vendor-call-id", ids, "-q"]) == 1
    err = capsys.readouterr().err
    assert server.requests == []
    assert "--vendor-call-id" in err and "values at a time and concatenate" in err, err
    assert "(in Python: client.calls(query.replace(vendor_call_id=chunk)) per chunk)" in err, err
    assert "a setting of the Python API" not in err, err
    assert KEY not in err


# F19 --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def self_signed(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """A certificate for the name `elsewhere.invalid`, trusted by nobody."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is needed to make a certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            *(openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"),
            *("-subj", "/CN=elsewhere.invalid", "-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
    )
    return str(cert), str(key)


def serve_tls(cert: str, key: str) -> tuple[int, list[int]]:
    """A TLS server that counts handshakes attempted; returns its port and the counter."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    listener = socket.create_server(("127.0.0.1", 0))
    handshakes: list[int] = []

    def accept() -> None:
        while True:
            conn, _ = listener.accept()
            handshakes.append(1)
            try:
                with context.wrap_socket(conn, server_side=True) as tls:
                    tls.recv(1)
            except (OSError, ssl.SSLError):
                pass

    threading.Thread(target=accept, daemon=True).start()
    return listener.getsockname()[1], handshakes


def test_a_refused_tls_certificate_is_not_retried_nor_blamed_on_the_network(self_signed, caplog):
    cert, key = self_signed
    port, handshakes = serve_tls(cert, key)
    client = converz.Client(
        api_key=KEY, base_url=f"https://127.0.0.1:{port}/api/v1", retries=3, backoff=0.01
    )
    with caplog.at_level(logging.WARNING, logger="converz"):
        err = fails(client)
    assert type(err) is converz.TransportError, repr(err)
    assert "the server's TLS certificate was refused" in str(err), str(err)
    assert "after 1 attempt:" in str(err), str(err)
    assert "retrying" not in caplog.text, caplog.text
    assert len(handshakes) <= 4, handshakes  # the first round of pages, none again
    assert err.hint is not None and "certificate" in err.hint, err.hint
    assert "timeout=" not in err.hint and "base_url" in err.hint, err.hint


def test_https_to_a_plain_http_server_is_said_and_not_retried(caplog):
    """Outside trial 19: "received corrupt message of type InvalidContentType" was retried
    with the hint "raise timeout= for slow links"."""
    from converz.testing import Emulator

    with Emulator(calls=10, reps=2, seed=0) as emu:  # answers a TLS hello with HTTP's 400
        url = emu.url.replace("http://", "https://")
        client = converz.Client(api_key=KEY, base_url=url, retries=3, backoff=0.01)
        with caplog.at_level(logging.WARNING, logger="converz"):
            err = fails(client)
    assert type(err) is converz.TransportError, repr(err)
    assert "the server did not answer in TLS" in str(err), str(err)
    assert "after 1 attempt:" in str(err), str(err)
    assert "retrying" not in caplog.text, caplog.text
    assert err.hint is not None and "https://" in err.hint, err.hint
    assert "timeout=" not in err.hint, err.hint


def test_only_converz_logs_a_refused_tls_certificate(self_signed, caplog):
    # rustls logged its own ERROR line per refused connection (outside trial 18): the
    # TransportError already says it, so the bridge passes only the package's own records.
    cert, key = self_signed
    port, _ = serve_tls(cert, key)
    client = converz.Client(api_key=KEY, base_url=f"https://127.0.0.1:{port}/api/v1", retries=0)
    with caplog.at_level(logging.DEBUG):
        err = fails(client)
    assert type(err) is converz.TransportError, repr(err)
    strangers = [(r.name, r.getMessage()) for r in caplog.records if r.name != "converz"]
    assert strangers == [], strangers


# F9 ---------------------------------------------------------------------------------------------

ERROR = b'{"error":"start_date is after end_date","code":"invalid_parameter"}'


def test_an_error_body_mislabelled_gzip_is_shown_as_sent(serve):
    server = serve(always(response("400 Bad Request", ERROR, "Content-Encoding: gzip")))
    err = fails(server.client())
    assert isinstance(err, converz.InvalidRequestError) and err.code == "invalid_parameter"
    assert "start_date is after end_date" in str(err), str(err)
    assert "labelled Content-Encoding: gzip but is not gzip" in str(err), str(err)


def test_a_cut_gzip_error_body_says_it_was_cut(serve):
    cut = gzip.compress(ERROR)[:20]
    server = serve(always(response("400 Bad Request", cut, "Content-Encoding: gzip")))
    err = fails(server.client())
    assert "cut off or corrupt" in str(err), str(err)


def test_a_whole_gzip_error_body_has_no_note(serve):
    body = gzip.compress(ERROR)
    server = serve(always(response("400 Bad Request", body, "Content-Encoding: gzip")))
    err = fails(server.client())
    assert "start_date is after end_date" in str(err) and "gzip" not in str(err), str(err)


def test_an_error_object_keeps_its_message(serve):
    body = json.dumps(
        {"error": {"message": "n_per_page too large", "field": "n_per_page"}, "code": "bad"}
    ).encode()
    err = fails(serve(always(response("400 Bad Request", body))).client())
    assert "(bad): n_per_page too large" in str(err), str(err)


@pytest.mark.parametrize(
    ("status", "said", "words"),
    [
        ("402 Payment Required", "your subscription expired", "subscription"),
        ("409 Conflict", "a bulk job is running, retry later", "conflicts"),
        ("418 I'm a teapot", "no", "does not document"),
    ],
)
def test_statuses_not_about_a_parameter_are_not_told_to_fix_one(serve, status, said, words):
    body = json.dumps({"error": said, "code": "x"}).encode()
    err = fails(serve(always(response(status, body))).client())
    assert isinstance(err, converz.InvalidRequestError), repr(err)
    assert said in str(err), str(err)
    assert err.hint is not None and "fix the parameter" not in err.hint, err.hint
    assert words in err.hint, err.hint


def test_a_400_is_still_told_to_fix_the_parameter(serve):
    err = fails(serve(always(response("400 Bad Request", ERROR))).client())
    assert err.hint is not None and "fix the parameter" in err.hint, err.hint


@pytest.mark.parametrize("value", ["k\n", "k\r", " k"])
def test_a_bad_key_from_the_environment_names_the_variable(value):
    code = (
        "import converz\n"
        "try:\n"
        "    converz.Client(base_url='http://127.0.0.1:9/api/v1')\n"
        "except converz.InvalidParameterError as err:\n"
        "    print(err.parameter); print(err)\n"
    )
    env = dict(os.environ, CONVERZ_API_KEY=value)
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout
    assert out.startswith("api_key\n"), out
    assert "invalid environment variable CONVERZ_API_KEY" in out, out
    assert "hint: fix CONVERZ_API_KEY" in out, out


@pytest.mark.parametrize("value", ["http://127.0.0.1:9/api/v1\n", "ftp://127.0.0.1:9/api/v1"])
def test_a_bad_base_url_from_the_environment_names_the_variable(value, monkeypatch, capsys):
    """Outside trial 19: it was `base_url` (and `--base-url` in the command line), which the
    user never gave."""
    from converz.__main__ import main

    monkeypatch.setenv("CONVERZ_API_KEY", "k")
    monkeypatch.setenv("CONVERZ_BASE_URL", value)
    with pytest.raises(converz.InvalidParameterError) as info:
        converz.Client()
    err = info.value
    assert err.parameter == "base_url"
    assert str(err).startswith("invalid environment variable CONVERZ_BASE_URL"), str(err)
    assert err.hint is not None and err.hint.startswith("fix CONVERZ_BASE_URL"), err.hint
    assert main(["fetch", "reps", "-o", "-", "-q"]) == 1
    said = capsys.readouterr().err
    assert "invalid environment variable CONVERZ_BASE_URL" in said, said
    assert "api_key=" not in said and "base_url=" not in said, said
    # Given as an argument, the argument is named.
    with pytest.raises(converz.InvalidParameterError) as info:
        converz.Client(base_url=value)
    assert "environment" not in str(info.value), str(info.value)


def test_a_bad_key_passed_as_an_argument_does_not_name_the_variable(monkeypatch):
    monkeypatch.setenv("CONVERZ_API_KEY", "fine-key")
    with pytest.raises(converz.InvalidParameterError) as info:
        converz.Client(api_key="k\n", base_url="http://127.0.0.1:9/api/v1")
    assert info.value.parameter == "api_key"
    assert "environment" not in str(info.value), str(info.value)


# 413 ------------------------------------------------------------------------------------------

TOO_LARGE = b'{"error":"request body too large","code":"too_large"}'


def test_a_body_too_large_is_resumed_in_smaller_chunks(serve, tmp_path, monkeypatch, capsys):
    """Outside trial 19: a chunk answered 413 was told to push the rest with the same
    arguments (and the CLI's resume used the same chunks): it fails the same way."""
    import polars as pl

    from converz.__main__ import main

    server = serve(always(response("413 Payload Too Large", TOO_LARGE)))
    frame = pl.DataFrame({"call_id": list(range(1, 11)), "x": [1] * 10})
    with pytest.raises(converz.PushError) as info:
        server.client().push_updates(frame)
    hint = info.value.hint or ""
    assert "10 rows as too large (HTTP 413" in hint and "chunk_rows=5)" in hint, hint
    with pytest.raises(converz.PushError) as info:
        server.client().push_updates(frame.head(1))
    hint = info.value.hint or ""
    assert "one row as too large" in hint and "chunk_rows=" not in hint, hint
    # The command line: its resume command halves the chunk with --chunk-rows.
    path = tmp_path / "scores.csv"
    frame.write_csv(path)
    monkeypatch.setenv("CONVERZ_BASE_URL", server.url)
    monkeypatch.setenv("CONVERZ_API_KEY", KEY)
    assert main(["push", str(path), "--retries", "0", "-q"]) == 1
    said = capsys.readouterr().err
    assert "push them again in smaller chunks" in said and "--chunk-rows 5" in said, said
    assert KEY not in said


# 400 ------------------------------------------------------------------------------------------


def test_data_the_server_refuses_is_not_said_to_be_pushed_again_as_it_is(tmp_path, capsys):
    """Outside trial 22: a chunk answered 400 invalid_body (a float in an integer column) was
    told to push the rest with the same arguments (the CLI: the same flags), which fails the
    same way every time. The hint now says to fix what the server named first, and that the
    earlier chunk stays applied."""
    import polars as pl

    from converz.__main__ import main
    from converz.testing import Emulator

    with Emulator(calls=40, reps=3, seed=1) as emu:
        client = emu.client(progress=False)
        ids = client.calls(columns=["call_id"]).to_polars()["call_id"].to_list()[:20]
        frame = pl.DataFrame({"call_id": ids, "duration": [60.0] * 19 + [60.5]})
        with pytest.raises(converz.PushError) as info:
            client.push_updates(frame, chunk_rows=10)
        hint = info.value.hint or ""
        assert "refused the data (HTTP 400" in hint and "fix what it names" in hint, hint
        assert "same arguments" not in hint, hint
        result = info.value.result
        assert [c.status for c in result.chunks] == ["applied", "failed"]
        assert result.remaining is not None and result.remaining.num_rows == 10
        applied = client.calls(columns=["call_id", "duration"]).to_polars()
        assert applied.filter(pl.col("call_id").is_in(ids[:10]))["duration"].to_list() == [60] * 10
        # The command line names the file of rows left, and the way to push a corrected input.
        path = tmp_path / "fix.csv"
        frame.write_csv(path)
        env = {"CONVERZ_BASE_URL": emu.url, "CONVERZ_API_KEY": emu.api_key}
        with pytest.MonkeyPatch.context() as mp:
            for name, value in env.items():
                mp.setenv(name, value)
            assert main(["push", str(path), "--chunk-rows", "10", "-q"]) == 1
        said = capsys.readouterr().err
        assert "refused the data (HTTP 400" in said and "fix.remaining.csv" in said, said
        assert "same flags" not in said and "delete" in said, said
        assert emu.api_key not in said
