/* Annexa: progressive enhancements only; every page works without this file. */
(function () {
  "use strict";
  document.addEventListener("change", function (event) {
    var box = event.target;
    if (!box.matches || !box.matches("input[data-select-all]")) { return; }
    var form = box.form || document;
    form.querySelectorAll("input[type=checkbox][name='" + box.getAttribute("data-select-all") + "']")
      .forEach(function (other) { other.checked = box.checked; });
  });
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) { event.preventDefault(); }
  });
})();
