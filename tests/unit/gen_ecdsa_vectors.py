"""Write the RFC 6979 ECDSA P-256/SHA-256 vectors that BearSSL's own test suite
carries (test/test_crypto.c of the unpacked Debian source) as a C header for
test_bootloader_sigcheck.c: the public point and each (message, DER signature).

usage: gen_ecdsa_vectors.py <bearssl>/test/test_crypto.c > ecdsa_vectors.h
"""
import re
import sys


def main(path: str) -> int:
    text = open(path).read()
    point = re.search(r"EC_P256_PUB_POINT\[\] = \{(.*?)\};", text, re.S)
    entries = re.findall(r"\{\s*&EC_P256_PUB,\s*&EC_P256_PRIV,\s*&br_sha256_vtable,\s*"
                         r"\"([^\"]*)\",\s*\"[0-9A-F]+\",\s*\"[0-9A-F]+\",\s*\"([0-9A-F]+)\"",
                         text)
    if not point or len(entries) < 2:
        print(f"{path}: P-256/SHA-256 vectors not found", file=sys.stderr)
        return 1
    print(f"/* generated from {path} by gen_ecdsa_vectors.py */")
    print(f"static const unsigned char P256_PUB[] = {{{point.group(1).strip()}}};")
    print("static const struct { const char *msg, *der_hex; } P256_SHA256[] = {")
    for msg, der in entries:
        print(f'\t{{ "{msg}", "{der}" }},')
    print("};")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
