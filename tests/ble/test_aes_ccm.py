"""The core's AES-128 and AES-CCM against FIPS-197, RFC 3610 and the `cryptography` package."""

from __future__ import annotations

import random

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESCCM

from tinyad._core import bthome as core


def test_aes128_fips197_appendix_c1():
    key = bytes.fromhex("000102030405060708090a0b0c0d0e0f")
    block = bytes.fromhex("00112233445566778899aabbccddeeff")
    assert core.aes128_encrypt_block(key, block).hex() == "69c4e0d86a7b0430d8cdb78070b4c55a"


def test_rfc3610_packet_vector_1():
    key = bytes.fromhex("C0C1C2C3C4C5C6C7C8C9CACBCCCDCECF")
    nonce = bytes.fromhex("00000003020100A0A1A2A3A4A5")
    packet = bytes.fromhex("000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E")
    aad, plain = packet[:8], packet[8:]
    out = core.aes_ccm_encrypt(key, nonce, plain, aad, 8)
    assert out.hex().upper() == "588C979A61C663D2F066D0C2C0F989806D5F6B61DAC38417E8D12CFDF926E0"


def test_random_parameters_agree_with_cryptography():
    rng = random.Random(1234)
    for _ in range(200):
        key = rng.randbytes(16)
        nonce = rng.randbytes(rng.randint(7, 13))
        tag_len = rng.choice([4, 6, 8, 10, 12, 14, 16])
        plain = rng.randbytes(rng.randint(0, 70))
        aad = rng.randbytes(rng.choice([0, 1, 14, 15, 16, 17, 40]))
        expected = AESCCM(key, tag_length=tag_len).encrypt(nonce, plain, aad or None)
        assert core.aes_ccm_encrypt(key, nonce, plain, aad, tag_len) == expected
        assert core.aes_ccm_decrypt(key, nonce, expected, aad, tag_len) == plain


def test_decrypt_rejects_a_flipped_bit():
    key, nonce = bytes(range(16)), bytes(13)
    sealed = bytearray(core.aes_ccm_encrypt(key, nonce, b"tinyad alert", b"", 4))
    sealed[3] ^= 0x01
    assert core.aes_ccm_decrypt(key, nonce, bytes(sealed), b"", 4) is None


@pytest.mark.parametrize("nonce_len,tag_len", [(6, 4), (14, 4), (13, 3), (13, 5), (13, 18)])
def test_invalid_parameters_are_refused(nonce_len, tag_len):
    with pytest.raises(ValueError):
        core.aes_ccm_encrypt(bytes(16), bytes(nonce_len), b"x", b"", tag_len)
