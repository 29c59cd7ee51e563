"""The script the dev server puts into HTML pages: reload on a new build, show build errors.

It long-polls ENDPOINT with the last epoch it saw; the server answers when a rebuild
happened (or after a while, unchanged). A new good build reloads the page; errors of a
failed rebuild show in an overlay over the last good page, and go when the file is fixed.
Never part of what `sitegen build` writes.
"""

from __future__ import annotations

import hashlib
import json
import re

ENDPOINT = "/__sitegen/livereload"
SCRIPT_PATH = ENDPOINT + ".js"  # a file of its own, so the pages' CSP (script-src 'self') allows it
_BODY_END = re.compile(rb"</body\s*>", re.IGNORECASE)

_SCRIPT = """\
(function () {
  "use strict";
  var script = document.currentScript;
  var build = Number(script.dataset.build);
  var endpoint = %(endpoint)s, epoch = -1;
  function overlay(errors) {
    var box = document.getElementById("sitegen-fejl");
    if (!errors.length) {
      if (box) { box.remove(); }
      return;
    }
    if (!box) {
      box = document.createElement("div");
      box.id = "sitegen-fejl";
      box.setAttribute("role", "alert");
      box.style.cssText = "position:fixed;inset:auto 0 0 0;z-index:2147483647;max-height:60vh;" +
        "overflow:auto;margin:0;padding:1rem 1.5rem;background:#fff4f4;color:#1a1a1a;" +
        "border-top:4px solid #b00020;font:16px/1.5 system-ui,sans-serif;" +
        "box-shadow:0 -2px 12px rgba(0,0,0,.25)";
      document.body.appendChild(box);
    }
    var title = document.createElement("p");
    title.style.cssText = "margin:0 0 .5rem;font-weight:bold;color:#b00020";
    title.textContent = "Siden kunne ikke bygges. Du ser den seneste version, der virkede. " +
      "Ret fejlen, så opdateres siden af sig selv.";
    var list = document.createElement("pre");
    list.style.cssText = "margin:0;white-space:pre-wrap;font:15px/1.4 ui-monospace,monospace";
    list.textContent = errors.join("\\n");
    box.replaceChildren(title, list);
  }
  function poll() {
    fetch(endpoint + "?epoch=" + epoch, { cache: "no-store" })
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      })
      .then(function (state) {
        if (state.build !== build) { location.reload(); return; }
        overlay(state.errors);
        epoch = state.epoch;
        poll();
      })
      .catch(function () { setTimeout(poll, 1000); });
  }
  poll();
})();
"""


def script_source() -> bytes:
    """The JavaScript served at SCRIPT_PATH while serving."""
    return (_SCRIPT % {"endpoint": json.dumps(ENDPOINT)}).encode()


# The script's URL names its version, so a browser may keep it: a reload after a save then
# waits for no request but the page's own (the build number is an attribute of the element).
SCRIPT_VERSION = hashlib.blake2b(script_source(), digest_size=5).hexdigest()


def reload_script(build: int) -> bytes:
    """The <script> element for a page served from good build number `build`."""
    src = f"{SCRIPT_PATH}?v={SCRIPT_VERSION}"
    return f'<script src="{src}" data-build="{build}" data-sitegen-livereload></script>\n'.encode()


def inject(html: bytes, build: int) -> bytes:
    """`html` with the reload script before its last </body> (or at the end)."""
    script = reload_script(build)
    matches = list(_BODY_END.finditer(html))
    if not matches:
        return html + script
    at = matches[-1].start()
    return html[:at] + script + html[at:]
