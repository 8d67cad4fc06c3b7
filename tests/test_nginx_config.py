"""nginx's configuration renders from the environment and passes `nginx -t`, in both modes; a missing variable
stops the rendering with a clear message.
"""

from __future__ import annotations

import shutil
import subprocess

import pytest

from deployment import make_certificate, nginx_variables, render_nginx, require, world_readable_directory


@pytest.fixture
def prefix():
    path = world_readable_directory()
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.mark.parametrize("mode", ["development", "production"])
def test_the_rendered_configuration_passes_nginx_t(prefix, mode):
    nginx = require("nginx")
    make_certificate(prefix / "certs")
    # `nginx -t` resolves upstream names, so names this machine knows stand in for compose's service names.
    variables = nginx_variables(mode, prefix / "certs", 8080, 8443, "localhost:5000", "localhost:8000")
    rendered = render_nginx(prefix, **variables)
    assert rendered.returncode == 0, rendered.stderr
    config = (prefix / "nginx.conf").read_text()
    assert "${" not in config
    assert "server localhost:5000;" in config and "server localhost:8000;" in config
    tested = subprocess.run([nginx, "-t", "-p", str(prefix), "-c", str(prefix / "nginx.conf")],
                            capture_output=True, text=True, check=False)  # fmt: skip
    assert tested.returncode == 0, tested.stderr
    assert "test is successful" in tested.stderr


def test_a_missing_variable_stops_the_rendering(prefix):
    require("envsubst")
    variables = nginx_variables("production", prefix / "certs", 80, 443, "auth:5000", "movies-api:8000")
    del variables["NGINX_AUTH_UPSTREAM"]
    rendered = render_nginx(prefix, **variables)
    assert rendered.returncode == 1
    assert rendered.stderr.strip() == "nginx/render: NGINX_AUTH_UPSTREAM is not set"
    assert not (prefix / "nginx.conf").exists()
