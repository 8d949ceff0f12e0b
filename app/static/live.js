// Small page behaviours shared by the integration pages.
(function () {
  // Ask before a destructive form is submitted (forms with data-confirm="question").
  document.addEventListener('submit', function (event) {
    var question = event.target.getAttribute('data-confirm');
    if (question && !window.confirm(question)) event.preventDefault();
  });

  // toktraPoll(): while the page shows a [data-poll] marker (a queued job's result is awaited), fetch
  // the page again every few seconds and replace its [data-live] parts in place; a part holding a form
  // being edited is left alone, and a chosen <select> value is kept. After ~1 minute, show #poll-slow.
  var tries = 0;
  function poll() {
    if (!document.querySelector('[data-poll]')) return;
    if (++tries > 24) { var slow = document.getElementById('poll-slow'); if (slow) slow.hidden = false; return; }
    setTimeout(function () {
      fetch(window.location.pathname + window.location.search, {credentials: 'same-origin'})
        .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
        .then(function (html) {
          var doc = new DOMParser().parseFromString(html, 'text/html');
          document.querySelectorAll('[data-live]').forEach(function (part) {
            var fresh = doc.getElementById(part.id);
            if (!fresh || part.querySelector('form[data-editing]')) return;
            var select = part.querySelector('select'), picked = select && select.value;
            part.replaceWith(fresh);
            var again = fresh.querySelector('select');
            if (again && picked) again.value = picked;
          });
          poll();
        })
        .catch(function () {});
    }, 2500);
  }
  window.toktraPoll = poll;
})();
