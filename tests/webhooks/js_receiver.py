"""A seed-style receiver in real JavaScript: it verifies over `JSON.stringify(JSON.parse(body))`.

Receivers written for the seed system sign what `JSON.stringify` gives back, not the raw
bytes. `js_accepts` runs Node.js once for a batch of signed bodies and says, for each, whether
such a receiver accepts it.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess

import pytest

NODE = shutil.which("node") or "/usr/bin/node"

_VERIFY = r"""
const crypto = require('crypto');
let input = '';
process.stdin.on('data', (d) => (input += d)).on('end', () => {
  const { secret, requests } = JSON.parse(input);
  const verdicts = requests.map(({ body, signature }) => {
    const raw = Buffer.from(body, 'base64').toString('utf8');
    const again = JSON.stringify(JSON.parse(raw));
    const hmac = crypto.createHmac('sha256', secret).update(again, 'utf8');
    const mine = 'sha256=' + hmac.digest('hex');
    return { accepted: mine === signature, same: again === raw };
  });
  process.stdout.write(JSON.stringify(verdicts));
});
"""


def js_accepts(secret: str, requests: list[tuple[bytes, str]]) -> list[dict[str, bool]]:
    """For each (body, signature header): would a seed-style receiver accept it?

    Returns:
        One `{"accepted": bool, "same": bool}` per request (`same`: the round trip gave back
        the exact bytes).

    """
    if not shutil.which(NODE):
        pytest.skip("Node.js is not installed: the JavaScript receiver cannot run")
    batch = {
        "secret": secret,
        "requests": [
            {"body": base64.b64encode(body).decode(), "signature": signature}
            for body, signature in requests
        ],
    }
    done = subprocess.run(
        [NODE, "-e", _VERIFY],
        input=json.dumps(batch).encode(),
        capture_output=True,
        check=True,
        timeout=60,
    )
    verdicts: list[dict[str, bool]] = json.loads(done.stdout)
    return verdicts
