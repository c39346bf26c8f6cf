// Setup page: a Copy button next to each value. The clipboard where allowed, otherwise the value
// is selected for the device's own menu. Without JavaScript the buttons stay hidden and every
// value is plain text to select.
(function () {
  'use strict';
  var result = document.getElementById('copy-result');
  if (!result) return;
  var buttons = document.querySelectorAll('button[data-copy]');
  Array.prototype.forEach.call(buttons, function (button) {
    var target = document.getElementById(button.getAttribute('data-copy'));
    if (!target) return;
    button.hidden = false;
    button.addEventListener('click', function () {
      var text = target.textContent;
      function select() {
        var range = document.createRange();
        range.selectNodeContents(target);
        var selection = window.getSelection();
        selection.removeAllRanges();
        selection.addRange(range);
      }
      function failed() {
        select();
        result.textContent = result.getAttribute('data-failed');
      }
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(text).then(function () {
          result.textContent = result.getAttribute('data-copied').replace('{label}', button.getAttribute('data-label'));
        }, failed);
      } else failed();
    });
  });
})();
