// Sample preview webview: renders the record the extension posts as a chat. Content is built with
// DOM APIs and textContent only; images load from webview URIs the extension computed.
(function () {
  'use strict';
  const vscode = acquireVsCodeApi();
  const chat = document.getElementById('chat');
  const where = document.getElementById('where');
  const problems = document.getElementById('problems');
  const prev = document.getElementById('prev');
  const next = document.getElementById('next');
  const follow = document.getElementById('follow');

  const ROLE_LABEL = { system: 'System', user: 'User', assistant: 'Assistant', tool: 'Tool', tool_call: 'Tool call', unknown: 'Unknown role' };

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function bytes(n) {
    if (n < 1024) return n + ' B';
    if (n < 1024 * 1024) return (n / 1024).toFixed(1) + ' KB';
    return (n / 1024 / 1024).toFixed(1) + ' MB';
  }

  function facts(m) {
    const bits = [];
    if (m.type) bits.push(m.type.toUpperCase());
    if (m.width && m.height) bits.push(m.width + ' × ' + m.height);
    if (m.size !== undefined) bits.push(bytes(m.size));
    return bits.join(' · ');
  }

  /** One media tile: the image/video/audio, or a visible broken tile with the diagnostic. */
  function tile(m) {
    const t = el('figure', 'tile ' + m.kind);
    if (m.problem) t.classList.add('broken', m.problem.severity);
    // A medium that exists is shown even with a problem (a placeholder mismatch); a missing one is a broken tile.
    if (m.src) {
      let media;
      if (m.kind === 'image') {
        media = el('img');
        media.alt = m.ref;
      } else {
        media = el(m.kind === 'video' ? 'video' : 'audio');
        media.controls = true;
        media.preload = 'metadata';
      }
      media.src = m.src;
      t.appendChild(media);
    } else {
      const icon = el('div', 'placeholder', m.problem ? '⚠' : m.url ? '🌐' : m.inline ? '⧉' : '▢');
      t.appendChild(icon);
    }
    const cap = el('figcaption');
    cap.appendChild(el('code', 'ref', m.ref || '(no ' + m.kind + ')'));
    const f = facts(m);
    if (f) cap.appendChild(el('span', 'facts', f));
    if (m.placedByLoader) cap.appendChild(el('span', 'note', 'no placeholder: the loader puts it first'));
    if (m.url) cap.appendChild(el('span', 'note', 'remote URL, not loaded'));
    if (m.inline && !m.problem) cap.appendChild(el('span', 'note', 'inline data: URI'));
    if (m.blocked) cap.appendChild(el('span', 'note', m.blocked));
    if (m.problem) cap.appendChild(el('span', 'problem', m.problem.code + ': ' + m.problem.message));
    t.appendChild(cap);
    return t;
  }

  function render(sample) {
    chat.replaceChildren();
    where.textContent = 'Record ' + (sample.record + 1) + ' of ' + sample.records + ' · line ' + (sample.line + 1) + (sample.format ? ' · ' + sample.format : '') + ' · ' + sample.file;
    prev.disabled = sample.record <= 0;
    next.disabled = sample.record >= sample.records - 1;
    problems.replaceChildren();
    problems.hidden = sample.problems.length === 0;
    for (const p of sample.problems) {
      const row = el('div', 'problem-row ' + p.severity);
      row.appendChild(el('strong', null, p.code));
      row.appendChild(document.createTextNode(' ' + p.message));
      problems.appendChild(row);
    }
    if (sample.unreadable) {
      chat.appendChild(el('p', 'unreadable', sample.unreadable));
      return;
    }
    for (const turn of sample.turns) {
      const bubble = el('article', 'turn ' + turn.role);
      bubble.appendChild(el('header', 'role', ROLE_LABEL[turn.role] + (turn.rawRole && turn.rawRole !== turn.role ? ' (' + turn.rawRole + ')' : '')));
      const body = el('div', 'body');
      for (const part of turn.parts) {
        if (part.type === 'text') body.appendChild(el('span', 'text', part.text));
        else body.appendChild(tile(part.media));
      }
      bubble.appendChild(body);
      chat.appendChild(bubble);
    }
  }

  window.addEventListener('message', (event) => {
    const msg = event.data;
    if (msg.type === 'sample') render(msg.sample);
    else if (msg.type === 'empty' || msg.type === 'error') {
      chat.replaceChildren(el('p', 'unreadable', msg.message));
      where.textContent = '';
    }
  });
  prev.addEventListener('click', () => vscode.postMessage({ type: 'go', delta: -1 }));
  next.addEventListener('click', () => vscode.postMessage({ type: 'go', delta: 1 }));
  follow.addEventListener('change', () => vscode.postMessage({ type: 'follow', follow: follow.checked }));
  window.addEventListener('keydown', (e) => {
    if (e.altKey && e.key === 'ArrowUp') vscode.postMessage({ type: 'go', delta: -1 });
    if (e.altKey && e.key === 'ArrowDown') vscode.postMessage({ type: 'go', delta: 1 });
  });
  vscode.postMessage({ type: 'ready' });
})();
