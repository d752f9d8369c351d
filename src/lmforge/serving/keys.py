"""API keys, rate limits, daily quotas and usage records, in an SQLite database beside the served model.

The database is ``MODEL_DIR/serving.sqlite`` in WAL mode, so every ``--workers`` process (and
``lmforge keys`` while the server runs) reads and writes it safely; admission (rate window, daily quota and
usage) is one ``BEGIN IMMEDIATE`` transaction, so limits hold across processes.

A key looks like ``lmf_<id>_<secret>``. It is shown once, at creation; only the SHA-256 of the whole key is
stored (keys are 256-bit random, so a fast hash is enough: there is nothing to brute-force). The id finds the
row; the hashes are compared in constant time (:func:`hmac.compare_digest`).

- rate: requests per second / minute / hour, in fixed windows (``10/s``, ``600/min``)
- quota: texts classified per UTC day (``10000/day``): the free-trial tier
- usage: requests, texts and tokens per key and UTC day, for billing (:func:`usage_by_key`)

As soon as one key has been created, every prediction route needs a key (revoking all keys does not open the
server again). Without any key the server is open, and then it listens on loopback only.

    >>> store = KeyStore("runs/sst2")
    >>> key = store.create("acme", rate="10/s", quota="10000/day")   # print it once
    >>> store.admit(key, texts=3, tokens=42)                         # Admission(...) or ServingError 401/429
    >>> usage_by_key("runs/sst2")
    [{'key': 'acme', 'day': '2026-11-23', 'requests': 1, 'texts': 3, 'tokens': 42}]
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import sqlite3
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from lmforge.errors import ConfigError, ServingError

DATABASE = "serving.sqlite"
PERIODS = {"s": 1, "sec": 1, "second": 1, "min": 60, "minute": 60, "h": 3600, "hour": 3600}
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")

SCHEMA = """
CREATE TABLE IF NOT EXISTS keys (
    name TEXT PRIMARY KEY,
    key_id TEXT NOT NULL UNIQUE,
    key_hash TEXT NOT NULL,
    rate_limit INTEGER,          -- requests per rate_period seconds; NULL: unlimited
    rate_period INTEGER,
    daily_quota INTEGER,         -- texts per UTC day; NULL: unlimited
    created TEXT NOT NULL,
    revoked TEXT
);
CREATE TABLE IF NOT EXISTS usage (
    name TEXT NOT NULL,
    day TEXT NOT NULL,
    requests INTEGER NOT NULL DEFAULT 0,
    texts INTEGER NOT NULL DEFAULT 0,
    tokens INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (name, day)
);
CREATE TABLE IF NOT EXISTS rate_windows (
    name TEXT PRIMARY KEY,
    window_start INTEGER NOT NULL,
    requests INTEGER NOT NULL
);
"""


def parse_rate(text: str | None) -> tuple[int, int] | None:
    """``"10/s"`` → (10, 1); ``"600/min"`` → (600, 60); None → no limit."""
    if text is None:
        return None
    match = re.fullmatch(r"\s*(\d+)\s*/\s*([a-z]+)\s*", text.lower())
    if not match or match.group(2) not in PERIODS or int(match.group(1)) < 1:
        raise ConfigError(f"rate '{text}' is not N/PERIOD with N ≥ 1 and PERIOD one of s, min, h "
                          "(for example 10/s or 600/min)")
    return int(match.group(1)), PERIODS[match.group(2)]


def parse_quota(text: str | None) -> int | None:
    """``"10000/day"`` (or ``"10000"``) → 10000 texts per UTC day; None → no quota."""
    if text is None:
        return None
    match = re.fullmatch(r"\s*(\d+)\s*(/\s*(day|d))?\s*", text.lower())
    if not match or int(match.group(1)) < 1:
        raise ConfigError(f"quota '{text}' is not N/day with N ≥ 1 (texts per UTC day, e.g. 10000/day)")
    return int(match.group(1))


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def utc_day(now: float) -> str:
    return datetime.fromtimestamp(now, timezone.utc).strftime("%Y-%m-%d")


def seconds_to_next_day(now: float) -> int:
    return int(86400 - now % 86400) or 86400


@dataclass(frozen=True)
class Admission:
    """A request let in: who it is and what its limits leave, as response headers."""

    name: str
    headers: dict[str, str]


class KeyStore:
    """The key database of one model directory. One connection per thread; safe across processes."""

    def __init__(self, model_dir: str | Path, clock=time.time):
        self.path = Path(model_dir) / DATABASE
        self.clock = clock
        self._local = threading.local()
        self._keys_exist_cache: tuple[float, bool] = (-1.0, False)
        if self.path.exists():
            self._connect()  # creates missing tables of an older database

    def _connect(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            if not self.path.parent.is_dir():
                raise ConfigError(f"{self.path.parent} is not a directory; pass the served model directory")
            # isolation_level=None: transactions are explicit (BEGIN IMMEDIATE), so admission is atomic.
            conn = sqlite3.connect(self.path, timeout=10, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: durable across crashes of the process
            conn.executescript(SCHEMA)
            self._local.conn = conn
        return conn

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    # --- administration (lmforge keys ...) -----------------------------------------------------------------

    def create(self, name: str, rate: str | None = None, quota: str | None = None) -> str:
        """A new key for ``name``; returns the key, which is never stored and cannot be shown again."""
        if not NAME_PATTERN.match(name or ""):
            raise ConfigError(f"key name '{name}' must be 1-64 letters, digits, '.', '_' or '-', starting with "
                              "a letter or digit")
        rate_limit = parse_rate(rate)
        daily_quota = parse_quota(quota)
        conn = self._connect()
        if conn.execute("SELECT 1 FROM keys WHERE name = ?", (name,)).fetchone():
            raise ConfigError(f"a key named '{name}' already exists; revoke it first or pick another name")
        key_id = secrets.token_hex(6)
        key = f"lmf_{key_id}_{secrets.token_urlsafe(32)}"
        conn.execute("INSERT INTO keys (name, key_id, key_hash, rate_limit, rate_period, daily_quota, created) "
                     "VALUES (?, ?, ?, ?, ?, ?, ?)",
                     (name, key_id, hash_key(key), rate_limit[0] if rate_limit else None,
                      rate_limit[1] if rate_limit else None, daily_quota,
                      datetime.now(timezone.utc).isoformat(timespec="seconds")))
        return key

    def revoke(self, name: str) -> None:
        conn = self._connect()
        cursor = conn.execute("UPDATE keys SET revoked = ? WHERE name = ? AND revoked IS NULL",
                              (datetime.now(timezone.utc).isoformat(timespec="seconds"), name))
        if cursor.rowcount == 0:
            active = [row[0] for row in conn.execute("SELECT name FROM keys WHERE revoked IS NULL")]
            raise ConfigError(f"no active key named '{name}'; active keys: {', '.join(active) or 'none'}")

    def list(self) -> list[dict]:
        """Every key with its limits and today's usage (never the key itself)."""
        if not self.path.exists():
            return []
        today = utc_day(self.clock())
        rows = self._connect().execute(
            "SELECT k.name, k.key_id, k.rate_limit, k.rate_period, k.daily_quota, k.created, k.revoked, "
            "COALESCE(u.requests, 0), COALESCE(u.texts, 0), COALESCE(u.tokens, 0) FROM keys k "
            "LEFT JOIN usage u ON u.name = k.name AND u.day = ? ORDER BY k.created, k.name", (today,))
        period_names = {1: "s", 60: "min", 3600: "h"}
        return [{"name": r[0], "key_prefix": f"lmf_{r[1]}_…",
                 "rate": f"{r[2]}/{period_names.get(r[3], str(r[3]) + 's')}" if r[2] else None,
                 "quota": f"{r[4]}/day" if r[4] else None, "created": r[5], "revoked": r[6],
                 "today": {"requests": r[7], "texts": r[8], "tokens": r[9]}} for r in rows]

    # --- the request path ----------------------------------------------------------------------------------

    def keys_exist(self, max_age_s: float = 1.0) -> bool:
        """Whether any key was ever created (cached ``max_age_s``: a key made while serving counts at once
        for the next request after that)."""
        now = time.monotonic()
        checked, exist = self._keys_exist_cache
        if exist or now - checked < max_age_s:
            return exist
        exist = self.path.exists() and self._connect().execute("SELECT 1 FROM keys LIMIT 1").fetchone() is not None
        self._keys_exist_cache = (now, exist)
        return exist

    def authenticate(self, key: str | None) -> tuple:
        """The key's row ``(name, rate_limit, rate_period, daily_quota)``, or ServingError 401."""
        if not key:
            raise ServingError("this server needs an API key: send 'Authorization: Bearer <key>' (or "
                               "'X-API-Key: <key>'); ask the operator for one (`lmforge keys create`)",
                               status=401, headers={"WWW-Authenticate": "Bearer"})
        match = re.fullmatch(r"lmf_([0-9a-f]{12})_[A-Za-z0-9_-]{20,64}", key)
        row = None
        if match:
            row = self._connect().execute("SELECT name, key_hash, rate_limit, rate_period, daily_quota, revoked "
                                          "FROM keys WHERE key_id = ?", (match.group(1),)).fetchone()
        # Compare against a dummy hash when no row matched, so timing does not tell a wrong id from a wrong secret.
        stored = row[1] if row else "0" * 64
        if not hmac.compare_digest(hash_key(key), stored) or row is None or row[5] is not None:
            raise ServingError("the API key is not valid (unknown or revoked); check it, or ask the operator for "
                               "a new one", status=401, headers={"WWW-Authenticate": "Bearer"})
        return row[0], row[2], row[3], row[4]

    def admit(self, key: str | None, texts: int, tokens: int) -> Admission:
        """Check ``key``, its rate window and daily quota, and record the usage, in one transaction.

        Raises ServingError 401 (missing, unknown or revoked key) or 429 (rate or quota) with the headers that
        say how much is left and when it resets.
        """
        name, rate_limit, rate_period, daily_quota = self.authenticate(key)
        conn = self._connect()
        now = self.clock()
        day = utc_day(now)
        headers: dict[str, str] = {}
        conn.execute("BEGIN IMMEDIATE")
        try:
            if rate_limit:
                window = int(now // rate_period) * rate_period
                current = conn.execute("SELECT window_start, requests FROM rate_windows WHERE name = ?",
                                       (name,)).fetchone()
                used = current[1] if current and current[0] == window else 0
                reset = max(1, int(window + rate_period - now + 0.999))
                if used >= rate_limit:
                    raise ServingError(f"rate limit of {rate_limit} requests per {rate_period} s reached for key "
                                       f"'{name}'; retry in {reset} s", status=429,
                                       headers={"Retry-After": str(reset), "X-RateLimit-Limit": str(rate_limit),
                                                "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(reset)})
                conn.execute("INSERT INTO rate_windows (name, window_start, requests) VALUES (?, ?, 1) "
                             "ON CONFLICT(name) DO UPDATE SET requests = CASE WHEN window_start = excluded.window_start "
                             "THEN requests + 1 ELSE 1 END, window_start = excluded.window_start", (name, window))
                headers.update({"X-RateLimit-Limit": str(rate_limit),
                                "X-RateLimit-Remaining": str(rate_limit - used - 1), "X-RateLimit-Reset": str(reset)})
            if daily_quota:
                used_today = conn.execute("SELECT texts FROM usage WHERE name = ? AND day = ?",
                                          (name, day)).fetchone()
                used_today = used_today[0] if used_today else 0
                reset = seconds_to_next_day(now)
                if used_today + texts > daily_quota:
                    raise ServingError(f"daily quota of {daily_quota} texts reached for key '{name}' ({used_today} "
                                       f"used, this request has {texts}); it resets at 00:00 UTC, in {reset} s",
                                       status=429, headers={"Retry-After": str(reset),
                                                            "X-Quota-Limit": str(daily_quota),
                                                            "X-Quota-Remaining": str(daily_quota - used_today),
                                                            "X-Quota-Reset": str(reset)})
                headers.update({"X-Quota-Limit": str(daily_quota),
                                "X-Quota-Remaining": str(daily_quota - used_today - texts),
                                "X-Quota-Reset": str(reset)})
            self._record(conn, name, day, 1, texts, tokens)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return Admission(name, headers)

    def refund(self, admission: Admission, texts: int, tokens: int) -> None:
        """Take back the usage of a request that failed on the server's side (customers do not pay for 500s)."""
        conn = self._connect()
        conn.execute("BEGIN IMMEDIATE")
        self._record(conn, admission.name, utc_day(self.clock()), -1, -texts, -tokens)
        conn.execute("COMMIT")

    def add_tokens(self, admission: Admission, tokens: int) -> None:
        """Record tokens counted after admission (a generation's completion tokens)."""
        conn = self._connect()
        conn.execute("BEGIN IMMEDIATE")
        self._record(conn, admission.name, utc_day(self.clock()), 0, 0, tokens)
        conn.execute("COMMIT")

    @staticmethod
    def _record(conn: sqlite3.Connection, name: str, day: str, requests: int, texts: int, tokens: int) -> None:
        conn.execute("INSERT INTO usage (name, day, requests, texts, tokens) VALUES (?, ?, ?, ?, ?) "
                     "ON CONFLICT(name, day) DO UPDATE SET requests = requests + excluded.requests, "
                     "texts = texts + excluded.texts, tokens = tokens + excluded.tokens",
                     (name, day, requests, texts, tokens))


def usage_by_key(model_dir: str | Path) -> list[dict]:
    """Recorded usage of a served model: one dict per key and UTC day, oldest first.

    ``[{"key": "acme", "day": "2026-11-23", "requests": 12, "texts": 40, "tokens": 630}, ...]``; an empty list
    when the model was never served with keys.
    """
    path = Path(model_dir) / DATABASE
    if not path.exists():
        return []
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    try:
        rows = conn.execute("SELECT name, day, requests, texts, tokens FROM usage ORDER BY day, name").fetchall()
    except sqlite3.OperationalError:  # a database from before usage was recorded
        rows = []
    finally:
        conn.close()
    return [{"key": r[0], "day": r[1], "requests": r[2], "texts": r[3], "tokens": r[4]} for r in rows]
