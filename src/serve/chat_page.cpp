// The chat page served at GET /: plain HTML + JS, no build step. Keeps the conversation in the
// page, streams replies from /v1/chat/completions (SSE over fetch), and shows reasoning
// (delta.reasoning_content) in a collapsible <details> panel above each answer. ?q=TEXT in the
// URL sends TEXT at load (for headless-browser checks).
#include "serve/server.h"

namespace dsv3::serve {

const char* chat_page_html() {
  return R"HTML(<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>dsv3 chat</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font-family:system-ui,sans-serif;max-width:50rem;margin:0 auto;padding:1rem;background:#fafafa}
#log{display:flex;flex-direction:column;gap:.6rem;margin-bottom:1rem}
.msg{padding:.6rem .8rem;border-radius:.5rem;white-space:pre-wrap;word-wrap:break-word}
.user{background:#dbeafe;align-self:flex-end}.assistant{background:#fff;border:1px solid #ddd}
details.reasoning{color:#555;font-size:.9em;margin-bottom:.4rem}
details.reasoning pre{white-space:pre-wrap;margin:.3rem 0}
form{display:flex;gap:.5rem}textarea{flex:1;min-height:3rem}
.meta{color:#888;font-size:.8em}
</style></head><body>
<h1>dsv3 chat</h1>
<div class="meta">model: <span id="model">?</span> · <a href="#" id="clear">clear conversation</a></div>
<div id="log"></div>
<form id="f"><textarea id="input" placeholder="Type a message (Enter to send, Shift+Enter for a new line)"></textarea>
<button id="send" type="submit">Send</button></form>
<script>
const log = document.getElementById('log'), input = document.getElementById('input');
const history = [];
let model = '';
const ready = fetch('/v1/models').then(r => r.json()).then(j => { model = j.data[0].id;
  document.getElementById('model').textContent = model; });
document.getElementById('clear').onclick = e => { e.preventDefault(); history.length = 0; log.innerHTML = ''; };
function bubble(cls) { const d = document.createElement('div'); d.className = 'msg ' + cls; log.appendChild(d); return d; }
input.addEventListener('keydown', e => { if (e.key === 'Enter' && !e.shiftKey) { e.preventDefault();
  document.getElementById('f').requestSubmit(); } });
document.getElementById('f').onsubmit = async e => {
  e.preventDefault();
  const text = input.value.trim(); if (!text) return;
  input.value = ''; document.getElementById('send').disabled = true;
  bubble('user').textContent = text;
  history.push({role: 'user', content: text});
  const box = bubble('assistant');
  const det = document.createElement('details'); det.className = 'reasoning'; det.open = true;
  det.innerHTML = '<summary>reasoning</summary><pre></pre>'; det.style.display = 'none';
  const pre = det.querySelector('pre'); const ans = document.createElement('div'); ans.className = 'answer';
  box.appendChild(det); box.appendChild(ans);
  let content = '', reasoning = '';
  try {
    const r = await fetch('/v1/chat/completions', {method: 'POST', headers: {'Content-Type': 'application/json'},
      body: JSON.stringify({model, messages: history, stream: true})});
    if (!r.ok) { const j = await r.json(); throw new Error(j.error ? j.error.message : r.statusText); }
    const reader = r.body.getReader(), dec = new TextDecoder(); let buf = '';
    for (;;) {
      const {value, done} = await reader.read(); if (done) break;
      buf += dec.decode(value, {stream: true});
      let i;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const ev = buf.slice(0, i); buf = buf.slice(i + 2);
        if (!ev.startsWith('data: ')) continue;
        const data = ev.slice(6); if (data === '[DONE]') continue;
        const j = JSON.parse(data); if (!j.choices || !j.choices.length) continue;
        const d = j.choices[0].delta || {};
        if (d.reasoning_content) { reasoning += d.reasoning_content; det.style.display = ''; pre.textContent = reasoning; }
        if (d.content) { if (!content) det.open = false; content += d.content; ans.textContent = content; }
      }
      log.lastChild.scrollIntoView({block: 'end'});
    }
    history.push({role: 'assistant', content});
    box.dataset.done = '1';
  } catch (err) { ans.textContent = 'error: ' + err.message; box.dataset.done = 'error'; history.pop(); }
  document.getElementById('send').disabled = false;
};
// ?q=TEXT sends TEXT once the page has loaded (used by the headless-browser check).
const q = new URLSearchParams(location.search).get('q');
if (q) ready.then(() => { input.value = q; document.getElementById('f').requestSubmit(); });
</script></body></html>
)HTML";
}

}  // namespace dsv3::serve
