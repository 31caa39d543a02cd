# -*- coding: utf-8 -*-
# Copyright (c) rhoai.gpu_infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What counts as a credential, and its redaction from API objects and text: one implementation for the evidence
diagnose collects (evidence.py), the ``diagnose_redact`` filter, and the refusal of literal credentials in a
Subscription's ``spec.config`` (the ``literal_credentials`` filter).

Pure, and importing nothing but ``re``: a task that uses any filter of this collection imports every filter file in
its own worker process, so what the filters import is paid by each such task (the kubernetes client, about 0.25 s).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re


REDACTED = "<redacted>"

# Environment variable names that hold credentials (AWS_SECRET_ACCESS_KEY, API_TOKEN, DB_PASSWORD, DB_PASS,
# GITHUB_PAT, SLACK_WEBHOOK, ...). Wide on purpose: a value hidden for nothing costs less than one shown.
SECRET_ENV_NAME = re.compile(
    r"TOKEN|PASS|SECRET|KEY|CRED|AUTH|WEBHOOK|PRIVATE|(?:^|_)PAT(?:_|$)|(?:^|_)DSN(?:_|$)", re.IGNORECASE
)

# A field, flag or assignment whose name, lower-cased without "-", "_" and ".", ends with one of these holds a
# credential. Narrower than SECRET_ENV_NAME on purpose: "key" alone is a toleration's or a selector's key, and
# "secretName" names a Secret without being one.
CREDENTIAL_SUFFIXES = (
    "password",
    "passwd",
    "token",
    "secret",
    "apikey",
    "accesskey",
    "secretkey",
    "privatekey",
    "clientkeydata",
    "credential",
    "credentials",
)

_PRIVATE_KEY = re.compile(
    r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----(?:.*?-----END [A-Z0-9 ]*PRIVATE KEY-----|.*\Z)", re.DOTALL
)
_AUTH_SCHEME = re.compile(r"(?i)(?<![A-Za-z0-9])(bearer|basic)([ \t]+)(?P<credential>[A-Za-z0-9\-._~+/]{8,}=*)")
# "bearer tokens are rejected": a word of prose after the scheme's name is not a credential.
_PROSE_WORD = re.compile(r"[A-Za-z][a-z]*")
# Service account tokens and other JWTs: three base64url parts, the first a JSON header ("{"..." is "eyJ").
_JWT = re.compile(r"(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*")
# AWS access key IDs (long-term AKIA, temporary ASIA).
_AWS_KEY_ID = re.compile(r"(?<![A-Za-z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Za-z0-9])")
_URL_PASSWORD = re.compile(r"(://[^/\s:@]+:)[^/\s@]+(@)")
# Credentials whose shape their issuer made recognisable: GitHub tokens (ghp_, gho_, ghu_, ghs_, ghr_, github_pat_),
# GitLab personal access tokens, Slack tokens and incoming webhook URLs, Hugging Face tokens (which model downloads
# use), OpenAI-style secret keys.
_KNOWN_TOKEN = re.compile(
    r"(?<![A-Za-z0-9_])(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|glpat-[A-Za-z0-9_-]{20,}"
    r"|xox[abposr]-[A-Za-z0-9-]{10,}|hf_[A-Za-z0-9]{20,}|sk-[A-Za-z0-9_-]{20,})"
    r"|https://hooks\.slack\.com/services/[A-Za-z0-9/_-]+"
)
# "--password value" inside one string (a shell command line in args or a log line); in an argv list the value is the
# next item, which _redact_argv hides.
_INLINE_FLAG = re.compile(r"(?<![\w-])--?(?P<name>[A-Za-z][A-Za-z0-9_.-]*)[ \t]+(?P<value>[^\s\"'-][^\s\"']*)")
# name=value, name: value, "name": "value", --name=value. Names and values are matched apart so that a name inside
# prose ("login failed: password=...") is still found after a non-credential name ("failed:") before it.
_NAME = re.compile(r"""(?P<q>["']?)(?P<name>[A-Za-z][A-Za-z0-9_.-]*)(?P=q)[ \t]*[:=][ \t]*""")
# The value is not a YAML block or flow start ("token: |", "secret: {name: x}").
_VALUE = re.compile(r""""[^"\n]*"|'[^'\n]*'|[^\s"',;{}\[\]|>][^\s"',;}\]]*""")
_FLAG = re.compile(r"^--?(?P<name>[A-Za-z][A-Za-z0-9_.-]*)$")

# A refusal costs a run where a redaction costs a hidden value, so a literal env value is not refused for its name alone
# when the value cannot be a credential: empty, a YAML boolean word or a number (ENABLE_AUTH=true, TOKEN_TTL=3600)...
_NOT_A_CREDENTIAL = re.compile(r"(?i)\s*(?:true|false|yes|no|on|off|[+-]?[0-9]+(?:\.[0-9]+)?)?\s*")
# A refusal reads a name by its words, not by the substrings diagnose hides: BYPASS_PROXY, KEYCLOAK_URL,
# AUTHORINO_LOG_LEVEL and TOKENIZER_PARALLELISM name no credential, and neither do AUTH_SERVER_URL or PRIVATE_REGISTRY
# (AUTH and PRIVATE say what a setting is about; the credential itself is a token, a password, a key or a secret).
_CREDENTIAL_ENV_WORD = re.compile(
    r"(?i)(?:TOKENS?|PASSWORD|PASSWD|PASSPHRASE|SECRETS?|KEYS?|CREDENTIALS?|CREDS|WEBHOOK)$|^(?:PASS|PAT|DSN)$"
)
# ... or when the name says the value points at the credential: a Secret's name or a file (the cert-manager Operator's
# CLOUD_CREDENTIALS_SECRET_NAME, DB_PASSWORD_FILE), or it is an image override (RELATED_IMAGE_*, the operator-framework
# convention for operand images, such as RELATED_IMAGE_AUTHORINO).
_REFERENCE_ENV_NAME = re.compile(r"(?i)^RELATED_IMAGE_|(?:^|_)(?:NAME|FILE|PATH|DIR)$")

# Keys whose whole value is dropped: managedFields and last-applied-configuration can hold anything ever applied.
_DROPPED_KEYS = ("managedFields",)
_DROPPED_ANNOTATIONS = ("kubectl.kubernetes.io/last-applied-configuration",)


def is_credential_name(name):
    """Whether a field, flag or variable called ``name`` holds a credential (client-key-data, aws_secret_access_key)."""
    normalized = re.sub(r"[-_.]", "", str(name)).lower()
    return normalized.endswith(CREDENTIAL_SUFFIXES)


def _redact_assignments(text):
    parts = []
    done = 0
    for name in _NAME.finditer(text):
        if name.start() < done or not is_credential_name(name.group("name")):
            continue
        value = _VALUE.match(text, name.end())
        if not value:
            continue
        quote = value.group(0)[0] if value.group(0)[:1] in ("'", '"') else ""
        parts.extend([text[done : name.end()], quote, REDACTED, quote])
        done = value.end()
    parts.append(text[done:])
    return "".join(parts)


def _authorization(match):
    if _PROSE_WORD.fullmatch(match.group("credential")):
        return match.group(0)
    return match.group(1) + match.group(2) + REDACTED


def redact_text(text):
    """Text (a log, an event message, a flag) with credential-looking values replaced by ``<redacted>``.

    Replaced: private keys in PEM form, Bearer and Basic authorization values, JWTs (service account tokens), AWS
    access key IDs, passwords in URLs, GitHub, GitLab, Slack, Hugging Face and OpenAI-style tokens and Slack webhook
    URLs, and the value of any assignment or flag whose name ends like a credential (``password=``,
    ``aws_secret_access_key =``, ``client-key-data:``, ``"token": "..."``, ``--api-key=``, ``--password value``).
    """
    if not isinstance(text, str) or not text:
        return text
    text = _PRIVATE_KEY.sub(REDACTED, text)
    text = _AUTH_SCHEME.sub(_authorization, text)
    text = _JWT.sub(REDACTED, text)
    text = _AWS_KEY_ID.sub(REDACTED, text)
    text = _URL_PASSWORD.sub(lambda m: m.group(1) + REDACTED + m.group(2), text)
    text = _KNOWN_TOKEN.sub(REDACTED, text)
    text = _INLINE_FLAG.sub(_inline_flag, text)
    return _redact_assignments(text)


def _inline_flag(match):
    if not is_credential_name(match.group("name")) or match.group("value") == REDACTED:
        return match.group(0)
    return match.group(0)[: match.start("value") - match.start()] + REDACTED


def _redact_env(env):
    result = []
    for var in env:
        if isinstance(var, dict) and "value" in var and SECRET_ENV_NAME.search(str(var.get("name"))):
            result.append(dict(var, value=REDACTED))
        else:
            result.append(redact(var))
    return result


def _redact_argv(argv):
    """args/command: ``--token abc`` hides its value in the next item; ``--token=abc`` is handled as text."""
    result = []
    hide_next = False
    for item in argv:
        if hide_next and isinstance(item, str):
            result.append(REDACTED)
            hide_next = False
            continue
        hide_next = False
        flag = _FLAG.match(item) if isinstance(item, str) else None
        if flag and is_credential_name(flag.group("name")):
            hide_next = True
        result.append(redact(item))
    return result


def redact(obj):
    """A copy of an API object (or a list of them, or any JSON value) that is safe to hand to someone else.

    Secrets lose ``data`` and ``stringData``; in ``env`` lists the ``value`` of a variable whose name looks like a
    credential is replaced; in ``args``/``command`` the value after a credential flag is replaced; a string field whose
    name ends like a credential (``token``, ``password``, ``client-key-data``, ...) is replaced; every other string
    goes through ``redact_text``. ``managedFields`` and the last-applied-configuration annotation are dropped.
    The input is not modified.
    """
    if isinstance(obj, list):
        return [redact(item) for item in obj]
    if isinstance(obj, str):
        return redact_text(obj)
    if not isinstance(obj, dict):
        return obj
    result = {}
    for key, value in obj.items():
        if key in _DROPPED_KEYS:
            continue
        if key == "env" and isinstance(value, list):
            result[key] = _redact_env(value)
        elif key in ("args", "command") and isinstance(value, list):
            result[key] = _redact_argv(value)
        elif key == "annotations" and isinstance(value, dict):
            result[key] = {k: redact(v) for k, v in value.items() if k not in _DROPPED_ANNOTATIONS}
        elif isinstance(value, str) and is_credential_name(key):
            result[key] = REDACTED
        else:
            result[key] = redact(value)
    if obj.get("kind") == "Secret":
        for key in ("data", "stringData"):
            result.pop(key, None)
    return result


def literal_env_credentials(config):
    """The env entries of a Subscription's ``spec.config`` (or a container's) whose literal ``value`` is a credential,
    as ``(name, reason)`` pairs in their order; ``reason`` is ``"name"`` or ``"value"``.

    ``"value"``: the value holds what ``redact_text`` hides (a password in a URL, a JWT, an AWS access key ID, a known
    token shape, a ``password=`` assignment, a private key), whatever the name. ``"name"``: a word of the name (split at
    ``_``, ``-`` and ``.``) ends in TOKEN, PASSWORD, PASSWD, PASSPHRASE, SECRET, KEY, CREDENTIAL, CREDS or WEBHOOK (a
    plural too) or is PASS, PAT or DSN, a narrower rule than ``SECRET_ENV_NAME``, whose values diagnose hides; the value
    is not empty, a boolean word or a number; and the name does not end in ``_NAME``, ``_FILE``, ``_PATH`` or ``_DIR``
    (a reference to a credential) or start with ``RELATED_IMAGE_`` (an operand image).
    Entries that take their value from ``valueFrom`` or ``envFrom`` are references and never found.
    """
    env = config.get("env") if isinstance(config, dict) else None
    found = []
    for index, var in enumerate(env if isinstance(env, list) else []):
        if not isinstance(var, dict) or var.get("value") is None or isinstance(var.get("value"), (bool, int, float)):
            continue
        name = str(var.get("name") or "#{0}".format(index))
        value = var["value"] if isinstance(var["value"], str) else str(var["value"])
        if (
            any(_CREDENTIAL_ENV_WORD.search(word) for word in re.split(r"[-_.]+", name))
            and not _REFERENCE_ENV_NAME.search(name)
            and not _NOT_A_CREDENTIAL.fullmatch(value)
        ):
            found.append((name, "name"))
        elif redact_text(value) != value:
            found.append((name, "value"))
    return found
