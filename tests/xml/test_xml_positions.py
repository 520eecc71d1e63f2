"""The raw-text scanner that gives problems their columns (pure functions)."""

from __future__ import annotations

import codecs

import pytest

from controller.xml.positions import (
    LineIndex,
    decode,
    find_doctype,
    find_too_deep,
    scan,
    sniff_encoding,
    start_tag_positions,
)


def test_scan_skips_comments_cdata_and_pis_and_sees_quoted_angles():
    text = (
        '<?xml version="1.0"?><!-- <x> --><r a=">" b=\'<\'>'
        "<![CDATA[<y>]]><s/><?p <z>?></r>"
    )
    tags = [(t.kind, t.name, t.empty) for t in scan(text)]
    assert tags == [("start", "r", False), ("start", "s", True), ("end", "r", False)]


def test_start_tag_positions_are_one_based_line_and_column():
    text = "<r>\n  <a/>\n\t<b\n  x='1'/></r>"
    assert start_tag_positions(text) == [(1, 1), (2, 3), (3, 2)]


def test_line_index():
    index = LineIndex("ab\ncd\r\nef")
    assert [index.at(i) for i in (0, 1, 3, 5, 7)] == [(1, 1), (1, 2), (2, 1), (2, 3), (3, 1)]


@pytest.mark.parametrize(
    "text",
    ["<!-- never closed <a>", "<![CDATA[ never closed", "<?pi never", "<a b='never", "<a", "</a"],
)
def test_unterminated_markup_ends_the_scan(text):
    assert list(scan("<r>" + text)) == [next(iter(scan("<r>")))]


def test_find_doctype_only_before_the_root():
    assert find_doctype("<!-- x -->\n  <!DOCTYPE r>") == (2, 3)
    assert find_doctype("<r><!-- <!DOCTYPE r> --></r>") is None
    assert find_doctype("<!-- <!DOCTYPE r> --><r/>") is None


def test_find_too_deep():
    text = "<a><b/><b><c><d/></c></b></a>"
    assert find_too_deep(text, 3) == ("d", 1, 14)
    assert find_too_deep(text, 4) is None


@pytest.mark.parametrize(
    "body,encoding",
    [
        (codecs.BOM_UTF8 + b"<r/>", "utf-8-sig"),
        ("<r/>".encode("utf-16"), "utf-16"),
        ("<r/>".encode("utf-16-le"), "utf-16-le"),
        ("<r/>".encode("utf-16-be"), "utf-16-be"),
        (codecs.BOM_UTF32_LE + "<r/>".encode("utf-32-le"), "utf-32"),
        (b"<?xml version='1.0' encoding='ISO-8859-1'?><r/>", "ISO-8859-1"),
        (b"<r/>", "utf-8"),
    ],
)
def test_sniff_encoding(body, encoding):
    assert sniff_encoding(body) == encoding


def test_decode_prefers_the_byte_signature_and_never_fails():
    assert decode("<r>é</r>".encode("utf-16"), "UTF-8") == "<r>é</r>"
    assert decode(b"\xef\xbb\xbf<r/>") == "<r/>"
    assert decode(b"<r>\xff</r>") == "<r>\ufffd</r>"
    assert decode(b"<?xml version='1.0' encoding='bogus'?><r/>").endswith("<r/>")
