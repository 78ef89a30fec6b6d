"""``cpts-geo app`` at the command line (``cpts_geo/cli/app.py``): the address it listens on and
a French way out when the app's server (the ``app`` extra) is not installed."""

from __future__ import annotations

import subprocess
import sys

import pytest

from cpts_geo.cli import main
from cpts_geo.cli.app import check_host

SAMPLE = "examples/cpts_paca_sample/cpts_04_05_84.csv"


@pytest.mark.parametrize("host", ["", "  ", "::", "[::]", "*", "0", "0.0", "0x0", "::ffff:0.0.0.0"])
def test_an_empty_or_wildcard_host_is_refused_naming_the_explicit_spelling(capsys, host):
    assert main(["app", "--host", host, "--no-browser"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("erreur : option --host : ")
    assert "écrire explicitement --host 0.0.0.0" in err and f"(valeur « {host} »)" in err
    assert "Traceback" not in err


def test_an_address_this_computer_cannot_resolve_is_refused(capsys):
    assert main(["app", "--host", "hote-inconnu.invalid", "--no-browser"]) == 2
    assert "option --host : adresse inconnue" in capsys.readouterr().err


@pytest.mark.parametrize(("host", "kept"), [("127.0.0.1", "127.0.0.1"), (" localhost ", "localhost"),
                                             ("[::1]", "::1"), ("0.0.0.0", "0.0.0.0")])
def test_loopback_and_the_explicit_all_interfaces_address_are_kept(host, kept):
    assert check_host(host) == kept


def test_listening_on_every_interface_names_the_address_in_the_warning(monkeypatch, capsys):
    pytest.importorskip("uvicorn")
    import uvicorn
    from app_support import free_port

    served = {}
    monkeypatch.setattr(uvicorn.Server, "run", lambda self: served.setdefault("host", self.config.host))
    port = str(free_port())
    assert main(["app", "--existing", SAMPLE, "--host", "0.0.0.0", "--port", port, "--no-browser"]) == 0
    err = capsys.readouterr().err
    assert served["host"] == "0.0.0.0"
    assert "attention : l'application écoute sur 0.0.0.0 (toutes les adresses de cet ordinateur)" in err


@pytest.mark.parametrize("module", ["uvicorn", "starlette"])
def test_without_the_app_extra_the_command_says_how_to_install_it(monkeypatch, capsys, module):
    monkeypatch.setitem(sys.modules, module, None)  # the module cannot be imported, as uninstalled
    assert main(["app", "--no-browser"]) == 2
    err = capsys.readouterr().err
    assert f"le serveur web de l'application n'est pas installé ({module})" in err
    assert 'pip install "cpts_geo[app]"' in err and 'pip install -e ".[app]"' in err
    assert "Traceback" not in err


def test_importing_the_library_and_its_api_never_imports_the_apps_server():
    code = ("import sys, cpts_geo\n"
            "for name in cpts_geo.__all__: getattr(cpts_geo, name)\n"
            "import cpts_geo.cli, cpts_geo.cli.app\n"
            "loaded = sorted(m for m in ('starlette', 'uvicorn') if m in sys.modules)\n"
            "assert not loaded, loaded\n")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
