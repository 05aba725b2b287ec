// Image gallery webview: one page of tiles at a time (the extension asks the server for the page),
// a filter for records with media problems, a click reveals the record in the editor.
(function () {
  'use strict';
  const vscode = acquireVsCodeApi();
  const grid = document.getElementById('grid');
  const summary = document.getElementById('summary');
  const pageLabel = document.getElementById('page');
  const prev = document.getElementById('prev');
  const next = document.getElementById('next');
  const problemsOnly = document.getElementById('problemsOnly');
  let state = { offset: 0, pageSize: 60, total: 0, filter: 'all' };

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function ask(offset) {
    vscode.postMessage({ type: 'page', offset: Math.max(0, offset), filter: problemsOnly.checked ? 'problems' : 'all' });
  }

  function render(page) {
    state = { offset: page.offset, pageSize: page.pageSize, total: page.total, filter: page.filter };
    problemsOnly.checked = page.filter === 'problems';
    summary.textContent = page.file + ' · ' + page.total + (page.filter === 'problems' ? ' tiles in records with media problems' : ' images') + ' · ' + page.problemRecords + ' records with media problems';
    const pages = Math.max(1, Math.ceil(page.total / page.pageSize));
    pageLabel.textContent = 'Page ' + (Math.floor(page.offset / page.pageSize) + 1) + ' of ' + pages;
    prev.disabled = page.offset <= 0;
    next.disabled = page.offset + page.pageSize >= page.total;
    grid.replaceChildren();
    if (page.items.length === 0) grid.appendChild(el('p', 'unreadable', page.filter === 'problems' ? 'No media problems.' : 'No images in this file.'));
    for (const item of page.items) {
      const m = item.media;
      const t = el('button', 'tile gallery-tile');
      t.type = 'button';
      t.title = (m.ref || '(no image)') + (m.problem ? '\n' + m.problem.code + ': ' + m.problem.message : '');
      if (m.problem) t.classList.add('broken', m.problem.severity);
      // A medium that exists is shown even with a problem (a placeholder mismatch); a missing one is a broken tile.
      if (m.src && m.kind === 'image') {
        const img = el('img');
        img.alt = m.ref;
        img.src = m.src;
        t.appendChild(img);
      } else {
        t.appendChild(el('div', 'placeholder', m.problem ? '⚠' : m.url ? '🌐' : '▢'));
      }
      t.appendChild(el('span', 'record', '#' + (item.record + 1)));
      t.appendChild(el('span', 'caption', item.caption));
      if (m.problem) t.appendChild(el('span', 'problem', m.problem.code));
      t.addEventListener('click', () => vscode.postMessage({ type: 'reveal', record: item.record, line: item.line }));
      grid.appendChild(t);
    }
  }

  window.addEventListener('message', (event) => {
    const msg = event.data;
    if (msg.type === 'page') render(msg.page);
    else if (msg.type === 'empty' || msg.type === 'error') grid.replaceChildren(el('p', 'unreadable', msg.message));
  });
  prev.addEventListener('click', () => ask(state.offset - state.pageSize));
  next.addEventListener('click', () => ask(state.offset + state.pageSize));
  problemsOnly.addEventListener('change', () => ask(0));
  vscode.postMessage({ type: 'ready' });
})();
