# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Authenticated encryption of secrets at rest, with keys kept outside the database.

Plain Python (no Odoo import) so that the worker and the tests can use it alone.

A key is 32 random bytes written as url-safe base64 (44 characters), the same text form as a
Fernet key. Generate one with::

    python3 -c "import base64, os; print(base64.urlsafe_b64encode(os.urandom(32)).decode())"

Several keys may be given, separated by commas, to rotate: the first encrypts, all decrypt.

Secrets are sealed with AES-256-GCM. The *context* (for example ``threecx.server:7:api_secret``)
is bound to the ciphertext as associated data, so a ciphertext copied onto another record or
field does not decrypt.

Exceptions: :class:`SecretKeyError` (no key, or a malformed one) and :class:`SecretDecryptError`
(tampered data, or a key that is not the one the secret was sealed with), both ``ValueError``.

>>> box = SecretBox("A" * 43 + "=")
>>> token = box.seal("s3cr3t", "ctx")
>>> token.startswith("v1:") and "s3cr3t" not in token
True
>>> box.open(token, "ctx")
's3cr3t'
"""

import base64
import binascii
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PREFIX = "v1:"
NONCE_SIZE = 12
TAG_SIZE = 16  # AES-GCM appends a 16-byte tag


class SecretKeyError(ValueError):
    """No usable encryption key is configured."""


class SecretDecryptError(ValueError):
    """A sealed secret cannot be opened with the configured keys."""


def _parse_key(text):
    try:
        raw = base64.urlsafe_b64decode(text.strip().encode("ascii"))
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raw = b""
    if len(raw) != 32:
        raise SecretKeyError(
            "the realtor_3cx secret key must be 32 random bytes in url-safe base64 (44 characters)"
        )
    return AESGCM(raw)


class SecretBox:
    """Seal and open short secrets with the first of one or more keys."""

    def __init__(self, keys):
        texts = [k for k in (keys or "").split(",") if k.strip()]
        if not texts:
            raise SecretKeyError("no realtor_3cx secret key is configured")
        self._keys = [_parse_key(k) for k in texts]

    def seal(self, plaintext, context):
        nonce = os.urandom(NONCE_SIZE)
        sealed = self._keys[0].encrypt(nonce, plaintext.encode(), context.encode())
        return PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode("ascii")

    def open(self, token, context):
        if not token or not token.startswith(PREFIX):
            raise SecretDecryptError("the stored secret is not in a known format")
        try:
            blob = base64.urlsafe_b64decode(token[len(PREFIX) :].encode("ascii"))
        except (binascii.Error, ValueError):
            raise SecretDecryptError("the stored secret is corrupt") from None
        if len(blob) < NONCE_SIZE + TAG_SIZE:
            raise SecretDecryptError("the stored secret is corrupt")
        nonce, sealed = blob[:NONCE_SIZE], blob[NONCE_SIZE:]
        for key in self._keys:
            try:
                return key.decrypt(nonce, sealed, context.encode()).decode()
            except InvalidTag:
                continue
        raise SecretDecryptError(
            "the stored secret cannot be decrypted: the configured key is not the one it was saved "
            "with (or the data was altered)"
        )
