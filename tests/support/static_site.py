"""The static export of the frontend, and a file server that answers like a static host.

`reflex export --frontend-only` rewrites files in the `.web` it builds from
(`env.json` gets the export's backend URL, `utils/context.jsx` loses dev mode,
`react-router.config.js` turns on prerendering, `build/` is wiped), so it runs
in a copy of the app's sources whose `.web` is seeded from the repo's (the
packages hard-linked, not reinstalled; without one the export sets up its
own, as on a fresh clone).

    python -m tests.support.static_site --dir SITE --host 100.64.0.11 --port 80

serves SITE (the network lab runs it inside a namespace) until killed.
"""

import argparse
import io
import shutil
import subprocess
import sys
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

from tests.support.live_app import ROOT, seed_web

EXPORT_TIMEOUT = 600  # a fresh machine installs the frontend packages first
NOT_SOURCES = (".git", ".venv", ".tools", ".web", ".states", ".ephem", ".pytest_cache")
NOT_SOURCES += ("node_modules", "__pycache__", "*.db", "*.db-*", "frontend.zip", "backend.zip")


class StaticHost(SimpleHTTPRequestHandler):
    """What a typical static host does (GitHub Pages, Cloudflare Pages, Netlify).

    A file if there is one, else `<path>.html`, else `<path>/index.html`, else
    the site's `404.html` with status 404. Reflex makes that `404.html` a copy
    of React Router's SPA shell, so `/enclave/<id>` opens the right page.
    """

    def send_head(self):
        target = Path(self.translate_path(self.path))
        if target.exists():
            return super().send_head()
        if target.with_name(target.name + ".html").is_file():
            self.path = urlsplit(self.path).path + ".html"
            return super().send_head()
        body = (Path(self.directory) / "404.html").read_bytes()
        self.send_response(404)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        return io.BytesIO(body)

    def log_message(self, format, *args):  # noqa: A002 - the stdlib's name
        pass


def static_server(host: str, port: int, folder: Path) -> ThreadingHTTPServer:
    return ThreadingHTTPServer((host, port), partial(StaticHost, directory=str(folder)))


def export_site(tmp: Path, backend: str, env: dict[str, str]) -> tuple[Path, Path]:
    """Export the frontend with `backend` baked in; returns (the site's folder, the app copy)."""
    app = tmp / "app"
    shutil.copytree(ROOT, app, symlinks=True, ignore=shutil.ignore_patterns(*NOT_SOURCES))
    seed_web(app / ".web")
    export_log = tmp / "export.log"
    with export_log.open("wb") as out:
        done = subprocess.run(
            [sys.executable, "-m", "reflex", "export", "--frontend-only", "--no-zip"],
            cwd=app,
            env={**env, "REFLEX_API_URL": backend},
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=EXPORT_TIMEOUT,
        )
    assert done.returncode == 0, export_log.read_text(errors="replace")[-4000:]
    folder = tmp / "site"
    shutil.copytree(app / ".web/build/client", folder)
    shutil.rmtree(app / ".web")  # the backend host needs none of it
    return folder, app


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", required=True)
    parser.add_argument("--host", required=True)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    server = static_server(args.host, args.port, Path(args.dir))
    print("ready", flush=True)
    server.serve_forever()
