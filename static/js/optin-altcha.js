// The opt-in form's proof of work: the ALTCHA widget's "external" build starts no worker of its own, so
// the one that solves our challenges (PBKDF2) is registered here, from our origin: the CSP allows no
// blob: or inline script.
(function () {
  "use strict";
  var script = document.currentScript;
  var workerUrl = script && script.dataset.worker;
  if (!workerUrl || !globalThis.$altcha) {
    return;
  }
  ["PBKDF2/SHA-256", "PBKDF2/SHA-384", "PBKDF2/SHA-512"].forEach(function (algorithm) {
    globalThis.$altcha.algorithms.set(algorithm, function () {
      return new Worker(workerUrl);
    });
  });
})();
