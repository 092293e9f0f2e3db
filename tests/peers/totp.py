"""Independent TOTP codes for the tests (pyotp, RFC 6238: SHA-1, 6 digits, 30 s).

Usage: totp.py <base32 secret> <unix time>  -> prints the code for that time.
"""

import sys

import pyotp

secret, at = sys.argv[1], int(sys.argv[2])
print(pyotp.TOTP(secret).at(at))
