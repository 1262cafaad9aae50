"""Tests for the masking of personal data (art. 39)."""

import pytest

from domain.masking import mask_id_number, mask_name, mask_phone, mask_text_names


@pytest.mark.parametrize(
    ("name", "masked"),
    [
        ("王晓梅", "王*梅"),
        ("欧阳晓梅", "欧**梅"),
        ("王梅", "王*"),
        ("梅", "*"),
        ("", ""),
        (" 王晓梅 ", "王*梅"),
        ("John Smith", "J*** S****"),
        ("Anne-Marie Li", "A***-***** L*"),
        ("Zoë", "Z**"),
    ],
)
def test_mask_name(name, masked):
    assert mask_name(name) == masked


@pytest.mark.parametrize(
    ("phone", "masked"),
    [
        ("13812345678", "138****5678"),
        ("138 1234 5678", "138 **** 5678"),
        ("+86 13812345678", "+86 138****5678"),
        ("0431-85551234", "****-****1234"),
        ("85551234", "****1234"),
        ("12345", "***45"),
        ("110", "**0"),
        ("", ""),
    ],
)
def test_mask_phone(phone, masked):
    assert mask_phone(phone) == masked


@pytest.mark.parametrize(
    ("number", "masked"),
    [
        ("11010519900101123X", "110***********123X"),
        ("110105900101123", "110********1123"),
        ("", ""),
        ("E1234567", "****4567"),
    ],
)
def test_mask_id_number(number, masked):
    assert mask_id_number(number) == masked


def test_mask_id_number_hides_the_birth_date():
    assert "19900101" not in mask_id_number("110105199001011234")


def test_mask_text_names_masks_every_occurrence():
    text = "王晓梅反映电梯停运，王晓梅多次联系物业未果。"

    masked = mask_text_names(text, ["王晓梅"])

    assert masked == "王*梅反映电梯停运，王*梅多次联系物业未果。"


def test_mask_text_names_prefers_the_longest_name():
    masked = mask_text_names("王晓梅和王晓来访", ["王晓", "王晓梅"])

    assert masked == "王*梅和王*来访"


def test_mask_text_names_keeps_latin_names_to_whole_words():
    text = "Ann filed the Annual complaint with 李Ann的邻居"

    assert (
        mask_text_names(text, ["Ann"])
        == "A** filed the Annual complaint with 李A**的邻居"
    )


def test_mask_text_names_without_names_keeps_the_text():
    assert mask_text_names("物业费", []) == "物业费"
    assert mask_text_names("物业费", ["", "  "]) == "物业费"


def test_mask_text_names_escapes_pattern_characters():
    assert mask_text_names("J. (Smith) came", ["J. (Smith)"]) == "J. (S****) came"
