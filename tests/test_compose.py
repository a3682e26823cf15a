"""Docker cannot run here, so check the compose file statically: services, commands, modules."""

import importlib.util
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "platform"))


def _compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def _module_exists(dotted: str) -> bool:
    return importlib.util.find_spec(dotted) is not None


def test_compose_has_the_stack_with_health_checks():
    services = _compose()["services"]
    assert {"postgres", "redis", "web", "worker", "gpu-worker"} <= set(services)
    for name in ("postgres", "redis", "web", "worker", "gpu-worker"):
        assert "healthcheck" in services[name], f"{name} has no health check"
    devices = services["gpu-worker"]["deploy"]["resources"]["reservations"]["devices"]
    assert devices[0]["driver"] == "nvidia"
    assert "gpu" in devices[0]["capabilities"]
    for name in ("web", "worker", "gpu-worker"):
        assert "media:/data/media" in services[name]["volumes"], (
            f"{name} lacks the shared media volume"
        )
    assert (ROOT / "Dockerfile").exists()


def test_every_command_refers_to_existing_modules_and_queues():
    from config.celery_app import QUEUES

    services = _compose()["services"]
    seen = 0
    for name, service in services.items():
        command = service.get("command")
        if not command or service.get("image", "").startswith(("postgres", "redis")):
            continue
        seen += 1
        if command[0] == "gunicorn":
            module, attr = command[1].split(":")
            assert _module_exists(module), f"{name}: no module {module}"
            assert attr == "application"
            assert (
                "application ="
                in (ROOT / "platform" / Path(*module.split("."))).with_suffix(".py").read_text()
            )
        elif command[0] == "celery":
            app = command[command.index("-A") + 1]
            assert _module_exists(app), f"{name}: no module {app}"
            queues = command[command.index("-Q") + 1].split(",")
            assert set(queues) <= set(QUEUES), f"{name}: unknown queue in {queues}"
        elif command[:2] == ["python", "manage.py"]:
            assert (ROOT / "manage.py").exists()
        else:
            raise AssertionError(f"{name}: unexpected command {command}")
    assert seen >= 4
    worker_queues = set(
        services["worker"]["command"][services["worker"]["command"].index("-Q") + 1].split(",")
    )
    assert worker_queues == {"default", "stimuli"}
    assert (
        services["gpu-worker"]["command"][services["gpu-worker"]["command"].index("-Q") + 1]
        == "gpu"
    )
