/* cpts-geo app: compose a CPTS territory on a map; every change is checked by POST /api/check.
   The page holds the whole proposal (codes, name, replaced CPTS) and its undo/redo history;
   the server keeps nothing. window.cptsApp exposes the state for scripting and tests. */
(function () {
  'use strict';
  var LEVELS = {blocking: 'Bloquant', warning: 'Avertissement', info: 'Information', ok: 'Conforme'};
  var ORDER = {blocking: 0, warning: 1, ok: 2, info: 3};
  var SELECTED = {color: '#111', weight: 2.5, fillColor: '#ffcc00', fillOpacity: 0.75};
  var app = window.cptsApp = {ready: false, seq: 0, checkedSeq: 0, busy: false, report: null,
                              error: null, state: {codes: [], replaces: [], name: ''}};
  var history = [], future = [];
  var info = {};          // code -> {nom, dep, population, cpts, white}
  var layers = {};        // code -> Leaflet layer
  var config = null, colors = {};
  app.layers = layers; app.info = info;
  var $ = function (id) { return document.getElementById(id); };

  function fmtInt(n) {
    if (n === null || n === undefined || isNaN(n)) return 'n.d.';
    return Math.round(n).toLocaleString('fr-FR');  // narrow no-break space between thousands
  }
  function fmtNum(n, d) {
    if (n === null || n === undefined || isNaN(n)) return 'n.d.';
    return Number(n).toLocaleString('fr-FR', {minimumFractionDigits: d, maximumFractionDigits: d});
  }
  function plural(n, word, words) { return fmtInt(n) + '\u00a0' + (Math.abs(n) >= 2 ? (words || word + 's') : word); }
  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    for (var k in (attrs || {})) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function setStatus(text, cls) { var s = $('status'); s.textContent = text; s.className = cls || ''; }
  // what a change did, for screen readers (the status line then says the check's result)
  function announce(text) { $('announce').textContent = text; app.announced = text; }
  function label(code) { var i = info[code]; return (i ? i.nom : code) + ' (' + code + ')'; }

  // ---------------------------------------------------------------------------------- map
  var map = app.map = L.map('map', {zoomSnap: 0.25, preferCanvas: false, zoomControl: false});
  L.control.zoom({zoomInTitle: 'Zoom avant', zoomOutTitle: 'Zoom arrière'}).addTo(map);
  function baseStyle(p) {
    if (p.cpts.length) {
      return {color: p.cpts.length > 1 ? '#c62828' : '#6b7580', weight: p.cpts.length > 1 ? 1.5 : 0.5,
              fillColor: colors[p.cpts[0]] || '#9aa5b1', fillOpacity: 0.45};
    }
    if (p.white) return {color: '#b0413e', weight: 0.6, fillColor: '#ffffff', fillOpacity: 0.9};
    return {color: '#8a96a3', weight: 0.5, fillColor: '#d5d9de', fillOpacity: 0.6};
  }
  function paint(code) {
    var layer = layers[code];
    if (!layer) return;
    var on = app.state.codes.indexOf(code) >= 0;
    layer.setStyle(on ? SELECTED : baseStyle(layer.feature.properties));
    var path = layer.getElement && layer.getElement();
    if (path) path.classList.toggle('cg-white', !on && layer.feature.properties.white);
  }
  function tooltip(p) {
    var cpts = p.cpts.length ? p.cpts.join(' / ') : (p.white ? 'sans CPTS (zone blanche)' : 'couverture non connue');
    return '<b>' + escapeHtml(p.nom) + '</b> (' + escapeHtml(p.code) + ')<br>' + fmtInt(p.population) +
      ' hab. (' + escapeHtml(config.population_year) + ')<br>' + escapeHtml(cpts);
  }
  // the one escaping helper of cpts_geo pages (cpts_geo.io.html_safe.JS_ESCAPE, /static/escape.js):
  // every text Leaflet takes as HTML (tooltips, labels, credits) goes through it
  var escapeHtml = window.cgEscape;

  // ------------------------------------------------------------------------- state changes
  function snapshot() { return JSON.parse(JSON.stringify(app.state)); }
  function change(mutate) {
    var before = snapshot();
    mutate(app.state);
    if (JSON.stringify(before) === JSON.stringify(app.state)) return;
    history.push(before);
    future = [];
    refresh(before);
  }
  function toggle(code, fromMap) {
    var added = app.state.codes.indexOf(code) < 0;
    change(function (s) {
      var i = s.codes.indexOf(code);
      if (i >= 0) s.codes.splice(i, 1); else s.codes.push(code);
    });
    announce(label(code) + (added ? ' ajoutée au territoire' : ' retirée du territoire') + ' (' +
             plural(app.state.codes.length, 'commune') + ').');
  }
  app.toggle = toggle;
  function undo() { if (!history.length) return; var before = snapshot(); future.push(before); app.state = history.pop(); refresh(before); }
  function redo() { if (!future.length) return; var before = snapshot(); history.push(before); app.state = future.pop(); refresh(before); }
  app.undo = undo; app.redo = redo;

  function refresh(before) {
    var touched = {};
    (before ? before.codes : []).forEach(function (c) { touched[c] = 1; });
    app.state.codes.forEach(function (c) { touched[c] = 1; });
    Object.keys(touched).forEach(paint);
    $('undo').disabled = !history.length;
    $('redo').disabled = !future.length;
    if ($('name').value !== app.state.name) $('name').value = app.state.name;
    var rep = $('replaces');
    if (app.state.replaces.length) {
      rep.hidden = false;
      rep.textContent = 'Redessine le périmètre de : ' + app.state.replaces.join(', ') +
        ' (ses communes ne comptent pas comme chevauchement).';
    } else rep.hidden = true;
    renderCommunes();
    check();
  }

  // -------------------------------------------------------------------------------- check
  function body() { return JSON.stringify({codes: app.state.codes, name: app.state.name, replaces: app.state.replaces}); }
  function check() {
    var seq = ++app.seq;
    if (!app.state.codes.length) {
      app.report = null; app.busy = false; app.checkedSeq = seq;
      $('figures').innerHTML = ''; $('checks').innerHTML = ''; $('verdict').textContent = '';
      setStatus('Territoire vide : cliquer des communes sur la carte ou les chercher par leur nom.');
      return;
    }
    app.busy = true;
    setStatus('Vérification en cours…', 'busy');
    fetch('/api/check', {method: 'POST', headers: {'Content-Type': 'application/json'}, body: body()})
      .then(function (r) { return r.json().then(function (j) { return {ok: r.ok, json: j}; }); })
      .then(function (res) {
        if (seq !== app.seq) return;  // a newer change is on its way
        app.busy = false; app.checkedSeq = seq;
        if (!res.ok) { app.report = null; app.error = res.json.erreur; setStatus('Erreur : ' + res.json.erreur, 'error'); return; }
        app.error = null; app.report = res.json;
        render(res.json);
      })
      .catch(function (e) {
        if (seq !== app.seq) return;
        app.busy = false; app.checkedSeq = seq; app.error = String(e);
        setStatus('Le serveur ne répond pas : cpts-geo app est-il toujours lancé ?', 'error');
      });
  }

  function row(dl, label, value, note) {
    dl.appendChild(el('dt', {}, label));
    var dd = el('dd', {}, value);
    if (note) dd.appendChild(el('span', {'class': 'note'}, note));
    dl.appendChild(dd);
  }
  function render(r) {
    var f = r.figures, m = r.meta, dl = $('figures');
    dl.innerHTML = '';
    row(dl, 'Communes', fmtInt(f.n_units));
    row(dl, 'Population municipale ' + f.population_year, plural(f.population, 'habitant'),
        'INSEE, populations légales ' + f.population_year + ', COG ' + f.cog);
    if (f.aci_band) {
      row(dl, 'Taille ACI', 'Taille ' + f.aci_band + ' — ' + f.aci_margin_text, m.aci);
    } else row(dl, 'Taille ACI', 'n.d.');
    if (f.aci_funding_eur) {
      row(dl, 'Financement ACI de fonctionnement', fmtInt(f.aci_funding_eur) + '\u202f€ par an', m.aci_funding);
    }
    // the IGAS row as every report prints it (label and qualifier: the type follows the population alone)
    var igas = (r.rows || []).filter(function (x) { return x.label.indexOf('IGAS') !== -1; })[0];
    row(dl, igas ? igas.label : 'Type IGAS (selon la population seule)', igas ? igas.value : (f.igas_type || 'n.d.'));
    if (f.area_km2 !== null) row(dl, 'Superficie', fmtInt(f.area_km2) + '\u202fkm²');
    if (f.density !== null) row(dl, 'Densité', fmtInt(f.density) + '\u202fhab./km²');
    if (f.dens_dominant) row(dl, 'Densité dominante (INSEE 2024)', f.dens_dominant);
    if (f.aav_dominant) row(dl, "Aire d'attraction des villes (INSEE 2020)", f.aav_dominant);
    if (f.apl_mean !== undefined && f.apl_mean !== null) {
      row(dl, 'APL médecins généralistes (moyenne pondérée)', fmtNum(f.apl_mean, 1) + ' consultations/an/hab.',
          f.apl_population_share_below_2_5 !== undefined && f.apl_population_share_below_2_5 !== null ?
          fmtNum(100 * f.apl_population_share_below_2_5, 1) + '\u202f% de la population sous 2,5' : undefined);
    }
    row(dl, 'Départements', f.departments.join(', '));
    row(dl, 'Intercommunalités (EPCI)', fmtInt(f.n_epci));
    if (f.n_parts !== undefined) row(dl, 'Morceaux', fmtInt(f.n_parts));

    $('verdict').textContent = r.verdict;
    var ul = $('checks');
    ul.innerHTML = '';
    r.checks.slice().sort(function (a, b) { return ORDER[a.level] - ORDER[b.level]; }).forEach(function (c) {
      var li = el('li', {'class': 'check lvl-' + c.level, 'data-id': c.id, 'data-level': c.level});
      li.appendChild(el('span', {'class': 'lvl'}, LEVELS[c.level] + ' —'));
      li.appendChild(el('span', {'class': 'title'}, c.title));
      li.appendChild(el('div', {'class': 'msg'}, c.message));
      ul.appendChild(li);
    });
    var nb = r.checks.filter(function (c) { return c.level === 'blocking'; }).length;
    setStatus(nb ? plural(nb, 'point bloquant') + ' : voir les vérifications.' : 'Aucun point bloquant.');
    r.units.forEach(function (u) {
      if (!info[u.code]) info[u.code] = {nom: u.nom, dep: u.dep, population: u.population, cpts: u.existing_cpts};
    });
    renderCommunes();
  }

  // Rebuild a list of commune rows with one button each; the keyboard focus stays on the same
  // commune's button, or on the button now at the same place when that commune left the list.
  function rowList(ul, codes, word, verb) {
    var act = document.activeElement, focusCode = null, focusIndex = -1;
    if (act && act.tagName === 'BUTTON' && ul.contains(act)) {
      focusCode = act.getAttribute('data-code');
      focusIndex = Array.prototype.indexOf.call(ul.querySelectorAll('button'), act);
    }
    ul.innerHTML = '';
    codes.forEach(function (code) {
      var i = info[code] || {nom: code, population: null, cpts: []};
      var li = el('li', {'data-code': code});
      li.appendChild(el('span', {}, i.nom + ' (' + code + ')'));
      li.appendChild(el('span', {'class': 'pop'}, fmtInt(i.population) + '\u202fhab.'));
      var cpts = (i.cpts && i.cpts.length) ? ', dans ' + i.cpts.join(' et ') : (i.white ? ', sans CPTS' : '');
      var b = el('button', {type: 'button', 'data-code': code,
                            'aria-label': verb + ' ' + i.nom + ' (' + code + ')' + (verb === 'Ajouter' ? cpts : '')}, verb);
      b.addEventListener('click', function () { toggle(code); });
      li.appendChild(b);
      ul.appendChild(li);
    });
    if (focusCode !== null) {
      var buttons = ul.querySelectorAll('button');
      var same = ul.querySelector('button[data-code="' + focusCode + '"]');
      var target = same || buttons[Math.min(focusIndex, buttons.length - 1)];
      if (target) target.focus();
      else $(word).focus();
    }
  }
  function neighbours() {
    var inside = {}, out = {};
    app.state.codes.forEach(function (c) { inside[c] = 1; });
    app.state.codes.forEach(function (c) {
      var i = info[c];
      ((i && i.nb) || []).forEach(function (n) { if (!inside[n]) out[n] = 1; });
    });
    return Object.keys(out).sort(function (a, b) {
      return (info[a] ? info[a].nom : a).localeCompare(info[b] ? info[b].nom : b, 'fr') || (a < b ? -1 : 1);
    });
  }
  app.neighbours = neighbours;
  function renderCommunes() {
    $('n-communes').textContent = '(' + fmtInt(app.state.codes.length) + ')';
    rowList($('communes'), app.state.codes, 'h-communes', 'Retirer');
    var nb = neighbours();
    $('n-neighbours').textContent = '(' + fmtInt(nb.length) + ')';
    rowList($('neighbours'), nb, 'h-neighbours', 'Ajouter');
  }

  // ------------------------------------------------------------------------------- search
  var results = [], active = -1, searchSeq = 0, searchTimer = null;
  app.searchDone = 0;
  function showResults(list) {
    results = list; active = list.length ? 0 : -1;
    var ul = $('results');
    ul.innerHTML = '';
    list.forEach(function (r, i) {
      var on = app.state.codes.indexOf(r.code) >= 0;
      var cpts = r.cpts.length ? r.cpts.join(' / ') : (r.white ? 'sans CPTS' : '');
      var li = el('li', {role: 'option', id: 'res-' + i, 'data-code': r.code, 'class': r.in_area ? 'in' : '',
                         'aria-selected': i === active ? 'true' : 'false'},
                  (on ? '✓ ' : '') + r.nom + ' (' + r.code + ', ' + r.dep + ') — ' + fmtInt(r.population) +
                  '\u202fhab.' + (cpts ? ' — ' + cpts : ''));
      li.addEventListener('mousedown', function (e) { e.preventDefault(); pick(i); });
      ul.appendChild(li);
    });
    if (!list.length && $('search').value.trim()) ul.appendChild(el('li', {role: 'option', 'aria-disabled': 'true'}, 'Aucune commune trouvée'));
    ul.hidden = !ul.children.length;
    $('search').setAttribute('aria-expanded', ul.hidden ? 'false' : 'true');
    $('search').setAttribute('aria-activedescendant', active >= 0 ? 'res-' + active : '');
  }
  function runSearch() {
    var q = $('search').value, seq = ++searchSeq;
    if (!q.trim()) { showResults([]); app.searchDone = seq; return; }
    fetch('/api/search?q=' + encodeURIComponent(q)).then(function (r) { return r.json(); }).then(function (j) {
      if (seq !== searchSeq) return;
      (j.results || []).forEach(function (r) { if (!info[r.code]) info[r.code] = r; });
      showResults(j.results || []);
      app.searchDone = seq;
    });
  }
  function pick(i) {
    var r = results[i];
    if (!r) return;
    info[r.code] = info[r.code] || r;
    if (r.units && r.units.length) {  // a city analysed by arrondissement: its arrondissements
      var add = r.units.filter(function (c) { return app.state.codes.indexOf(c) < 0; });
      change(function (s) { add.forEach(function (c) { s.codes.push(c); }); });
      announce(add.length ? plural(add.length, 'arrondissement') + ' de ' + r.nom + (add.length > 1 ? ' ajoutés' : ' ajouté') +
               ' au territoire (' + plural(app.state.codes.length, 'commune') + ').'
               : 'Les arrondissements de ' + r.nom + ' sont déjà dans le territoire.');
    } else toggle(r.code);
    var layer = layers[r.code];
    if (layer && !map.getBounds().contains(layer.getBounds())) map.fitBounds(layer.getBounds(), {maxZoom: map.getZoom(), animate: false});
    $('search').value = '';
    showResults([]);
  }
  $('search').addEventListener('input', function () { clearTimeout(searchTimer); searchTimer = setTimeout(runSearch, 120); });
  $('search').addEventListener('keydown', function (e) {
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      if (!results.length) return;
      e.preventDefault();
      active = (active + (e.key === 'ArrowDown' ? 1 : results.length - 1)) % results.length;
      Array.prototype.forEach.call($('results').children, function (li, i) { li.setAttribute('aria-selected', i === active ? 'true' : 'false'); });
      $('search').setAttribute('aria-activedescendant', 'res-' + active);
    } else if (e.key === 'Enter') {
      e.preventDefault();
      clearTimeout(searchTimer);
      if (results.length && active >= 0 && searchSeq === app.searchDone) pick(active);
      else runSearch();
    } else if (e.key === 'Escape') { showResults([]); }
  });
  $('search').addEventListener('blur', function () { setTimeout(function () { showResults([]); }, 150); });

  // ----------------------------------------------------------------------------- toolbar
  $('undo').addEventListener('click', undo);
  $('redo').addEventListener('click', redo);
  $('clear').addEventListener('click', function () { change(function (s) { s.codes = []; }); });
  $('name').addEventListener('change', function () { var v = $('name').value.trim(); change(function (s) { s.name = v; }); });
  $('start').addEventListener('change', function () {
    var name = $('start').value;
    if (!name) return;
    var c = config.cpts_codes[name] || [];
    change(function (s) { s.codes = c.slice(); s.replaces = [name]; s.name = name; });
    $('start').value = '';
  });
  $('file').addEventListener('change', function () {
    var f = $('file').files[0];
    if (!f) return;
    $('file-name').textContent = f.name;
    setStatus('Lecture du fichier…', 'busy');
    fetch('/api/import?filename=' + encodeURIComponent(f.name), {method: 'POST',
      headers: {'Content-Type': 'application/octet-stream'}, body: f})
      .then(function (r) { return r.json().then(function (j) { return {ok: r.ok, json: j}; }); })
      .then(function (res) {
        $('file').value = '';
        if (!res.ok) { setStatus('Fichier refusé : ' + res.json.erreur, 'error'); return; }
        var j = res.json;
        change(function (s) { s.codes = j.codes.slice(); if (j.name) s.name = j.name; });
        if (j.refused.length) {
          setStatus(plural(j.refused.length, 'valeur non reconnue', 'valeurs non reconnues') + ' dans ' + j.file + ' : ' +
            j.refused.map(function (x) { return '« ' + x.valeur + ' » (' + x.raison + ')'; }).join(' ; '), 'error');
        }
      })
      .catch(function (e) { setStatus('Lecture impossible : ' + e, 'error'); });
  });
  document.addEventListener('keydown', function (e) {
    // Ctrl+Z / Ctrl+Y undo the proposal, except while typing in a text field (its own undo)
    if (!(e.ctrlKey || e.metaKey) || /^(INPUT|TEXTAREA|SELECT)$/.test(e.target.tagName)) return;
    if (e.key === 'z' && !e.shiftKey) { e.preventDefault(); undo(); }
    else if (e.key === 'y' || (e.key === 'z' && e.shiftKey) || e.key === 'Z') { e.preventDefault(); redo(); }
  });
  Array.prototype.forEach.call($('exports').querySelectorAll('button'), function (b) {
    b.addEventListener('click', function () { exportAs(b.getAttribute('data-kind')); });
  });
  function exportAs(kind) {
    if (!app.state.codes.length) { setStatus('Territoire vide : rien à exporter.', 'error'); return; }
    setStatus('Export en cours…', 'busy');
    fetch('/api/export/' + kind, {method: 'POST', headers: {'Content-Type': 'application/json'}, body: body()})
      .then(function (r) {
        if (!r.ok) return r.json().then(function (j) { throw new Error(j.erreur); });
        var name = (/filename="([^"]+)"/.exec(r.headers.get('Content-Disposition') || '') || [])[1] || ('territoire.' + kind);
        return r.blob().then(function (b) {
          var a = el('a', {href: URL.createObjectURL(b), download: name});
          document.body.appendChild(a); a.click(); a.remove();
          setStatus('Fichier exporté : ' + name);
          app.exported = name;
        });
      })
      .catch(function (e) { setStatus('Export impossible : ' + e.message, 'error'); });
  }

  // ------------------------------------------------------------------- keyboard on the map
  // The focused map shows a cross-hair at its centre and names the commune under it; the arrows
  // move the map (Leaflet), + and - zoom, Enter or Space adds or removes that commune.
  function inRing(x, y, ring) {
    var inside = false;
    for (var i = 0, j = ring.length - 1; i < ring.length; j = i++) {
      var xi = ring[i][0], yi = ring[i][1], xj = ring[j][0], yj = ring[j][1];
      if ((yi > y) !== (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi) inside = !inside;
    }
    return inside;
  }
  function contains(geom, x, y) {  // even-odd rule over every ring (holes included)
    var polys = geom.type === 'Polygon' ? [geom.coordinates] : geom.type === 'MultiPolygon' ? geom.coordinates : [];
    var inside = false;
    polys.forEach(function (rings) { rings.forEach(function (r) { if (inRing(x, y, r)) inside = !inside; }); });
    return inside;
  }
  function centerCode() {
    var c = map.getCenter();
    for (var code in layers) {
      var layer = layers[code];
      if (layer.getBounds().contains(c) && contains(layer.feature.geometry, c.lng, c.lat)) return code;
    }
    return null;
  }
  app.centerCode = centerCode;
  function updateAim() {
    var code = centerCode(), text;
    if (!code) text = 'Viseur hors des communes de la zone : déplacer la carte avec les flèches.';
    else {
      var i = info[code], on = app.state.codes.indexOf(code) >= 0;
      var cpts = i.cpts.length ? i.cpts.join(' et ') : (i.white ? 'sans CPTS' : 'couverture non connue');
      text = 'Viseur : ' + label(code) + ', ' + fmtInt(i.population) + '\u202fhab., ' + cpts +
        (on ? ' — dans le territoire : Entrée pour la retirer' : ' — Entrée pour l\u2019ajouter');
    }
    $('aim').textContent = text;
  }
  function keyboardAim() {
    var box = $('mapbox'), c = map.getContainer();
    c.addEventListener('focus', function () {
      if (!c.matches(':focus-visible')) return;  // a mouse click also focuses the map
      box.classList.add('aiming'); updateAim();
    });
    c.addEventListener('blur', function () { box.classList.remove('aiming'); });
    map.on('moveend', function () { if (box.classList.contains('aiming')) updateAim(); });
    c.addEventListener('keydown', function (e) {
      if (e.target !== c || (e.key !== 'Enter' && e.key !== ' ')) return;
      e.preventDefault();
      box.classList.add('aiming');
      var code = centerCode();
      if (code) { toggle(code, true); updateAim(); } else updateAim();
    });
  }

  // ------------------------------------------------------------------------- CPTS names
  // Larger CPTS first; a name is written on its point, else just above, below, beside or at a
  // corner of it, wherever it overlaps no name already written and stays inside the map; a name
  // with no free place is hidden at this zoom (zooming in brings it back). Read by the tests:
  // app.labels (zoom, shown, total).
  var SPOTS = [[0, 0], [0, -1], [0, 1], [1, 0], [-1, 0], [1, -1], [-1, -1], [1, 1], [-1, 1],
    [0, -2], [0, 2], [2, 0], [-2, 0], [2, -2], [-2, -2], [2, 2], [-2, 2]];
  var tips = [];  // the name tooltips, larger CPTS first
  function declutter() {
    var frame = map.getContainer().getBoundingClientRect();
    var els = tips.map(function (t) { return t.getElement(); }).filter(Boolean);
    var kept = [];
    function free(r) {
      return r.left >= frame.left && r.right <= frame.right && r.top >= frame.top && r.bottom <= frame.bottom &&
        !kept.some(function (k) { return !(r.right <= k.left || r.left >= k.right || r.bottom <= k.top || r.top >= k.bottom); });
    }
    els.forEach(function (e) {
      e.style.visibility = 'visible'; e.style.marginLeft = '0px'; e.style.marginTop = '0px';
      var r = e.getBoundingClientRect(), spot = null;
      for (var i = 0; r.width > 0 && i < SPOTS.length && !spot; i++) {
        var dx = SPOTS[i][0] * (r.width / 2 + 3), dy = SPOTS[i][1] * (r.height / 2 + 2);
        var c = {left: r.left + dx, right: r.right + dx, top: r.top + dy, bottom: r.bottom + dy};
        if (free(c)) spot = [dx, dy, c];
      }
      if (!spot) { e.style.visibility = 'hidden'; return; }
      e.style.marginLeft = spot[0] + 'px'; e.style.marginTop = spot[1] + 'px';
      kept.push(spot[2]);
    });
    app.labels = {zoom: map.getZoom(), shown: kept.length, total: els.length};
  }

  // --------------------------------------------------------------------------------- load
  Promise.all([fetch('/api/config').then(function (r) { return r.json(); }),
               fetch('/api/communes').then(function (r) { return r.json(); })])
    .then(function (res) {
      config = res[0]; var data = res[1]; colors = data.colors;
      document.title = config.title + ' — cpts-geo';
      $('title').textContent = config.title;
      $('area').textContent = 'Zone affichée : ' + config.area + (config.listing ? ' · CPTS existantes : ' + config.listing : ' · aucune liste de CPTS existantes');
      config.cpts.forEach(function (c) {
        $('start').appendChild(el('option', {value: c.name}, c.name + ' (' + plural(c.n_units, 'commune') + ')'));
      });
      if (config.tiles) L.tileLayer(config.tiles.url, {attribution: config.tiles.attribution}).addTo(map);
      L.geoJSON(data.perimeters, {interactive: false, style: function (f) { return {color: '#2b333b', weight: 1.6, fill: false}; }}).addTo(map);
      var units = L.geoJSON(data, {
        style: function (f) { return baseStyle(f.properties); },
        onEachFeature: function (f, layer) {
          var p = f.properties;
          info[p.code] = p; layers[p.code] = layer;
          layer.bindTooltip(function () { return tooltip(p); }, {sticky: true});
          layer.on('click', function () { toggle(p.code, true); });
          layer.on('add', function () {
            // one tab stop for the whole map (its cross-hair), not one per commune: Leaflet's
            // focus listeners would make every outline a nameless stop
            var path = layer.getElement && layer.getElement();
            if (path) path.setAttribute('tabindex', '-1');
            paint(p.code);
          });
        }
      }).addTo(map);
      units.bringToBack();
      data.labels.slice().sort(function (a, b) { return a.rank - b.rank; }).forEach(function (l) {
        tips.push(L.tooltip({permanent: true, direction: 'center', className: 'cg-label', interactive: false})
          .setLatLng(l.pt).setContent(escapeHtml(l.name)).addTo(map));
      });
      map.on('zoomend moveend', declutter);
      map.fitBounds(units.getBounds(), {animate: false});
      declutter();
      keyboardAim();
      L.control.scale({imperial: false}).addTo(map);
      var legend = L.control({position: 'bottomleft'});
      legend.onAdd = function () {
        var d = L.DomUtil.create('div', 'legend');
        d.innerHTML = '<div><i style="background:#ffcc00;border-color:#111"></i>Territoire proposé</div>' +
          '<div><i style="background:#bcd"></i>Commune d\u2019une CPTS existante (couleur par CPTS)</div>' +
          '<div><i style="background:repeating-linear-gradient(45deg,#fff 0 3px,#b0413e 3px 5px)"></i>Sans CPTS (zone blanche)</div>' +
          '<div><i style="background:#fff;border:2px solid #c62828"></i>Déjà dans plusieurs CPTS</div>';
        return d;
      };
      legend.addTo(map);
      map.attributionControl.setPrefix(false);
      map.attributionControl.addAttribution(escapeHtml('Contours IGN ADMIN EXPRESS · populations INSEE ' +
        config.population_year + ' · cpts-geo ' + config.version));
      $('sources').textContent = 'Sources : ' + data.sources.geometry + ' ; ' + data.sources.population +
        '. Contours simplifiés pour l\u2019affichage (tolérance ' + fmtInt(data.tolerance_m) + '\u202fm) ; les calculs utilisent les contours complets.';
      Object.keys(layers).forEach(paint);
      app.state = {codes: config.start.codes.slice(), replaces: config.start.replaces.slice(), name: config.start.name};
      refresh(null);
      app.readyMs = performance.now();
      app.ready = true;
    })
    .catch(function (e) { setStatus('Chargement impossible : ' + e, 'error'); });
})();
