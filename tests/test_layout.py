"""Guard the layout rules (README, Layout): platform/ is a plain folder, never a package."""

import subprocess
import sys
import sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PLATFORM = ROOT / "platform"
FORBIDDEN_APP_NAMES = {"metrics", "experiments", "celery", "tasks"}


def test_platform_is_not_a_package():
    assert not (PLATFORM / "__init__.py").exists(), (
        "platform/__init__.py shadows the stdlib 'platform' module"
    )
    assert not (ROOT / "platform.py").exists()


def test_import_platform_is_the_stdlib_with_platform_folder_on_path():
    code = (
        "import sys; sys.path.insert(0, 'platform'); sys.path.insert(0, '.');"
        "import platform, uuid; print(platform.__file__); print(platform.system()); uuid.uuid4()"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    module_file = Path(out.splitlines()[0]).resolve()
    assert module_file.is_relative_to(Path(sysconfig.get_paths()["stdlib"]).resolve())


def test_no_app_folder_shadows_a_module():
    for folder in PLATFORM.iterdir():
        if (
            not folder.is_dir()
            or folder.name.startswith((".", "_"))
            or folder.name in ("templates", "static")
        ):
            continue
        assert folder.name not in sys.stdlib_module_names, (
            f"platform/{folder.name} shadows the stdlib"
        )
        assert folder.name not in FORBIDDEN_APP_NAMES, (
            f"platform/{folder.name} shadows a project or library name"
        )
        assert not (PLATFORM / f"{folder.name}.py").exists()
    assert not (PLATFORM / "celery.py").exists()


def test_manage_py_check_runs_from_a_plain_interpreter():
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


def test_libraries_import_no_django():
    code = "import sys, metrics, experiments; bad=[m for m in sys.modules if m.split('.')[0]=='django']; print(bad)"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
