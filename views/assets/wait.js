// Waiting page: asks every 2 s whether the request was decided, and continues by itself.
// Without JavaScript the "Check again" link does the same.
(function () {
  'use strict';
  var status = document.getElementById('status');
  var button = document.getElementById('continue');
  if (!status || !button) return;
  var messages = {
    pending: null,
    approved: 'Approved. Finishing the link…',
    denied: 'The link was denied in Home Assistant.',
    expired: 'This code has expired. Start linking again from the Alexa app.',
    unknown: 'This link request has ended. Start linking again from the Alexa app.'
  };
  // The server writes times in UTC; show them in the reader's own time zone.
  var times = document.querySelectorAll('time[datetime]');
  for (var i = 0; i < times.length; i++) {
    var date = new Date(times[i].getAttribute('datetime'));
    if (!isNaN(date.getTime())) times[i].textContent = date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  }
  function show(state) {
    status.setAttribute('data-state', state);
    if (messages[state]) status.textContent = messages[state];
  }
  function poll() {
    fetch('status', { credentials: 'same-origin', cache: 'no-store', headers: { Accept: 'application/json' } })
      .then(function (response) { return response.ok ? response.json() : { status: 'pending' }; })
      .then(function (body) {
        show(body.status);
        if (body.status === 'approved' || body.status === 'denied') { window.location.assign('continue'); return; }
        if (body.status === 'pending') window.setTimeout(poll, 2000);
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  if (status.getAttribute('data-state') === 'pending') window.setTimeout(poll, 2000);
})();
