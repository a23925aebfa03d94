# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import base64
import doctest

import pytest

from realtor_3cx.tools import secret_box
from realtor_3cx.tools.secret_box import SecretBox, SecretDecryptError, SecretKeyError

KEY_A = base64.urlsafe_b64encode(b"a" * 32).decode()
KEY_B = base64.urlsafe_b64encode(b"b" * 32).decode()


def test_doctests():
    result = doctest.testmod(secret_box)
    assert result.attempted > 0 and result.failed == 0


def test_round_trip_and_fresh_nonce():
    box = SecretBox(KEY_A)
    one, two = box.seal("s3cr3t", "ctx"), box.seal("s3cr3t", "ctx")
    assert one != two
    assert box.open(one, "ctx") == box.open(two, "ctx") == "s3cr3t"


@pytest.mark.parametrize(
    "keys, message",
    [
        ("", "no realtor_3cx secret key"),
        (" , ", "no realtor_3cx secret key"),
        ("short", "32 random bytes"),
        (base64.urlsafe_b64encode(b"x" * 16).decode(), "32 random bytes"),
        ("é" * 44, "32 random bytes"),
        (f"{KEY_A},garbage", "32 random bytes"),
    ],
)
def test_bad_keys_are_refused_clearly(keys, message):
    with pytest.raises(SecretKeyError, match=message):
        SecretBox(keys)


def test_context_is_authenticated():
    token = SecretBox(KEY_A).seal("s3cr3t", "threecx.server:1:api_secret")
    with pytest.raises(SecretDecryptError, match="not the one it was saved with"):
        SecretBox(KEY_A).open(token, "threecx.server:2:api_secret")


@pytest.mark.parametrize("token", [None, "", "plain", "v1:", "v1:!!!!", "v1:" + "A" * 40])
def test_malformed_tokens(token):
    with pytest.raises(SecretDecryptError):
        SecretBox(KEY_A).open(token, "ctx")


def test_rotation_first_key_encrypts_all_decrypt():
    old = SecretBox(KEY_A).seal("s3cr3t", "ctx")
    rotated = SecretBox(f"{KEY_B},{KEY_A}")
    assert rotated.open(old, "ctx") == "s3cr3t"
    new = rotated.seal("s3cr3t", "ctx")
    assert SecretBox(KEY_B).open(new, "ctx") == "s3cr3t"
    with pytest.raises(SecretDecryptError):
        SecretBox(KEY_A).open(new, "ctx")
