"""Sandboxes: a copy of the instance to rehearse on (`zhongshu sandbox create|list|drop`).

A sandbox NAME lives in ZHONGSHU_HOME/sandboxes/NAME/: its own home (secret key, queue, metrics),
`sandbox.json` naming its database, and for a SQLite instance its database file. Any command runs
against it with `zhongshu --sandbox NAME …` or ZHONGSHU_SANDBOX=NAME (zhongshu.settings).

How the data is copied (fast, and consistent while the hub runs):
- SQLite: the SQLite online backup API (`sqlite3.Connection.backup`), page by page, a consistent
  snapshot even with writers on the WAL.
- PostgreSQL: `CREATE DATABASE <db>_sb_<name> TEMPLATE <db>` on the same server: a file-level copy,
  seconds for gigabytes. PostgreSQL refuses it while another session is connected to the source
  (a running `zhongshu serve`/worker): stop them for the copy, or copy from a replica with --from.

Then, in the copy:
- the sandbox has its own keys: every encrypted value (platform tokens, webhook and notification
  secrets: Fernet; receivers' names, phones, addresses: AES-GCM) is decrypted with the instance's
  keys and encrypted again with the sandbox's, and the blind indexes recomputed with its PII key;
- with --anonymise, receivers' names, phones and addresses and buyers' nicknames and ids are replaced
  by stand-ins, the same stand-in for the same value (repeat buyers still merge);
- nothing leaves: platform, carrier, SMS and robot tokens are replaced by a stand-in; every shop's
  connector points at a local address (a closed port on 127.0.0.1:
  connectors fail fast and never reach a platform; `zhongshu loadtest` points the shops it pulls at
  the platform doubles it runs, zhongshu.loadpaths), every waybill account uses the sandbox waybill
  service, notification channels and
  webhook subscribers are switched off (alerts stay in the hub's own alert log), SMS notices off;
  and in a sandbox the settings switch the Taobao/PDD message listeners off and SF to a local port.
"""

import base64
import hashlib
import hmac
import json
import re
import secrets
import shutil
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import dj_database_url
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.apps import apps
from django.conf import settings
from django.db import connections, models

from zhongshu.core import crypto
from zhongshu.core.fields import BLIND_INDEXES, EncryptedTextField, blind_indexes

NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")
ALIAS = "sandbox"
LOCAL_PLATFORM = "http://127.0.0.1:9/zhongshu-sandbox/"  # port 9 (discard): refused at once


class SandboxError(Exception):
    pass


def root() -> Path:
    return Path(settings.INSTANCE_HOME) / "sandboxes"


def home(name: str) -> Path:
    return root() / name


def describe(name: str) -> dict:
    try:
        return json.loads((home(name) / "sandbox.json").read_text())
    except (OSError, ValueError) as exc:
        raise SandboxError(f"no sandbox named '{name}'") from exc


def list_sandboxes() -> list[dict]:
    if not root().is_dir():
        return []
    return [describe(p.name) for p in sorted(root().iterdir()) if (p / "sandbox.json").is_file()]


def create(name: str, source_url: str = "", anonymise: bool = False) -> dict:
    """Copy the instance (or the database at source_url) into sandbox `name`; its description."""
    if settings.SANDBOX:
        raise SandboxError("already in a sandbox: create sandboxes from the instance itself")
    if not NAME.fullmatch(name):
        raise SandboxError(f"sandbox name '{name}': lower-case letters, digits, - and _ (at most 40)")
    folder = home(name)
    if folder.exists():
        raise SandboxError(f"sandbox '{name}' exists (zhongshu sandbox drop {name})")
    source = dj_database_url.parse(source_url) if source_url else settings.DATABASES["default"]
    folder.mkdir(mode=0o700, parents=True)
    started = datetime.now(UTC)
    try:
        if source["ENGINE"].endswith("sqlite3") or source["ENGINE"] == settings.SQLITE_ENGINE:
            url, how = _copy_sqlite(source, folder / "zhongshu.sqlite3"), "sqlite backup"
        elif "postgresql" in source["ENGINE"]:
            url, how = _copy_postgres(source, name), "postgresql template"
        else:
            raise SandboxError(f"cannot copy a {source['ENGINE']} database")
        secret = secrets.token_urlsafe(48)
        (folder / "secret.key").write_text(secret)
        info = {
            "name": name, "database_url": url, "copied_by": how, "anonymised": anonymise,
            "created_at": started.isoformat(timespec="seconds"),
            "source": _label(source), "copy_seconds": 0.0,
        }  # fmt: skip
        (folder / "sandbox.json").write_text(json.dumps(info, indent=2))
        _prepare(url, secret, anonymise)
        info["copy_seconds"] = round((datetime.now(UTC) - started).total_seconds(), 2)
        (folder / "sandbox.json").write_text(json.dumps(info, indent=2))
        return info
    except BaseException:
        drop(name, missing_ok=True)
        raise


def drop(name: str, missing_ok: bool = False) -> None:
    folder = home(name)
    if not NAME.fullmatch(name) or not folder.is_dir():
        if missing_ok:
            return
        raise SandboxError(f"no sandbox named '{name}'")
    if settings.SANDBOX == name:
        raise SandboxError(f"cannot drop sandbox '{name}' from inside it")
    try:
        url = json.loads((folder / "sandbox.json").read_text())["database_url"]
    except (OSError, ValueError, KeyError):
        url = ""
    if url.startswith("postgres"):
        db = dj_database_url.parse(url)
        with _maintenance(db) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{db["NAME"]}" WITH (FORCE)')
    shutil.rmtree(folder)


# --- copying -----------------------------------------------------------------------------------


def _label(db: dict) -> str:
    if "postgresql" in db["ENGINE"]:
        return f"postgresql {db.get('HOST') or 'localhost'}:{db.get('PORT') or 5432}/{db['NAME']}"
    return f"sqlite {db['NAME']}"


def _copy_sqlite(source: dict, target: Path) -> str:
    src = sqlite3.connect(source["NAME"])
    dst = sqlite3.connect(target)
    try:
        src.backup(dst, pages=4096)
        dst.execute("PRAGMA journal_mode=WAL")
    finally:
        dst.close()
        src.close()
    return f"sqlite:///{target}"


def _maintenance(db: dict):
    import psycopg

    return psycopg.connect(
        dbname="postgres", host=db.get("HOST") or None, port=db.get("PORT") or None,
        user=db.get("USER") or None, password=db.get("PASSWORD") or None, autocommit=True,
    )  # fmt: skip


def _copy_postgres(source: dict, name: str) -> str:
    import psycopg

    target = f"{source['NAME']}_sb_{name.replace('-', '_')}"[:63]
    connections.close_all()  # this process's own session on the source would block the copy
    with _maintenance(source) as conn:
        try:
            conn.execute(f'CREATE DATABASE "{target}" TEMPLATE "{source["NAME"]}"')
        except psycopg.errors.ObjectInUse as exc:
            raise SandboxError(
                f"PostgreSQL copies {source['NAME']} only while nobody else is connected to it: stop "
                "`zhongshu serve`/`worker` for the copy (seconds), or copy a replica with --from"
            ) from exc
    auth = source.get("USER") or ""
    if source.get("PASSWORD"):
        auth += f":{source['PASSWORD']}"
    host = f"{source.get('HOST') or 'localhost'}:{source.get('PORT') or 5432}"
    return f"postgresql://{auth + '@' if auth else ''}{host}/{target}"


# --- making the copy safe ----------------------------------------------------------------------


def _prepare(url: str, secret: str, anonymise: bool) -> None:
    from zhongshu.settings import _database  # the instance's way from a URL to a connection

    db = _database(url)
    configured = connections.configure_settings({"default": dict(settings.DATABASES["default"]), ALIAS: db})
    connections.settings[ALIAS] = configured[ALIAS]
    try:
        conn = connections[ALIAS]
        with conn.cursor() as cur:
            _rekey(cur, conn, secret, anonymise)
        _neutralise()
    finally:
        connections[ALIAS].close()
        del connections[ALIAS]
        del connections.settings[ALIAS]


def _keys(raw: str) -> tuple[Fernet, AESGCM]:
    fernet = Fernet(base64.urlsafe_b64encode(hashlib.sha256(("credentials:" + raw).encode()).digest()))
    return fernet, AESGCM(hashlib.sha256(("personal-data:" + raw).encode()).digest())


def _rekey(cur, conn, secret: str, anonymise: bool) -> None:
    """Every encrypted value under the sandbox's keys; blind indexes with its PII key."""
    old_fernet, old_aead = crypto._fernet(), crypto._aead()
    new_fernet, new_aead = _keys(secret)
    qn = conn.ops.quote_name
    for model in apps.get_models():
        sealed = [f for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]
        fernet = [
            f for f in model._meta.concrete_fields
            if isinstance(f, models.TextField) and f.name.endswith("_enc") and f not in sealed
        ]  # fmt: skip
        if not sealed and not fernet:
            continue
        indexes = blind_indexes(model)
        anon = [f for f in ("buyer_nick", "buyer_ref") if anonymise and _has(model, f)]
        pk = model._meta.pk.column
        cols = [f.column for f in sealed + fernet] + anon
        cur.execute(f"SELECT {qn(pk)}, {', '.join(qn(c) for c in cols)} FROM {qn(model._meta.db_table)}")
        rows, updates = cur.fetchall(), []
        for pk_value, *values in rows:
            clear = {f.name: _unseal(old_aead, v) for f, v in zip(sealed, values, strict=False)}
            if anonymise:
                clear = {k: _stand_in(k, v) for k, v in clear.items()}
            tokens = [
                new_fernet.encrypt(_secret(model, f, old_fernet.decrypt(v.encode()))).decode() if v else ""
                for f, v in zip(fernet, values[len(sealed) : len(sealed) + len(fernet)], strict=True)
            ]
            extra = [_stand_in(f, v) for f, v in zip(anon, values[len(sealed) + len(fernet) :], strict=True)]
            hashes = _indexed(indexes, clear, secret)
            updates.append(
                [*(_seal(new_aead, clear[f.name]) for f in sealed), *tokens, *extra, *hashes, pk_value]
            )
        if updates:
            sets = ", ".join(f"{qn(c)} = %s" for c in cols + [f.column for f in indexes])
            cur.executemany(f"UPDATE {qn(model._meta.db_table)} SET {sets} WHERE {qn(pk)} = %s", updates)
        if anonymise and _has(model, "id_number_hash"):
            cur.execute(f"UPDATE {qn(model._meta.db_table)} SET id_number_hash = '', id_number_masked = ''")


# secrets a sandbox keeps: what the hub itself signs with (own shops' pushes, its webhooks); every
# platform, carrier, SMS and robot token is replaced, so even a call that went out would carry none
KEPT_SECRETS = {"push_secret_enc", "webhooks.webhookendpoint.secret_enc"}
STAND_IN_SECRET = b"zhongshu-sandbox-not-a-secret"


def _secret(model, field, clear: bytes) -> bytes:
    kept = field.name in KEPT_SECRETS or f"{model._meta.label_lower}.{field.name}" in KEPT_SECRETS
    return clear if kept else STAND_IN_SECRET


def _has(model, name: str) -> bool:
    return any(f.name == name for f in model._meta.concrete_fields)


def _indexed(indexes, clear: dict, secret: str) -> list[str]:
    kept = settings.PII_KEY
    settings.PII_KEY = "pii:" + secret
    try:
        return [BLIND_INDEXES[f.kind](clear.get(f.source) or "") for f in indexes]
    finally:
        settings.PII_KEY = kept


def _unseal(aead: AESGCM, token: str | None) -> str | None:
    if not token or not token.startswith(crypto.SEALED):
        return token  # empty, or clear text an older version wrote
    blob = base64.b64decode(token[len(crypto.SEALED) :])
    return aead.decrypt(blob[:12], blob[12:], None).decode()


def _seal(aead: AESGCM, plain: str | None) -> str | None:
    if not plain:
        return plain
    nonce = secrets.token_bytes(12)
    return crypto.SEALED + base64.b64encode(nonce + aead.encrypt(nonce, plain.encode(), None)).decode()


_SALT = secrets.token_bytes(16)  # stand-ins follow the value within one copy, not across copies


def _stand_in(field: str, value: str | None) -> str | None:
    """The same stand-in for the same value (repeat buyers still merge), telling nothing of it."""
    if not value:
        return value
    n = int.from_bytes(hmac.new(_SALT, f"{field}\x00{value}".encode(), hashlib.sha256).digest()[:8])
    if "phone" in field:
        return f"199{n % 10**8:08d}"
    if "address" in field:
        return f"沙箱路{n % 9000 + 100}号{n % 30 + 1}栋"
    if "name" in field:
        return "测试" + "甲乙丙丁戊己庚辛壬癸"[n % 10] + "子丑寅卯辰巳午未申酉戌亥"[n // 10 % 12]
    return f"sb{n % 10**10:010d}"


def _neutralise() -> None:
    """Nothing of the sandbox reaches a platform, a carrier, a buyer or a subscriber."""
    from zhongshu.channels.models import ShopCredential
    from zhongshu.notify.models import Channel
    from zhongshu.shipping.models import AfterShipSettings, Provider, WaybillAccount
    from zhongshu.webhooks.models import WebhookEndpoint

    ShopCredential.objects.using(ALIAS).update(api_base_url=LOCAL_PLATFORM)
    WaybillAccount.objects.using(ALIAS).update(provider=Provider.SANDBOX, check_word="")  # SF's secret
    Channel.objects.using(ALIAS).update(active=False, base_url=LOCAL_PLATFORM)
    WebhookEndpoint.objects.using(ALIAS).update(active=False, disabled_reason="沙箱：不向外推送")
    AfterShipSettings.objects.using(ALIAS).update(
        sms_enabled=False, kuaidi100_url=LOCAL_PLATFORM, aliyun_sms_url=LOCAL_PLATFORM
    )
