// Layout helpers, no framework: <details class="fold-narrow"> (the menu, filter panels) is folded
// on narrow screens and open on wide ones. Without this script the button still opens it, and
// browsers that style ::details-content show it open on wide screens from the stylesheet alone.
(function () {
  "use strict";
  var wide = window.matchMedia("(min-width: 48rem)");

  function sync(root) {
    var panels = (root || document).querySelectorAll("details.fold-narrow");
    for (var i = 0; i < panels.length; i++) {
      if (!panels[i].hasAttribute("data-keep-open")) { panels[i].open = wide.matches; }
    }
  }

  document.addEventListener("DOMContentLoaded", function () { sync(document); });
  // Only content htmx has just added, so a panel the user opened on a phone stays open.
  document.addEventListener("htmx:load", function (event) {
    if (event.detail && event.detail.elt && event.detail.elt !== document.body) {
      var elt = event.detail.elt;
      if (elt.matches && elt.matches("details.fold-narrow") && !elt.hasAttribute("data-keep-open")) {
        elt.open = wide.matches;
      }
      if (elt.querySelectorAll) { sync(elt); }
    }
  });
  var onChange = function () { sync(document); };
  if (wide.addEventListener) { wide.addEventListener("change", onChange); } else { wide.addListener(onChange); }
})();

// "Select all on this page" of a list with bulk actions: <input data-select-all="FORM-ID"> ticks
// every row checkbox of that form (name="ids"). Hidden without this script, which shows it.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var boxes = document.querySelectorAll("input[data-select-all]");
    for (var i = 0; i < boxes.length; i++) {
      var label = boxes[i].closest("label");
      if (label) { label.hidden = false; }
    }
  });
  document.addEventListener("change", function (event) {
    var box = event.target;
    if (!box.matches || !box.matches("input[data-select-all]")) { return; }
    var form = box.getAttribute("data-select-all");
    var rows = document.querySelectorAll('input[type="checkbox"][name="ids"][form="' + form + '"]');
    for (var i = 0; i < rows.length; i++) { rows[i].checked = box.checked; }
  });
})();
