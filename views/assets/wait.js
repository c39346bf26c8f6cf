// Waiting page: counts down the code's time, asks every 2 s (and at once when the page is shown
// again) whether the request was decided, and continues by itself. Once decided, only the state
// stays, at the top. Without JavaScript the page says to tap "Check again", which does the same.
(function () {
  'use strict';
  var status = document.getElementById('status');
  if (!status) return;
  var messages = {};
  try {
    messages = JSON.parse(document.getElementById('wait-messages').textContent);
  } catch (error) {
    return;
  }
  var lang = document.documentElement.lang || undefined;
  var pending = status.getAttribute('data-state') === 'pending';

  // With JavaScript the page does continue by itself: say so instead of "tap Check again", and
  // drop that button.
  var back = document.getElementById('step-back');
  if (back && messages.backJs) back.textContent = messages.backJs;
  var checkAgain = document.getElementById('check-again');
  if (checkAgain && pending) checkAgain.hidden = true;

  function fill(message, values) {
    return String(message).replace(/\{(\w+)\}/g, function (whole, name) {
      return Object.prototype.hasOwnProperty.call(values, name) ? String(values[name]) : whole;
    });
  }

  // The countdown: remaining time from the server (the phone's clock may be off), shown as minutes
  // left and the local time of expiry.
  var expiry = document.getElementById('expiry');
  var deadline = expiry ? Date.now() + Number(expiry.getAttribute('data-expires-in')) : null;
  var plural = window.Intl && Intl.PluralRules ? new Intl.PluralRules(lang) : null;
  function tick() {
    if (!pending || !expiry || deadline === null) return;
    var left = deadline - Date.now();
    if (left <= 0) {
      check();
      return;
    }
    var minutes = Math.floor(left / 60000);
    var time = new Date(deadline).toLocaleTimeString(messages.formatLocale || lang, { hour: '2-digit', minute: '2-digit' });
    var text =
      minutes < 1
        ? messages.leftUnderMinute
        : fill(plural && plural.select(minutes) === 'one' ? messages.leftOne : messages.leftOther, { count: minutes, time: time });
    if (expiry.textContent !== text) expiry.textContent = text;
    expiry.classList.add('warning');
    expiry.classList.toggle('urgent', left < 120000);
  }

  var timer = null;
  var busy = false;
  var again = false;

  // Decided: the state replaces everything for entering the code (so that no one taps "Open Home
  // Assistant" again), and is shown at the top while the page goes on.
  function decided(state) {
    pending = false;
    window.clearTimeout(timer);
    status.setAttribute('data-state', state);
    var message = state === 'approved' ? messages.approvedFinishing : messages.deniedReturning;
    if (message) status.textContent = message;
    var part = document.getElementById('pending');
    if (part) part.hidden = true;
    window.scrollTo(0, 0);
  }
  function schedule(ms) {
    window.clearTimeout(timer);
    timer = window.setTimeout(check, ms);
  }
  function check() {
    if (busy) {
      // A check is under way but may have left before the decision: ask once more after it.
      again = true;
      return;
    }
    busy = true;
    window.clearTimeout(timer);
    fetch('status', { credentials: 'same-origin', cache: 'no-store', headers: { Accept: 'application/json' } })
      .then(function (response) {
        return response.ok ? response.json() : null;
      })
      .then(function (body) {
        busy = false;
        if (!body) return schedule(5000);
        if (body.status === 'approved' || body.status === 'denied') {
          decided(body.status);
          window.location.assign('continue');
          return;
        }
        if (body.status !== 'pending') {
          // Expired or gone: the server's page says what is possible now (a new code, or the way back).
          pending = false;
          window.location.replace('wait');
          return;
        }
        if (typeof body.expiresInMs === 'number') deadline = Date.now() + body.expiresInMs;
        tick();
        if (again) {
          again = false;
          check();
        } else schedule(2000);
      })
      .catch(function () {
        busy = false;
        schedule(5000);
      });
  }

  // Copy code: the clipboard where allowed, otherwise the code is selected for the phone's own menu.
  var copy = document.getElementById('copy');
  var code = document.getElementById('user-code');
  var result = document.getElementById('copy-result');
  if (copy && code && result) {
    copy.hidden = false;
    copy.addEventListener('click', function () {
      var text = code.getAttribute('data-user-code');
      function selectCode() {
        var range = document.createRange();
        range.selectNodeContents(code);
        var selection = window.getSelection();
        selection.removeAllRanges();
        selection.addRange(range);
      }
      function failed() {
        selectCode();
        result.textContent = messages.copyFailed;
      }
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(text).then(function () {
          result.textContent = messages.copied;
        }, failed);
      } else failed();
    });
  }

  if (!pending) return;
  tick();
  window.setInterval(tick, 1000);
  schedule(2000);
  // Back from Home Assistant: check at once instead of after the next interval.
  document.addEventListener('visibilitychange', function () {
    if (pending && document.visibilityState === 'visible') check();
  });
  window.addEventListener('pageshow', function (event) {
    if (pending && event.persisted) check();
  });
})();
