"""``cpts-geo app``: compose a CPTS territory on a map in the browser, every check live.

Starts a local web server (Starlette on uvicorn, 127.0.0.1 by default) and opens the browser on
it. The page works offline (vendored Leaflet, no background tiles unless ``--tiles``).
"""

from __future__ import annotations

import argparse
import ipaddress
import socket
import sys
import threading
import time

LOOPBACK = ("127.0.0.1", "localhost", "::1")
#: the one spelling that may listen on every interface: written explicitly, never implied
ALL_INTERFACES = "0.0.0.0"
#: the app's web server: the ``app`` extra of the package
SERVER_MODULES = ("starlette", "uvicorn")
INSTALL_HINT = ("le serveur web de l'application n'est pas installé ({missing}) : installer "
                "l'option « app » de cpts_geo avec pip install \"cpts_geo[app]\" (depuis une copie "
                "du dépôt : pip install -e \".[app]\")")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "app",
        help="Compose un territoire de CPTS sur une carte dans le navigateur, vérifications en direct.",
        description="Lance une application locale dans le navigateur : cliquer ou chercher des "
                    "communes, voir la population, la taille ACI et toutes les vérifications après "
                    "chaque changement, puis exporter la liste pour l'ARS (CSV, Excel), le contour "
                    "(GeoJSON, GeoPackage) et le rapport de vérification (HTML). Fonctionne sans "
                    "internet. Arrêt : Ctrl+C dans cette fenêtre.",
    )
    p.add_argument("--existing", "-e", metavar="LISTE",
                   help="liste des CPTS existantes (tout format lu par read_members)")
    from cpts_geo.cli.options import add_area_options

    add_area_options(p, "affiché")
    p.add_argument("--replaces", action="append", default=[], metavar="CPTS",
                   help="CPTS existante dont on redessine le périmètre : la page part de ses "
                        "communes (répétable)")
    p.add_argument("--apl", metavar="FICHIER", help="fichier APL de la DREES (xlsx ou csv)")
    p.add_argument("--apl-cog", type=int, metavar="ANNÉE", help="année du COG des codes du fichier APL")
    p.add_argument("--tiles", help="fond de carte en ligne (ex. « OpenStreetMap ») ; défaut : "
                   "aucun, la carte fonctionne hors ligne")
    p.add_argument("--port", type=int, default=8765, help="port local (défaut 8765)")
    p.add_argument("--host", default="127.0.0.1",
                   help="adresse d'écoute (défaut 127.0.0.1 : ce seul ordinateur)")
    p.add_argument("--no-browser", action="store_true", help="n'ouvre pas le navigateur")
    p.set_defaults(func=run)


def is_loopback(host: str) -> bool:
    """True when ``host`` only listens on this computer."""
    if host in LOOPBACK:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def missing_server_modules() -> list[str]:
    """The modules of the ``app`` extra (:data:`SERVER_MODULES`) that cannot be imported."""
    import importlib

    missing = []
    for name in SERVER_MODULES:
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append(name)
    return missing


def check_host(host: str) -> str:
    """``host`` stripped, refused (:class:`~cpts_geo.errors.OptionError`) when it is empty or
    a wildcard that listens on every interface (``::``, ``*``, ``0``…) other than
    :data:`ALL_INTERFACES` written explicitly, or when it is not an address of this computer.

    >>> check_host(" 127.0.0.1 ")
    '127.0.0.1'
    """
    from cpts_geo.errors import OptionError

    text = host.strip()
    explicit = (f"pour écouter sur toutes les adresses de cet ordinateur, écrire explicitement "
                f"--host {ALL_INTERFACES}")
    if not text:
        raise OptionError("--host", host, "adresse vide (elle ouvrirait l'application à tout le "
                                          "réseau) ; " + explicit)
    if text == ALL_INTERFACES:
        return text
    if text == "*":
        raise OptionError("--host", host, "adresse joker ; " + explicit)
    text = text.removeprefix("[").removesuffix("]")
    try:
        infos = socket.getaddrinfo(text, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError) as exc:
        raise OptionError("--host", host, "adresse inconnue de cet ordinateur (ex. 127.0.0.1)") from exc
    for info in infos:
        addr = info[4][0].split("%")[0]
        ip = ipaddress.ip_address(addr)
        if ip.is_unspecified or getattr(ip, "ipv4_mapped", None) in (ipaddress.IPv4Address(0),):
            raise OptionError("--host", host, f"adresse joker (comme {addr}) ; " + explicit)
    return text


def _check_port(host: str, port: int) -> None:
    from cpts_geo.errors import OptionError

    if not 0 < port < 65536:
        raise OptionError("--port", port, "un numéro entre 1 et 65535 est attendu")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        try:
            s.bind((host, port))
        except OSError as exc:
            raise OptionError("--port", port, "port déjà utilisé ou adresse indisponible "
                              f"({exc.strerror or exc}) : choisir un autre port avec --port") from exc


def run(args: argparse.Namespace) -> int:
    missing = missing_server_modules()
    if missing:
        print("erreur : " + INSTALL_HINT.format(missing=", ".join(missing)), file=sys.stderr)
        return 2
    import uvicorn

    from cpts_geo import fr
    from cpts_geo.app import create_app

    args.host = check_host(args.host)
    _check_port(args.host, args.port)
    from cpts_geo.indicators.apl_official import require_official_apl

    require_official_apl(args.apl, "--apl")  # the estimate of cpts-geo apl is not the DREES APL
    local = is_loopback(args.host)
    if not local:
        where = ("toutes les adresses de cet ordinateur" if args.host == ALL_INTERFACES
                 else "cette adresse")
        print(f"attention : l'application écoute sur {args.host} ({where}) : tout ordinateur qui "
              "la joint peut l'utiliser et lire la liste des CPTS chargée. N'utilisez pas cette "
              "option sur un réseau public.", file=sys.stderr)
    print("Préparation de la carte et de la liste des CPTS existantes…", flush=True)
    t0 = time.perf_counter()
    from cpts_geo.cli.options import split_codes

    app = create_app(existing=args.existing, region=split_codes(args.region),
                     departments=split_codes(args.department),
                     replaces=args.replaces, apl=args.apl, apl_cog=args.apl_cog, tiles=args.tiles,
                     allowed_hosts=None if not local else ("127.0.0.1", "localhost", "[::1]", "::1"))
    shown = "localhost" if local else args.host
    url = f"http://{'[' + shown + ']' if ':' in shown else shown}:{args.port}/"
    config = uvicorn.Config(app, host=args.host, port=args.port, log_level="warning", access_log=False)
    server = uvicorn.Server(config)

    def announce() -> None:
        while not server.started and not server.should_exit:
            time.sleep(0.05)
        if server.started:
            print(f"Prêt en {fr.number(time.perf_counter() - t0, 1)}{fr.NNBSP}s : {url}  "
                  "(Ctrl+C pour arrêter)", flush=True)
            if not args.no_browser:
                import webbrowser

                webbrowser.open(url)

    threading.Thread(target=announce, daemon=True).start()
    server.run()
    print("Application arrêtée.")
    return 0
