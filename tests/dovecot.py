"""A private Dovecot IMAP server on a loopback port with a throw-away mail store."""

from __future__ import annotations

import contextlib
import imaplib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

USER, PASSWORD = "amministrazione", "imap-test-password"
MAIL_UID = 8  # Debian's `mail` user owns the store: Dovecot will not serve mail as root


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# What Dovecot 2.3 announces after login; `capabilities_off` announces this list minus some.
CAPABILITIES = [
    *("IMAP4rev1", "SASL-IR", "LOGIN-REFERRALS", "ID", "ENABLE", "IDLE", "SORT"),
    *("SORT=DISPLAY", "THREAD=REFERENCES", "THREAD=REFS", "THREAD=ORDEREDSUBJECT"),
    *("MULTIAPPEND", "URL-PARTIAL", "CATENATE", "UNSELECT", "CHILDREN", "NAMESPACE"),
    *("UIDPLUS", "LIST-EXTENDED", "I18NLEVEL=1", "CONDSTORE", "QRESYNC", "ESEARCH", "ESORT"),
    *("SEARCHRES", "WITHIN", "CONTEXT=SEARCH", "LIST-STATUS", "BINARY", "MOVE"),
    *("SNIPPET=FUZZY", "PREVIEW=FUZZY", "PREVIEW", "STATUS=SIZE", "SAVEDATE", "LITERAL+"),
    "NOTIFY",
]


class Dovecot:
    def __init__(
        self,
        *,
        tls: bool = False,
        parent: Path | None = None,
        capabilities_off: frozenset[str] = frozenset(),
        separator: str = "",
        prefix: str = "",
        password: str = PASSWORD,
        mechanisms: str = "",
        rawlog: bool = False,
        oauth2: str = "",
    ) -> None:
        """`parent`: where its temporary folder goes (a bench's large store: a RAM disk).
        The rest make the server differ as others do: capabilities it does not announce
        (`{"MOVE", "UIDPLUS"}`), the folder separator (`""` keeps Dovecot's own for
        Maildir, `.`; `/` is the other common one) and the namespace's prefix (Courier's
        `INBOX.`: every folder under INBOX), the user's password (any UTF-8), the SASL
        mechanisms it offers (by default `plain login`, or with `oauth2` `xoauth2
        oauthbearer`), and `rawlog`: what clients send, in `rawlogs()`. `oauth2`: a token
        introspection URL; the server then takes OAuth2 logins only, each token asked of
        that URL (RFC 7662, POST)."""
        self.oauth2 = oauth2
        mechanisms = mechanisms or ("xoauth2 oauthbearer" if oauth2 else "plain login")
        if shutil.which("dovecot") is None:
            raise RuntimeError("dovecot is not installed: run the tests with scripts/test.sh")
        self.root = Path(tempfile.mkdtemp(prefix="pecflow-dovecot-", dir=parent))
        self.root.chmod(0o755)
        self.port = _free_port()
        self.tls_port = _free_port() if tls else 0
        self.certificate = self.root / "cert.pem"
        self.config = self.root / "dovecot.conf"
        self.mail = self.root / "mail"
        self.capabilities_off, self.separator, self.prefix = capabilities_off, separator, prefix
        self.password, self.mechanisms, self.rawlog = password, mechanisms, rawlog

    def pecflow_env(self) -> dict[str, str]:
        """The settings that point pecflow at this server (plain IMAP: allowed on loopback)."""
        return {
            "PECFLOW_IMAP__HOST": "127.0.0.1",
            "PECFLOW_IMAP__PORT": str(self.port),
            "PECFLOW_IMAP__SECURITY": "plain",
            "PECFLOW_IMAP__ALLOW_PLAIN": "true",
            "PECFLOW_IMAP__USERNAME": USER,
            "PECFLOW_IMAP__PASSWORD": self.password,
        }

    def _tls_config(self) -> str:
        """A throw-away self-signed certificate for 127.0.0.1: clients trust it only by CA file."""
        if not self.tls_port:
            return "ssl = no"
        subprocess.run(
            [
                "openssl",
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "2",
                "-subj",
                "/CN=127.0.0.1",
                "-addext",
                "subjectAltName=IP:127.0.0.1",
                "-keyout",
                str(self.root / "key.pem"),
                "-out",
                str(self.certificate),
            ],
            check=True,
            capture_output=True,
            timeout=60,
        )
        return f"ssl = yes\nssl_cert = <{self.certificate}\nssl_key = <{self.root / 'key.pem'}"

    def _quirks_config(self) -> str:
        lines = []
        if self.capabilities_off:
            kept = [c for c in CAPABILITIES if c not in self.capabilities_off]
            lines.append(f"protocol imap {{\n  imap_capability = {' '.join(kept)}\n}}")
        if self.separator or self.prefix:
            lines.append(
                f"namespace inbox {{\n  inbox = yes\n  separator = {self.separator or '.'}\n"
                f"  prefix = {self.prefix}\n}}"
            )
        if self.rawlog:
            lines.append(f"rawlog_dir = {self.mail}/{USER}/rawlog")
        return "\n".join(lines)

    def rawlogs(self) -> str:
        """What the clients sent in every session so far (with `rawlog=True`)."""
        folder = self.mail / USER / "rawlog"
        return "".join(
            path.read_text(encoding="utf-8", errors="replace")
            for path in sorted(folder.glob("*.in"))
        )

    def _write_config(self) -> None:
        self.mail.mkdir()
        os.chown(self.mail, MAIL_UID, MAIL_UID)
        if self.rawlog:
            (self.mail / USER / "rawlog").mkdir(parents=True)
            for path in (self.mail / USER, self.mail / USER / "rawlog"):
                os.chown(path, MAIL_UID, MAIL_UID)
        (self.root / "passwd").write_text(
            f"{USER}:{{PLAIN}}{self.password}:{MAIL_UID}:{MAIL_UID}::{self.mail}/{USER}::\n",
            encoding="utf-8",
        )
        self.config.write_text(
            f"""
protocols = imap
listen = 127.0.0.1
{self._tls_config()}
disable_plaintext_auth = no
auth_mechanisms = {self.mechanisms}
auth_failure_delay = 0
base_dir = {self.root}/run
state_dir = {self.root}/state
log_path = {self.root}/dovecot.log
default_login_user = dovenull
default_internal_user = dovecot
default_internal_group = dovecot
first_valid_uid = {MAIL_UID}
mail_location = maildir:~/Maildir
{self._passdb()}
userdb {{
  driver = passwd-file
  args = username_format=%u {self.root}/passwd
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {self.tls_port}
    ssl = yes
  }}
}}
service stats {{
  unix_listener stats-reader {{
    mode = 0666
  }}
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
protocol imap {{
  mail_max_userip_connections = 50
}}
{self._quirks_config()}
""",
            encoding="utf-8",
        )

    def _passdb(self) -> str:
        if not self.oauth2:
            return f"""passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {self.root}/passwd
}}"""
        settings = self.root / "dovecot-oauth2.conf.ext"
        settings.write_text(
            f"""introspection_mode = post
introspection_url = {self.oauth2}
username_attribute = username
active_attribute = active
active_value = true
""",
            encoding="utf-8",
        )
        # No growing penalty after each refused token (the tests refuse several in a row).
        return f"""service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
passdb {{
  driver = oauth2
  mechanisms = {self.mechanisms}
  args = {settings}
}}"""

    def start(self) -> Dovecot:
        self._write_config()
        subprocess.run(["dovecot", "-c", str(self.config)], check=True, timeout=30)
        self._wait()
        return self

    def _wait(self) -> None:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.5).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"dovecot did not start: {self.log()}")

    def log(self) -> str:
        path = self.root / "dovecot.log"
        return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""

    def kill(self) -> None:
        """Stop the server at once, as a crash would; the mail store stays."""
        pid = _master_pid(self.root)
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGSTOP)  # no new children while its children die
            subprocess.run(["pkill", "-KILL", "-P", str(pid)], check=False)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            (self.root / "run" / "master.pid").unlink(missing_ok=True)

    def restart(self) -> None:
        subprocess.run(["dovecot", "-c", str(self.config)], check=True, timeout=30)
        self._wait()

    def stop(self) -> None:
        self.kill()
        shutil.rmtree(self.root, ignore_errors=True)


def _master_pid(root: Path) -> int | None:
    pid_file = root / "run" / "master.pid"
    return int(pid_file.read_text().strip()) if pid_file.exists() else None


@contextlib.contextmanager
def commands_sent() -> Iterator[list[str]]:
    """The IMAP commands this process sends meanwhile (`UID FETCH`, `SELECT`...)."""
    sent: list[str] = []
    send = imaplib.IMAP4.send

    def recording(self: imaplib.IMAP4, data: bytes) -> None:
        words = data.split()  # tag, command (UID and its command), arguments
        if len(words) > 1:
            sent.append(b" ".join(words[1 : 3 if words[1] == b"UID" else 2]).decode())
        send(self, data)

    imaplib.IMAP4.send = recording  # type: ignore[method-assign, assignment]
    try:
        yield sent
    finally:
        imaplib.IMAP4.send = send  # type: ignore[method-assign]
