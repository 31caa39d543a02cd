"""API request counts from kube-apiserver's own metrics, so a benchmark can print requests per playbook run."""

from __future__ import annotations

import re

_SAMPLE = re.compile(r"^apiserver_request_total\{(?P<labels>[^}]*)\}\s+(?P<value>[0-9.e+]+)$", re.M)


def request_count(api_client):
    """Sum of `apiserver_request_total` (every request the apiserver has served since it started).

    Counts all clients (the simulated controllers too); take the difference around a run and keep the controllers'
    share in mind, or compare runs under the same conditions.
    """
    headers = {"Accept": "text/plain"}
    api_client.update_params_for_auth(headers, None, ["BearerToken"], "GET", "/metrics", None)
    response = api_client.call_api("GET", api_client.configuration.host + "/metrics", header_params=headers)
    response.read()
    text = response.data.decode()
    return int(sum(float(m.group("value")) for m in _SAMPLE.finditer(text)))
