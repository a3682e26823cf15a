"""Settings are read strictly from the environment."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_database, env_int, env_list

ROOT = Path(__file__).resolve().parents[1]


def _settings_in_subprocess(env: dict, expr: str) -> subprocess.CompletedProcess:
    base = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "DEBUG")
    }
    code = f"import django.conf as c; from django.conf import settings; print(repr(({expr})))"
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={
            **base,
            "PYTHONPATH": f"{ROOT / 'platform'}:{ROOT}",
            "DJANGO_SETTINGS_MODULE": "config.settings.base",
            **env,
        },
    )


@pytest.mark.parametrize(
    ("raw", "expected"), [("true", True), ("False", False), ("1", True), ("off", False), ("", True)]
)
def test_env_bool_accepts_known_words(raw, expected):
    assert env_bool("X", True, environ_={"X": raw}) is expected


def test_env_bool_rejects_unknown_words():
    with pytest.raises(ImproperlyConfigured, match="DEBUG='maybe' is not a boolean"):
        env_bool("DEBUG", False, environ_={"DEBUG": "maybe"})


def test_env_int_rejects_garbage_and_out_of_range():
    with pytest.raises(ImproperlyConfigured, match="LIMIT='ten' is not an integer"):
        env_int("LIMIT", 1, environ_={"LIMIT": "ten"})
    with pytest.raises(ImproperlyConfigured, match="outside the allowed range"):
        env_int("LIMIT", 1, minimum=5, environ_={"LIMIT": "3"})


def test_env_list_and_database_url():
    assert env_list("H", [], environ_={"H": "a, b,,c"}) == ["a", "b", "c"]
    db = env_database("DATABASE_URL", {}, environ_={"DATABASE_URL": "postgres://u@db:5433/name"})
    assert db["ENGINE"] == "django.db.backends.postgresql"
    assert (db["HOST"], db["PORT"], db["NAME"], db["USER"]) == ("db", 5433, "name", "u")
    with pytest.raises(ImproperlyConfigured, match="DATABASE_URL"):
        env_database("DATABASE_URL", {}, environ_={"DATABASE_URL": "nosuchdb://x/y"})


def test_bad_debug_value_stops_start_up_naming_the_variable():
    result = _settings_in_subprocess({"DEBUG": "maybe"}, "settings.DEBUG")
    assert result.returncode != 0
    assert "DEBUG='maybe' is not a boolean" in result.stderr


def test_secret_key_is_required_when_debug_is_off():
    result = _settings_in_subprocess({"DEBUG": "false"}, "settings.SECRET_KEY")
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr
    ok = _settings_in_subprocess(
        {"DEBUG": "false", "SECRET_KEY": "s3cret-from-env"}, "settings.SECRET_KEY"
    )
    assert ok.stdout.strip() == "'s3cret-from-env'"


def _prepare_in_subprocess(env: dict) -> subprocess.CompletedProcess:
    code = "from config.local_state import prepare; prepare()"
    base = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "SECRET_KEY", "DEBUG")}
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**base, "PYTHONPATH": f"{ROOT / 'platform'}:{ROOT}", **env},
    )


def test_embedded_defaults_sqlite_and_filesystem_broker(tmp_path):
    var = tmp_path / "var"
    assert _prepare_in_subprocess({"PERCEPTLAB_VAR_DIR": str(var)}).returncode == 0
    assert sorted(p.name for p in (var / "celery").iterdir()) == [
        "broker",
        "control",
        "processed",
        "results",
    ]
    expr = "settings.DATABASES['default']['ENGINE'], settings.CELERY_BROKER_URL, settings.SECRET_KEY[:4]"
    result = _settings_in_subprocess({"PERCEPTLAB_VAR_DIR": str(var)}, expr)
    assert result.returncode == 0, result.stderr
    assert "'django.db.backends.sqlite3', 'filesystem://'" in result.stdout
    key = (var / "secret_key").read_text()
    assert result.stdout.strip().endswith(f"'{key[:4]}')"), (
        "the development key generated once into var/ is the one settings use"
    )
    assert _prepare_in_subprocess({"PERCEPTLAB_VAR_DIR": str(var)}).returncode == 0
    again = _settings_in_subprocess({"PERCEPTLAB_VAR_DIR": str(var)}, "settings.SECRET_KEY")
    assert again.stdout.strip() == repr(key), "prepare() keeps the key it generated"


def test_importing_settings_writes_nothing(tmp_path):
    """Settings are free of side effects: no folder, no secret file, whatever the defaults."""
    var = tmp_path / "var"
    for env in ({"SECRET_KEY": "k"}, {"SECRET_KEY": "k", "REDIS_URL": "redis://127.0.0.1:1/0"}):
        result = _settings_in_subprocess(
            {"PERCEPTLAB_VAR_DIR": str(var), **env}, "settings.STATIC_ROOT, settings.CELERY_DIR"
        )
        assert result.returncode == 0, result.stderr
        assert not var.exists(), "importing settings created folders"
    missing = _settings_in_subprocess({"PERCEPTLAB_VAR_DIR": str(var)}, "settings.SECRET_KEY")
    assert missing.returncode != 0
    assert "SECRET_KEY is not set" in missing.stderr and "manage.py" in missing.stderr
    assert not var.exists()


def test_manage_py_prepares_the_local_state(tmp_path):
    var = tmp_path / "var"
    base = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "SECRET_KEY", "DEBUG")}
    result = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "check"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={
            **base,
            "PERCEPTLAB_VAR_DIR": str(var),
            "DJANGO_SETTINGS_MODULE": "config.settings.base",
        },
    )
    assert result.returncode == 0, result.stderr
    assert (var / "secret_key").is_file() and (var / "celery" / "broker").is_dir()


def test_urls_select_postgres_and_redis(tmp_path):
    expr = "settings.DATABASES['default']['ENGINE'], settings.CELERY_BROKER_URL"
    result = _settings_in_subprocess(
        {
            "PERCEPTLAB_VAR_DIR": str(tmp_path),
            "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/x",
            "REDIS_URL": "redis://127.0.0.1:6379/3",
            "SECRET_KEY": "k",
        },
        expr,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "('django.db.backends.postgresql', 'redis://127.0.0.1:6379/3')"


def _variables_read_by_the_code() -> dict[str, set[str]]:
    """Names passed to our env readers, os.environ.get / os.getenv / os.environ[...] (reads)."""
    import ast

    readers = {"env_str", "env_int", "env_bool", "env_list", "env_secret", "env_database", "getenv"}
    found: dict[str, set[str]] = {}
    files = [ROOT / "manage.py"]
    for folder in ("platform", "metrics", "experiments"):
        files += [p for p in (ROOT / folder).rglob("*.py") if "migrations" not in p.parts]
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            name = None
            if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
                func = node.func
                called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                on_environ = (
                    isinstance(func, ast.Attribute) and ast.unparse(func.value) == "os.environ"
                )
                if called in readers or (called == "get" and on_environ):
                    name = node.args[0].value
            elif (
                isinstance(node, ast.Subscript)
                and ast.unparse(node.value) == "os.environ"
                and isinstance(node.slice, ast.Constant)
                and not isinstance(node.ctx, ast.Store)
            ):
                name = node.slice.value
            if isinstance(name, str) and name.isupper():
                found.setdefault(name, set()).add(str(path.relative_to(ROOT)))
    return found


def test_env_example_lists_every_variable_the_code_reads():
    listed = set()
    for line in (ROOT / ".env.example").read_text(encoding="utf-8").splitlines():
        text = line.lstrip("# ").split("=", 1)
        if len(text) == 2 and text[0].isupper() and " " not in text[0]:
            listed.add(text[0])
    read = _variables_read_by_the_code()
    assert len(read) > 20, "the scan found too few variables to be looking at the code"
    missing = {name: sorted(where) for name, where in read.items() if name not in listed}
    assert not missing, f".env.example lacks {missing}"


def test_a_celery_worker_process_prepares_the_local_state_before_reading_settings(tmp_path):
    """A bare `celery -A config.celery_app worker` on a fresh checkout (DEBUG, no SECRET_KEY, no
    var/ yet) must not fail on the missing development key: Celery's first use prepares it."""
    var = tmp_path / "var"
    code = (
        "from config.celery_app import app; import os; "
        f"assert not os.path.exists({str(var)!r}); print(app.conf.broker_url)"
    )
    base = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "SECRET_KEY", "DEBUG")}
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={
            **base,
            "PYTHONPATH": f"{ROOT / 'platform'}:{ROOT}",
            "PERCEPTLAB_VAR_DIR": str(var),
            "DJANGO_SETTINGS_MODULE": "config.settings.base",
        },
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == "filesystem://"
    assert (var / "secret_key").is_file() and (var / "celery" / "broker").is_dir()
