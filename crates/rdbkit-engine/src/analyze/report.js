// rdbkit's report: the treemap of memory by key prefix, its tooltips and
// zoom, and the sortable tables. Data is read with JSON.parse and shown
// with textContent only: keys are never parsed as markup.
(function () {
  'use strict';

  // Errors are recorded in the page itself, so that a test that only sees
  // the DOM (and a reader who sees the page) knows something went wrong.
  const errors = [];
  function note(kind, message) {
    errors.push(kind + ': ' + message);
    const el = document.getElementById('errors');
    if (el) {
      el.hidden = false;
      el.textContent = errors.join('\n');
    }
    if (document.body) document.body.dataset.errors = String(errors.length);
  }
  window.addEventListener('error', function (ev) {
    note('error', (ev.message || 'error') + (ev.filename ? ' at ' + ev.filename + ':' + ev.lineno : ''));
  });
  window.addEventListener('unhandledrejection', function (ev) { note('unhandled rejection', String(ev.reason)); });
  document.addEventListener('securitypolicyviolation', function (ev) {
    note('blocked by the page\'s policy', ev.violatedDirective + ' ' + (ev.blockedURI || ''));
  });
  ['error', 'warn'].forEach(function (level) {
    const original = console[level];
    console[level] = function () {
      note('console.' + level, Array.prototype.map.call(arguments, String).join(' '));
      return original.apply(console, arguments);
    };
  });
  const selftest = location.hash === '#selftest';
  if (selftest) {
    // A key that ran as script would most likely call one of these.
    let alerts = 0;
    ['alert', 'confirm', 'prompt'].forEach(function (name) {
      window[name] = function () {
        alerts += 1;
        if (document.body) document.body.dataset.alerts = String(alerts);
      };
    });
  }

  const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];
  function human(b) {
    let v = b;
    let u = 0;
    while (v >= 1024 && u < UNITS.length - 1) {
      v /= 1024;
      u += 1;
    }
    return u === 0 ? v + ' B' : v.toFixed(1) + ' ' + UNITS[u];
  }
  function count(n) { return n.toLocaleString('en-US'); }
  function percent(part, whole) {
    if (!whole) return '0 %';
    const p = 100 * part / whole;
    return (p < 0.1 && p > 0 ? p.toFixed(2) : p.toFixed(1)) + ' %';
  }
  function el(tag, className, text) {
    const e = document.createElement(tag);
    if (className) e.className = className;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  // Squarified treemap (Bruls, Huizing and van Wijk, 2000): cells are laid
  // in rows along the shorter side of the free rectangle, and a row is
  // closed as soon as one more cell would make its worst aspect ratio worse.
  function worst(row, side) {
    let s = 0;
    let max = 0;
    let min = Infinity;
    for (const a of row) {
      s += a;
      if (a > max) max = a;
      if (a < min) min = a;
    }
    const s2 = s * s;
    const w2 = side * side;
    return Math.max(w2 * max / s2, s2 / (w2 * min));
  }
  function squarify(values, x, y, w, h) {
    const total = values.reduce(function (s, v) { return s + v; }, 0);
    const rects = [];
    if (total <= 0 || w <= 0 || h <= 0) return values.map(function () { return { x: x, y: y, w: 0, h: 0 }; });
    const areas = values.map(function (v) { return v * w * h / total; });
    let i = 0;
    while (i < areas.length) {
      const side = Math.min(w, h);
      const row = [areas[i]];
      let j = i + 1;
      while (j < areas.length && worst(row.concat([areas[j]]), side) <= worst(row, side)) {
        row.push(areas[j]);
        j += 1;
      }
      const rowArea = row.reduce(function (s, v) { return s + v; }, 0);
      const thick = rowArea / side;
      let off = 0;
      for (const a of row) {
        const len = thick > 0 ? a / thick : 0;
        if (w >= h) rects.push({ x: x, y: y + off, w: thick, h: len });
        else rects.push({ x: x + off, y: y, w: len, h: thick });
        off += len;
      }
      if (w >= h) {
        x += thick;
        w -= thick;
      } else {
        y += thick;
        h -= thick;
      }
      i = j;
    }
    return rects;
  }

  // A hue per top-level prefix, kept by its descendants, so a zoomed view
  // keeps the colour of the cell that was clicked.
  function hue(i) { return (205 + i * 137.508) % 360; }

  const EXPLAIN = {
    r: 'keys in none of the prefixes drawn here (smaller prefixes, or keys that end here)',
    n: 'keys without the delimiter',
    u: 'keys whose first prefix was not tracked: the prefix table was full (--max-prefixes)',
  };

  let data = null;
  let path = [];
  let map = null;
  let tip = null;
  let crumbs = null;
  let shown = [];

  function tipLines(node, parent) {
    const lines = [];
    lines.push(['t', node.n]);
    lines.push(['', 'memory: ' + human(node.b) + ' (' + count(node.b) + ' bytes)']);
    lines.push(['', 'keys: ' + count(node.k) + ' · elements: ' + count(node.e)]);
    const root = data.tree;
    let share = 'share: ' + percent(node.b, parent.b) + ' of ' + (parent === root ? 'all keys' : parent.n);
    if (parent !== root) share += ', ' + percent(node.b, root.b) + ' of all keys';
    lines.push(['', share]);
    if (node.t === 'r' && parent !== root) lines[0][1] = '(rest of ' + parent.n + ')';
    if (EXPLAIN[node.t]) lines.push(['m', EXPLAIN[node.t]]);
    if (node.c) lines.push(['m', 'click to zoom in (' + count(node.c.length) + ' cells)']);
    return lines;
  }

  function showTip(node, parent, cx, cy) {
    tip.textContent = '';
    for (const [cls, line] of tipLines(node, parent)) tip.appendChild(el('div', cls, line));
    tip.hidden = false;
    const pad = 14;
    const r = tip.getBoundingClientRect();
    let left = cx + pad;
    let top = cy + pad;
    if (left + r.width > window.innerWidth - 4) left = Math.max(4, cx - r.width - pad);
    if (top + r.height > window.innerHeight - 4) top = Math.max(4, cy - r.height - pad);
    tip.style.left = left + 'px';
    tip.style.top = top + 'px';
  }

  function renderCrumbs() {
    crumbs.textContent = '';
    path.forEach(function (node, i) {
      if (i > 0) crumbs.appendChild(el('span', 'sep', '›'));
      const b = el('button', '', i === 0 ? 'all keys' : node.n);
      b.type = 'button';
      if (i === path.length - 1) b.setAttribute('aria-current', 'true');
      b.addEventListener('click', function () {
        if (path.length > i + 1) {
          path = path.slice(0, i + 1);
          render();
        }
      });
      crumbs.appendChild(b);
    });
  }

  function render() {
    const node = path[path.length - 1];
    const kids = node.c || [];
    map.textContent = '';
    tip.hidden = true;
    const W = map.clientWidth;
    const H = map.clientHeight;
    const rects = squarify(kids.map(function (k) { return k.b; }), 0, 0, W, H);
    shown = kids;
    kids.forEach(function (k, i) {
      const r = rects[i];
      const d = el('div', 'cell' + (k.t === 'p' ? '' : ' synthetic') + (k.c ? ' zoom' : ''));
      d.style.left = r.x + 'px';
      d.style.top = r.y + 'px';
      d.style.width = Math.max(0, r.w) + 'px';
      d.style.height = Math.max(0, r.h) + 'px';
      // Inside a zoom, the clicked cell's hue, varied a little per cell.
      const h = path.length > 1 ? (path[1].hue + ((i * 37) % 70) - 35 + 360) % 360 : hue(i);
      if (path.length === 1) k.hue = h;
      d.style.setProperty('--h', h.toFixed(1));
      d.dataset.i = String(i);
      d.tabIndex = 0;
      d.setAttribute('role', k.c ? 'button' : 'img');
      d.setAttribute('aria-label', k.n + ': ' + human(k.b) + ', ' + count(k.k) + ' keys');
      if (r.w > 40 && r.h > 17) {
        d.appendChild(el('span', 'label', k.n));
        if (r.h > 33) d.appendChild(el('span', 'size', human(k.b) + ' · ' + percent(k.b, node.b)));
      }
      map.appendChild(d);
    });
    if (!kids.length) map.appendChild(el('div', 'empty', 'no keys'));
    document.body.dataset.cells = String(kids.length);
    document.body.dataset.view = path.length > 1 ? node.n : '';
    renderCrumbs();
  }

  function cellOf(target) {
    const d = target && target.closest ? target.closest('.cell') : null;
    if (!d || !map.contains(d)) return null;
    return shown[Number(d.dataset.i)] || null;
  }

  function zoom(node) {
    if (node && node.c) {
      path.push(node);
      render();
      return true;
    }
    return false;
  }

  function setupTreemap() {
    map = document.getElementById('treemap');
    tip = document.getElementById('tip');
    crumbs = document.getElementById('crumbs');
    const parent = function () { return path[path.length - 1]; };
    map.addEventListener('click', function (ev) {
      const node = cellOf(ev.target);
      if (!zoom(node) && node) showTip(node, parent(), ev.clientX, ev.clientY);
    });
    map.addEventListener('mousemove', function (ev) {
      const node = cellOf(ev.target);
      if (node) showTip(node, parent(), ev.clientX, ev.clientY);
      else tip.hidden = true;
    });
    map.addEventListener('mouseleave', function () { tip.hidden = true; });
    map.addEventListener('keydown', function (ev) {
      if (ev.key === 'Enter' || ev.key === ' ') {
        if (zoom(cellOf(ev.target))) {
          ev.preventDefault();
          const first = map.querySelector('.cell');
          if (first) first.focus();
        }
      } else if ((ev.key === 'Escape' || ev.key === 'Backspace') && path.length > 1) {
        ev.preventDefault();
        path.pop();
        render();
      }
    });
    map.addEventListener('focusin', function (ev) {
      const node = cellOf(ev.target);
      if (node) {
        const r = ev.target.getBoundingClientRect();
        showTip(node, parent(), r.left + r.width / 2, r.top + r.height / 2);
      }
    });
    map.addEventListener('focusout', function () { tip.hidden = true; });
    path = [data.tree];
    render();
    // Laid out again whenever the box changes size (a rotated phone, a
    // resized window), before the next paint.
    let size = [map.clientWidth, map.clientHeight];
    if (window.ResizeObserver) {
      new ResizeObserver(function () {
        if (size[0] !== map.clientWidth || size[1] !== map.clientHeight) {
          size = [map.clientWidth, map.clientHeight];
          render();
        }
      }).observe(map);
    }
  }

  function sortKey(row, col, numeric) {
    const cell = row.cells[col];
    if (!cell) return numeric ? 0 : '';
    if (numeric) return Number(cell.dataset.v || 0);
    return cell.textContent;
  }

  function sortTable(table, col) {
    const th = table.tHead.rows[0].cells[col];
    const numeric = th.dataset.type === 'num';
    const was = th.getAttribute('aria-sort');
    // Numbers sort biggest first, text A to Z, on the first click.
    let dir = numeric ? 'descending' : 'ascending';
    if (was) dir = was === 'ascending' ? 'descending' : 'ascending';
    for (const other of table.tHead.rows[0].cells) other.removeAttribute('aria-sort');
    th.setAttribute('aria-sort', dir);
    const sign = dir === 'ascending' ? 1 : -1;
    const body = table.tBodies[0];
    const rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      const x = sortKey(a, col, numeric);
      const y = sortKey(b, col, numeric);
      return (x < y ? -1 : x > y ? 1 : 0) * sign;
    });
    for (const r of rows) body.appendChild(r);
  }

  function setupTables() {
    for (const table of document.querySelectorAll('table.sortable')) {
      if (!table.tHead || !table.tBodies.length) continue;
      Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, col) {
        th.tabIndex = 0;
        th.title = 'sort by ' + th.textContent;
        th.addEventListener('click', function () { sortTable(table, col); });
        th.addEventListener('keydown', function (ev) {
          if (ev.key === 'Enter' || ev.key === ' ') {
            ev.preventDefault();
            sortTable(table, col);
          }
        });
      });
    }
  }

  // `#selftest`: what a test in a headless browser cannot easily do from
  // outside (hover, click, sort) is done here and recorded as data attributes of the body.
  function runSelftest() {
    const b = document.body.dataset;
    const first = map.querySelector('.cell');
    if (first) {
      const r = first.getBoundingClientRect();
      first.dispatchEvent(new MouseEvent('mousemove', {
        bubbles: true, clientX: r.left + r.width / 2, clientY: r.top + r.height / 2,
      }));
      b.selftestTip = tip.hidden ? '' : tip.textContent;
    }
    const zoomable = map.querySelector('.cell.zoom');
    if (zoomable) {
      b.selftestZoomed = shown[Number(zoomable.dataset.i)].n;
      zoomable.click();
      b.selftestCrumb = Array.prototype.map.call(crumbs.querySelectorAll('button'), function (x) {
        return x.textContent;
      }).join(' > ');
      b.selftestCells = b.cells;
      crumbs.querySelector('button').click();
      b.selftestBack = b.cells;
    }
    const table = document.getElementById('top-memory');
    if (table && table.tHead) {
      const heads = table.tHead.rows[0].cells;
      const col = Array.prototype.findIndex.call(heads, function (th) { return th.textContent === 'memory'; });
      if (col >= 0) {
        sortTable(table, col); // biggest first
        sortTable(table, col); // smallest first
        const v = Array.prototype.map.call(table.tBodies[0].rows, function (r) { return Number(r.cells[col].dataset.v); });
        let ok = true;
        for (let i = 1; i < v.length; i++) if (v[i - 1] > v[i]) ok = false;
        b.selftestSorted = ok ? 'ascending' : 'unsorted';
        sortTable(table, col);
      }
    }
    // Nothing wider than the window (a phone must not scroll sideways).
    b.selftestFits = document.documentElement.scrollWidth <= window.innerWidth ? 'yes' : 'no: ' + document.documentElement.scrollWidth + ' > ' + window.innerWidth;
    b.selftest = 'done';
  }

  document.addEventListener('DOMContentLoaded', function () {
    document.body.dataset.errors = String(errors.length);
    try {
      data = JSON.parse(document.getElementById('rdbkit-data').textContent);
      setupTables();
      setupTreemap();
      if (selftest) runSelftest();
    } catch (err) {
      note('error', err && err.stack ? err.stack : String(err));
    } finally {
      document.body.dataset.ready = '1';
    }
  });
})();
