"""Django's argon2 hasher at the worker's parameters (OWASP's minimum: 19 MiB, 2 passes, 1 lane)."""
from django.contrib.auth.hashers import Argon2PasswordHasher


class OwaspArgon2PasswordHasher(Argon2PasswordHasher):
    time_cost = 2
    memory_cost = 19456
    parallelism = 1
