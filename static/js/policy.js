/* Policy pages: drag (or arrow buttons) to order the priority list, the brokerage plans'
   inputs that apply, and the kill switch's typed confirmation. No inline script anywhere:
   this file is loaded with defer. */
(function () {
  "use strict";

  function changed(list) {
    var form = list.closest("form");
    if (form) {
      form.dispatchEvent(new CustomEvent("policy-reordered", { bubbles: true }));
    }
  }

  function sortable(list) {
    var dragged = null;
    list.addEventListener("dragstart", function (event) {
      dragged = event.target.closest("li");
      if (!dragged) return;
      dragged.classList.add("dragging");
      event.dataTransfer.effectAllowed = "move";
      event.dataTransfer.setData("text/plain", dragged.dataset.key || "");
    });
    list.addEventListener("dragover", function (event) {
      if (!dragged) return;
      event.preventDefault();
      var over = event.target.closest("li");
      if (!over || over === dragged) return;
      var box = over.getBoundingClientRect();
      var after = event.clientY > box.top + box.height / 2;
      list.insertBefore(dragged, after ? over.nextSibling : over);
    });
    list.addEventListener("drop", function (event) {
      event.preventDefault();
    });
    list.addEventListener("dragend", function () {
      if (dragged) dragged.classList.remove("dragging");
      dragged = null;
      changed(list);
    });
    list.addEventListener("click", function (event) {
      var button = event.target.closest("button[data-move]");
      if (!button) return;
      var item = button.closest("li");
      if (button.dataset.move === "up" && item.previousElementSibling) {
        list.insertBefore(item, item.previousElementSibling);
      } else if (button.dataset.move === "down" && item.nextElementSibling) {
        list.insertBefore(item.nextElementSibling, item);
      }
      button.focus();
      changed(list);
    });
  }

  function typedConfirmation(form) {
    var word = form.dataset.armWord;
    var input = form.querySelector("input[name=confirm]");
    var button = form.querySelector("button[type=submit]");
    if (!word || !input || !button) return;
    function update() {
      button.disabled = input.value.trim().toUpperCase() !== word;
    }
    input.addEventListener("input", update);
    update();
  }

  // The amounts each kind of charge takes (routing.views.CHARGE_FIELDS); the server keeps
  // only these whatever is posted, so this only spares the trader filling the others.
  var AMOUNTS = { ZERO: [], FLAT: ["flat"], PERCENT_WITH_CAP: ["percent", "cap", "minimum"] };

  function brokeragePlan(fieldset) {
    var published = fieldset.querySelector("input[name='global.cost.published:list']");
    function update() {
      var own = !(published && published.checked);
      fieldset.querySelectorAll("input[name$='.name']").forEach(function (input) {
        input.disabled = !own;
      });
      fieldset.querySelectorAll("select[name$='.kind']").forEach(function (select) {
        select.disabled = !own;
        var row = select.closest("tr");
        var wanted = AMOUNTS[select.value] || [];
        row.querySelectorAll("input").forEach(function (input) {
          var amount = input.name.split(".").pop();
          input.disabled = !own || wanted.indexOf(amount) === -1;
        });
      });
    }
    fieldset.addEventListener("change", update);
    update();
  }

  function start() {
    document.querySelectorAll("[data-sortable]").forEach(sortable);
    document.querySelectorAll("fieldset[data-plan]").forEach(brokeragePlan);
    document.querySelectorAll("form[data-arm-word]").forEach(typedConfirmation);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
