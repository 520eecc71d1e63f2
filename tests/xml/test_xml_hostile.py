"""Hostile and broken bodies: each is refused with precise problems, and nothing is read.

XXE tests run the parser in a child process: if libxml2 ever opened the FIFO or
connected to the listener, the child would block, and the test would fail on
the (generous) timeout instead of hanging the suite.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from xml_testing import ANSWER_URL, problems

from controller.dialects.plivo import XmlError, parse_document
from controller.model import Speak

REPO = Path(__file__).resolve().parents[2]
DOCTYPE_REFUSED = "DOCTYPE is not allowed (no DTDs or entities in Plivo XML)"


def utf16(text: str) -> bytes:
    return text.encode("utf-16")  # with BOM: the byte check cannot see "<!DOCTYPE"


def run_parser_in_child(bodies: dict[str, bytes]) -> dict[str, str]:
    """Parse each body in a fresh interpreter; returns each error text."""
    script = textwrap.dedent(
        """
        import json, sys
        from controller.dialects.plivo import XmlError, parse_document
        out = {}
        for name, hexbody in json.load(sys.stdin).items():
            try:
                parse_document(bytes.fromhex(hexbody), "https://app.example.com/answer.xml")
                out[name] = "ACCEPTED"
            except XmlError as exc:
                out[name] = str(exc)
        print(json.dumps(out))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        input=json.dumps({k: v.hex() for k, v in bodies.items()}),
        capture_output=True,
        text=True,
        timeout=120,  # a hang (libxml2 blocked on the FIFO or socket) ends here
        cwd=REPO,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_xxe_to_a_local_file_is_never_opened(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-MARKER")
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)  # opening it for reading blocks until a writer comes: none will
    def xxe(path: Path) -> str:
        return (
            f'<?xml version="1.0"?>\n<!DOCTYPE r [<!ENTITY x SYSTEM "file://{path}">]>\n'
            "<Response><Speak>&x;</Speak></Response>"
        )
    external_dtd = f'<!DOCTYPE Response SYSTEM "file://{fifo}">\n<Response/>'
    parameter_entity = (
        f'<!DOCTYPE r [<!ENTITY % p SYSTEM "file://{fifo}"> %p;]>\n<Response/>'
    )
    results = run_parser_in_child(
        {
            "file": xxe(secret).encode(),
            "fifo": xxe(fifo).encode(),
            "fifo16": utf16(xxe(fifo)),
            "dtd16": utf16(external_dtd),
            "param16": utf16(parameter_entity),
        }
    )
    assert results == {
        "file": f"answer.xml:2:1 <!DOCTYPE>: {DOCTYPE_REFUSED}",
        "fifo": f"answer.xml:2:1 <!DOCTYPE>: {DOCTYPE_REFUSED}",
        "fifo16": f"answer.xml:2:1 <!DOCTYPE>: {DOCTYPE_REFUSED}",
        "dtd16": f"answer.xml:1:1 <!DOCTYPE>: {DOCTYPE_REFUSED}",
        "param16": f"answer.xml:1:1 <!DOCTYPE>: {DOCTYPE_REFUSED}",
    }
    # Nobody has the FIFO open for reading: a non-blocking writer finds no reader.
    with pytest.raises(OSError):
        os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)


def test_xxe_and_external_dtd_over_the_network_are_never_fetched():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    port = listener.getsockname()[1]
    try:
        url = f"http://127.0.0.1:{port}/evil"
        entity = f'<!DOCTYPE r [<!ENTITY x SYSTEM "{url}">]><Response><Speak>&x;</Speak></Response>'
        results = run_parser_in_child(
            {
                "entity": utf16(entity),
                "dtd": utf16(f'<!DOCTYPE Response SYSTEM "{url}.dtd"><Response/>'),
                "entity8": entity.encode(),
            }
        )
        assert set(results.values()) == {f"answer.xml:1:1 <!DOCTYPE>: {DOCTYPE_REFUSED}"}
        listener.setblocking(False)
        with pytest.raises(BlockingIOError):  # no connection ever arrived
            listener.accept()
    finally:
        listener.close()


def _billion_laughs() -> str:
    entities = ['<!ENTITY lol "lol">']
    for n in range(1, 10):
        prev = "lol" if n == 1 else f"lol{n - 1}"
        entities.append(f'<!ENTITY lol{n} "{("&" + prev + ";") * 10}">')
    return (
        '<?xml version="1.0"?>\n<!DOCTYPE lolz [\n'
        + "\n".join(entities)
        + "\n]>\n<Response><Speak>&lol9;</Speak></Response>"
    )


def _quadratic_blowup() -> str:
    return (
        f'<!DOCTYPE r [<!ENTITY a "{"x" * 50_000}">]>\n'
        f"<Response><Speak>{'&a;' * 50_000}</Speak></Response>"
    )


@pytest.mark.parametrize("encode", [str.encode, utf16], ids=["utf8", "utf16"])
def test_billion_laughs(encode):
    assert problems(encode(_billion_laughs())) == [f"answer.xml:2:1 <!DOCTYPE>: {DOCTYPE_REFUSED}"]


@pytest.mark.parametrize("encode", [str.encode, utf16], ids=["utf8", "utf16"])
def test_quadratic_blowup(encode):
    assert problems(encode(_quadratic_blowup())) == [
        f"answer.xml:1:1 <!DOCTYPE>: {DOCTYPE_REFUSED}"
    ]


def test_harmless_doctype_is_refused_too():
    assert problems("<!DOCTYPE Response>\n<Response/>") == [
        f"answer.xml:1:1 <!DOCTYPE>: {DOCTYPE_REFUSED}"
    ]


def test_doctype_words_inside_comments_and_cdata_are_not_a_doctype():
    body = (
        "<!-- <!DOCTYPE x> -->\n<Response>"
        "<Speak><![CDATA[<!DOCTYPE is just text]]></Speak></Response>"
    )
    (said,) = parse_document(body.encode(), ANSWER_URL).verbs
    assert said == Speak("<!DOCTYPE is just text")


def test_ten_megabyte_body_is_refused_before_parsing():
    body = b"<Response>" + b" " * (10 * 1024 * 1024) + b"</Response>"
    assert problems(body) == [f"answer.xml: body is {len(body)} bytes; the limit is 1048576"]


def test_size_limit_is_inclusive_and_configurable():
    body = b"<Response><Speak>hi</Speak></Response>"
    assert parse_document(body, ANSWER_URL, max_bytes=len(body)).verbs == (Speak("hi"),)
    assert problems(body, max_bytes=len(body) - 1) == [
        f"answer.xml: body is {len(body)} bytes; the limit is {len(body) - 1}"
    ]


def test_ten_thousand_deep_nesting():
    body = b"<Response>" + b"<a>" * 10_000 + b"</a>" * 10_000 + b"</Response>"
    # <Response> is depth 1, so the 33rd level is the 32nd <a>: column 11 + 31 * 3.
    assert problems(body) == ["answer.xml:1:104 <a>: elements nested deeper than 32 levels"]


def test_nesting_that_libxml2_accepts_but_we_do_not():
    body = "<Response>\n<Speak>" + "<b>" * 40 + "x" + "</b>" * 40 + "</Speak></Response>"
    # Speak is depth 2, its first <b> depth 3, so depth 33 is the 31st <b>.
    assert problems(body) == [
        "answer.xml:2:1 <Speak>: Speak must not contain elements (SSML is not supported)",
        f"answer.xml:2:{8 + 30 * 3} <b>: elements nested deeper than 32 levels",
        "answer.xml:2:1 <Speak>: Speak needs the text to say",  # "x" is inside the <b>s
    ]


def test_depth_limit_is_configurable():
    body = b"<Response><Speak><b>hi</b></Speak></Response>"
    assert problems(body, max_depth=2) == [
        "answer.xml:1:11 <Speak>: Speak must not contain elements (SSML is not supported)",
        "answer.xml:1:18 <b>: elements nested deeper than 2 levels",
        "answer.xml:1:11 <Speak>: Speak needs the text to say",
    ]
    assert problems(b"<Response><Speak>hi</Speak></Response>", max_depth=1) == [
        "answer.xml:1:11 <Speak>: elements nested deeper than 1 levels"
    ]
    deep = b"<Response>" + b"<a>" * 300 + b"</a>" * 300 + b"</Response>"
    # Above libxml2's own limit the configured depth is capped at 255.
    assert problems(deep, max_depth=1000) == [
        f"answer.xml:1:{11 + 254 * 3} <a>: elements nested deeper than 255 levels"
    ]


def test_bytes_that_are_not_utf8():
    assert problems(b"<Response>\n<Speak>caf\xe9</Speak></Response>") == [
        "answer.xml:2:11: invalid UTF-8 bytes (send UTF-8 or declare the real encoding)"
    ]


def test_declared_encodings_are_honoured():
    latin = '<?xml version="1.0" encoding="ISO-8859-1"?><Response><Speak>café</Speak></Response>'
    assert parse_document(latin.encode("latin-1"), ANSWER_URL).verbs == (Speak("café"),)
    assert problems(b'<?xml version="1.0" encoding="no-such-enc"?><Response/>') == [
        "answer.xml:1:43: unsupported character encoding: Unsupported encoding: no-such-enc"
    ]


def test_control_characters_are_not_xml():
    assert problems(b"<Response><Speak>a\x01b</Speak></Response>") == [
        "answer.xml:1:19: not well-formed XML: PCDATA invalid Char value 1"
    ]


def test_bom_is_accepted_and_does_not_shift_columns():
    body = b"\xef\xbb\xbf<Response><Speak>hi</Speak></Response>"
    assert parse_document(body, ANSWER_URL).verbs == (Speak("hi"),)
    assert problems(b"\xef\xbb\xbf<Response><Bad/></Response>")[0].startswith(
        "answer.xml:1:11 <Bad>:"
    )
    utf16_body = "<Response>\n  <Speak>héllo</Speak><Bad/></Response>".encode("utf-16")
    with pytest.raises(XmlError) as info:
        parse_document(utf16_body, ANSWER_URL)
    assert str(info.value).startswith("answer.xml:2:23 <Bad>: unknown element Bad")


@pytest.mark.parametrize(
    "body", [b"", b"   \n\t ", b"\xef\xbb\xbf", b"\xef\xbb\xbf \n", "  ".encode("utf-16")]
)
def test_empty_bodies(body):
    assert problems(body) == ["answer.xml: empty body: expected a <Response> document"]


@pytest.mark.parametrize(
    "body,problem",
    [
        (b"<Response>", "answer.xml:1:11: not well-formed XML: "
         "Premature end of data in tag Response line 1"),
        (b"<Response><Speak>hi</Response>", "answer.xml:1:31: not well-formed XML: "
         "Opening and ending tag mismatch: Speak line 1 and Response"),
        (b"<Response/><Response/>", "answer.xml:1:12: not well-formed XML: "
         "Extra content at the end of the document"),
        (b"<Response><Speak>&nbsp;</Speak></Response>", "answer.xml:1:24: not well-formed XML: "
         "Entity 'nbsp' not defined"),
        (b'<Response a="1" a="2"/>', "answer.xml:1:22: not well-formed XML: "
         "Attribute a redefined"),
        (b"just text", "answer.xml:1:1: not well-formed XML: Start tag expected, '<' not found"),
    ],
)
def test_not_well_formed_reports_lxmls_position(body, problem):
    # Line and column are libxml2's own (it points just past what it could not take).
    assert problems(body) == [problem]


@pytest.mark.parametrize(
    "body",
    [
        b"<!--" * 200_000,  # unclosed comments: the position scanner must stay linear
        b"<a " * 300_000,
        b'<a b="' * 150_000,
        b"<![CDATA[" * 100_000,
        b"<" * 1_000_000,
    ],
    ids=["comments", "open-tags", "open-quotes", "cdata", "angles"],
)
def test_garbage_up_to_the_limit_is_refused_without_hanging(body):
    (problem,) = problems(body)
    assert problem.startswith("answer.xml:1:") and "not well-formed XML" in problem


def test_wrong_argument_types_are_programming_errors():
    with pytest.raises(TypeError, match="body must be bytes, not str"):
        parse_document("<Response/>", ANSWER_URL)
    with pytest.raises(ValueError, match="max_bytes must be a positive integer"):
        parse_document(b"<Response/>", ANSWER_URL, max_bytes=0)
    with pytest.raises(ValueError, match="max_depth must be a positive integer"):
        parse_document(b"<Response/>", ANSWER_URL, max_depth=0)
