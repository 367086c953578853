"""Django hashers for the worker's wrapped hashes (src/auth/wrapped-hash.ts), so a rollback to Django keeps every
account imported with a weak hash. Add them after your default hasher in PASSWORD_HASHERS:

    PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",   # or Argon2PasswordHasher: what new hashes use
        "django.contrib.auth.hashers.Argon2PasswordHasher",   # the worker's own argon2id hashes
        "wrapped_hashers.Argon2WrappedSHA1PasswordHasher",
        "wrapped_hashers.Argon2WrappedMD5PasswordHasher",
        "wrapped_hashers.Argon2WrappedUnsaltedSHA1PasswordHasher",
        "wrapped_hashers.Argon2WrappedUnsaltedMD5PasswordHasher",
        "wrapped_hashers.Argon2WrappedPBKDF2PasswordHasher",
        "wrapped_hashers.Argon2WrappedPBKDF2SHA1PasswordHasher",
    ]

Stored form: argon2_wrapped_<inner>$<inner fields>$argon2id$v=19$m=...,t=...,p=...$<salt>$<hash>: argon2id over
what the inner (old) hasher wrote for the password. Django upgrades them to its default at the next login
(must_update), as its documented PBKDF2WrappedSHA1PasswordHasher does.
"""
from django.contrib.auth.hashers import (
    Argon2PasswordHasher,
    MD5PasswordHasher,
    PBKDF2PasswordHasher,
    PBKDF2SHA1PasswordHasher,
    SHA1PasswordHasher,
    UnsaltedMD5PasswordHasher,
    UnsaltedSHA1PasswordHasher,
    mask_hash,
)


class _Argon2Wrapped(Argon2PasswordHasher):
    inner = None  # the old hasher class
    inner_fields = 1  # "$"-separated fields of the inner hasher before the argon2 part

    def _split(self, encoded):
        algorithm, rest = encoded.split("$", 1)
        assert algorithm == self.algorithm
        parts = rest.split("$")
        return parts[: self.inner_fields], "$" + "$".join(parts[self.inner_fields :])

    def _inner_digest(self, password, fields):
        raise NotImplementedError

    def verify(self, password, encoded):
        fields, argon = self._split(encoded)
        argon2 = self._load_library()
        try:
            return argon2.PasswordHasher().verify(argon, self._inner_digest(password, fields))
        except argon2.exceptions.VerificationError:
            return False

    def encode(self, password, salt):
        raise NotImplementedError("wrapped hashes are only read: put another hasher first in PASSWORD_HASHERS")

    def decode(self, encoded):
        fields, argon = self._split(encoded)
        return {"algorithm": self.algorithm, "inner": fields, "hash": argon.split("$")[-1], "salt": argon.split("$")[-2]}

    def safe_summary(self, encoded):
        decoded = self.decode(encoded)
        return {"algorithm": decoded["algorithm"], "hash": mask_hash(decoded["hash"])}

    def must_update(self, encoded):
        return True

    def harden_runtime(self, password, encoded):
        pass


class Argon2WrappedSHA1PasswordHasher(_Argon2Wrapped):
    algorithm = "argon2_wrapped_sha1"

    def _inner_digest(self, password, fields):
        return SHA1PasswordHasher().encode(password, fields[0]).split("$", 2)[2]


class Argon2WrappedMD5PasswordHasher(_Argon2Wrapped):
    algorithm = "argon2_wrapped_md5"

    def _inner_digest(self, password, fields):
        return MD5PasswordHasher().encode(password, fields[0]).split("$", 2)[2]


class Argon2WrappedUnsaltedSHA1PasswordHasher(_Argon2Wrapped):
    algorithm = "argon2_wrapped_unsalted_sha1"

    def _inner_digest(self, password, fields):
        return UnsaltedSHA1PasswordHasher().encode(password, "").split("$", 2)[2]


class Argon2WrappedUnsaltedMD5PasswordHasher(_Argon2Wrapped):
    algorithm = "argon2_wrapped_unsalted_md5"

    def _inner_digest(self, password, fields):
        return UnsaltedMD5PasswordHasher().encode(password, "")


class Argon2WrappedPBKDF2PasswordHasher(_Argon2Wrapped):
    algorithm = "argon2_wrapped_pbkdf2_sha256"
    inner_fields = 2

    def _inner_digest(self, password, fields):
        return PBKDF2PasswordHasher().encode(password, fields[1], int(fields[0])).split("$", 3)[3]


class Argon2WrappedPBKDF2SHA1PasswordHasher(Argon2WrappedPBKDF2PasswordHasher):
    algorithm = "argon2_wrapped_pbkdf2_sha1"

    def _inner_digest(self, password, fields):
        return PBKDF2SHA1PasswordHasher().encode(password, fields[1], int(fields[0])).split("$", 3)[3]
