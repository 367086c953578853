"""A small real Django project (Debian's python3-django + python3-argon2) for test/django/real-django.test.mjs.

usage: python3 djhelper.py DIR seed            -> migrates DIR/db.sqlite3, creates the users, writes DIR/dump.json
       python3 djhelper.py DIR check PASSWORD HASH -> prints "true" or "false" (django.contrib.auth.hashers.check_password)
       python3 djhelper.py DIR make HASHER PASSWORD [ITERATIONS] -> prints Django's hash
"""
import json
import os
import sys

directory = sys.argv[1]
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import django  # noqa: E402
from django.conf import settings  # noqa: E402

settings.configure(
    DEBUG=False,
    SECRET_KEY="test-only-not-secret",
    USE_TZ=True,
    INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth"],
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": os.path.join(directory, "db.sqlite3")}},
    PASSWORD_HASHERS=[
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
        "owasp_hasher.OwaspArgon2PasswordHasher",
        "django.contrib.auth.hashers.Argon2PasswordHasher",
        "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
        "django.contrib.auth.hashers.MD5PasswordHasher",
        # What a team rolling back from the worker adds (docs/django.md, "Passwords"): the imports' wrapped weak hashes.
        "wrapped_hashers.Argon2WrappedSHA1PasswordHasher",
        "wrapped_hashers.Argon2WrappedMD5PasswordHasher",
        "wrapped_hashers.Argon2WrappedUnsaltedSHA1PasswordHasher",
        "wrapped_hashers.Argon2WrappedUnsaltedMD5PasswordHasher",
        "wrapped_hashers.Argon2WrappedPBKDF2PasswordHasher",
        "wrapped_hashers.Argon2WrappedPBKDF2SHA1PasswordHasher",
    ],
)
django.setup()

from django.contrib.auth.hashers import Argon2PasswordHasher, MD5PasswordHasher, PBKDF2PasswordHasher, PBKDF2SHA1PasswordHasher, check_password  # noqa: E402
from owasp_hasher import OwaspArgon2PasswordHasher  # noqa: E402


def make(hasher, password, iterations=None):
    salt = PBKDF2PasswordHasher().salt()
    if hasher == "pbkdf2_sha256":
        return PBKDF2PasswordHasher().encode(password, salt, int(iterations) if iterations else None)
    if hasher == "pbkdf2_sha1":
        return PBKDF2SHA1PasswordHasher().encode(password, salt, int(iterations) if iterations else None)
    if hasher == "argon2":
        return OwaspArgon2PasswordHasher().encode(password, salt)
    if hasher == "argon2_default":
        return Argon2PasswordHasher().encode(password, salt)
    if hasher == "md5":
        return MD5PasswordHasher().encode(password, salt)
    raise SystemExit(f"unknown hasher {hasher}")


def seed():
    from django.core.management import call_command
    from django.contrib.auth.models import User

    call_command("migrate", verbosity=0)
    users = json.load(open(os.path.join(directory, "users.json")))
    for spec in users:
        user = User(username=spec["username"], email=spec.get("email", ""), is_active=spec.get("is_active", True))
        if spec.get("superuser"):
            user.is_staff = user.is_superuser = True
        if spec.get("hasher") == "unusable":
            user.set_unusable_password()
        else:
            user.password = make(spec["hasher"], spec["password"], spec.get("iterations"))
        user.save()
    with open(os.path.join(directory, "dump.json"), "w") as out:
        call_command("dumpdata", "auth.user", indent=2, stdout=out)


command = sys.argv[2]
if command == "seed":
    seed()
elif command == "check":
    print("true" if check_password(sys.argv[3], sys.argv[4]) else "false")
elif command == "make":
    print(make(*sys.argv[3:]))
else:
    raise SystemExit(f"unknown command {command}")
