// The order pages: the ticket's checks as the trader types, the instrument search's choices,
// the place button's single submit, the action panel's close, and live status. Here and not
// in the templates: the Content-Security-Policy forbids inline script.
(function () {
  "use strict";

  // An ORDER_UPDATE on the page's socket: the book or the order re-renders from the server
  // (an htmx trigger filter would need eval, which the policy forbids).
  document.addEventListener("htmx:wsAfterMessage", function (event) {
    const message = event.detail && event.detail.message;
    if (typeof message === "string" && message.indexOf("ORDER_UPDATE") >= 0) {
      document.body.dispatchEvent(new CustomEvent("order-updated"));
    }
  });

  // --- Lot and tick, as the trader types -------------------------------------------------------
  // The server says the same (routing.risk) in the live preview; this only answers sooner.
  const SCALE = 10000n; // prices have at most four decimal places

  function scaled(text) {
    // "2950.05" → 29500500n; null when it is not a plain decimal number
    const match = /^(-?)(\d*)(?:\.(\d{0,4}))?$/.exec(text);
    if (!match || (match[2] === "" && !match[3])) return null;
    const whole = BigInt(match[2] || "0") * SCALE;
    const fraction = BigInt(((match[3] || "") + "0000").slice(0, 4));
    return (match[1] ? -1n : 1n) * (whole + fraction);
  }

  function rupees(value) {
    const negative = value < 0n;
    const abs = negative ? -value : value;
    let fraction = (abs % SCALE).toString().padStart(4, "0").replace(/0+$/, "");
    if (fraction.length < 2) fraction = (fraction + "00").slice(0, 2);
    return (negative ? "-" : "") + (abs / SCALE).toString() + "." + fraction;
  }

  function quantityProblem(text, lot, symbol) {
    if (text === "") return "";
    if (!/^-?\d+(\.\d+)?$/.test(text)) return "Quantity " + text + " is not a whole number.";
    if (/\.\d*[1-9]/.test(text)) return "Quantity " + text + " is not a whole number.";
    const quantity = parseInt(text, 10);
    if (quantity < 1) return "Quantity must be at least 1.";
    if (lot > 1 && quantity % lot) {
      const below = Math.max(lot, quantity - (quantity % lot));
      return "Quantity " + quantity + " is not a multiple of the lot size " + lot +
        (symbol ? " of " + symbol : "") + " (try " + below + ").";
    }
    return "";
  }

  function priceProblem(name, text, tick, symbol) {
    if (text === "") return "";
    const value = scaled(text);
    if (value === null) return name + " must be a number in rupees, like 2950.05.";
    if (value <= 0n) return name + " must be more than zero.";
    const step = tick ? scaled(tick) : null;
    if (step && step > 0n && value % step) {
      const below = value - (value % step);
      return name + " " + text + " is not a multiple of the tick size " + rupees(step) +
        (symbol ? " of " + symbol : "") + " (try " + rupees(below) + " or " + rupees(below + step) + ").";
    }
    return "";
  }

  const PRICED = ["LIMIT", "SL"];
  const TRIGGERED = ["SL", "SL-M"];

  function say(id, text, keep) {
    // keep: the server's word stands where it said something (after a preview arrives)
    const element = document.getElementById(id);
    if (element && !(keep && element.textContent.trim())) element.textContent = text;
  }

  function check(form, keep) {
    const lot = parseInt(form.dataset.lot || "1", 10) || 1;
    const tick = form.dataset.tick || "";
    const symbol = form.dataset.symbol || "";
    const value = (name) => (form.elements[name] ? form.elements[name].value.trim() : "");
    const kind = value("order_type");
    const price = value("price");
    const trigger = value("trigger_price");
    say("err-quantity", quantityProblem(value("quantity").replace(/,/g, ""), lot, symbol), keep);
    let priceText = priceProblem("Price", price, tick, symbol);
    if (price !== "" && PRICED.indexOf(kind) < 0) {
      priceText = "A " + kind + " order takes no price: leave it empty, or make it a " +
        (kind === "MARKET" ? "LIMIT" : "SL") + " order.";
    } else if (price === "" && PRICED.indexOf(kind) >= 0) {
      priceText = "A " + kind + " order needs a price.";
    }
    say("err-price", priceText, keep);
    let triggerText = priceProblem("Trigger price", trigger, tick, symbol);
    if (trigger !== "" && TRIGGERED.indexOf(kind) < 0) {
      triggerText = "A " + kind + " order takes no trigger price: only SL and SL-M orders do.";
    } else if (trigger === "" && TRIGGERED.indexOf(kind) >= 0) {
      triggerText = "A " + kind + " order needs a trigger price.";
    }
    say("err-trigger_price", triggerText, keep);
  }

  function ticket() {
    return document.getElementById("ticket");
  }

  document.addEventListener("input", function (event) {
    const form = ticket();
    if (form && form.contains(event.target)) check(form);
  });
  document.addEventListener("change", function (event) {
    const form = ticket();
    if (form && form.contains(event.target)) check(form);
  });

  // The preview knows the instrument's lot and tick: the checks use them from then on.
  document.addEventListener("htmx:afterSettle", function () {
    const form = ticket();
    const known = document.getElementById("preview-body");
    if (!form || !known) return;
    form.dataset.lot = known.dataset.lot || "1";
    form.dataset.tick = known.dataset.tick || "";
  });
  // A preview that could not look at a field (another one was malformed) leaves it blank:
  // what is known here is said there.
  document.addEventListener("htmx:oobAfterSwap", function () {
    const form = ticket();
    if (form) check(form, true);
  });

  // A search result chosen: into the ticket, with its lot and tick, and a fresh preview.
  document.addEventListener("click", function (event) {
    const choice = event.target.closest("button.instrument-choice");
    if (!choice) return;
    const form = ticket();
    const field = document.getElementById("id_instrument");
    if (!form || !field) return;
    field.value = choice.dataset.ref;
    form.dataset.lot = choice.dataset.lot || "1";
    form.dataset.tick = choice.dataset.tick || "";
    form.dataset.symbol = (choice.dataset.ref || "").split(":").pop();
    const quantity = document.getElementById("id_quantity");
    if (quantity && quantity.value.trim() === "") quantity.value = form.dataset.lot; // one lot
    check(form);
    field.dispatchEvent(new Event("input", { bubbles: true })); // the preview follows
    if (quantity) quantity.focus();
  });

  // Placing: one submit per page, whatever the clicks (the Idempotency key makes a second
  // request give back the same order anyway).
  document.addEventListener("submit", function (event) {
    const form = event.target;
    if (form.id !== "ticket") return;
    if (form.dataset.sent === "1") {
      event.preventDefault();
      return;
    }
    form.dataset.sent = "1";
    const button = document.getElementById("place-button");
    if (button) button.textContent = "Placing…";
  });

  // A refusal (400, 409, 422) of the preview, of a modify/cancel or of a queued order's send
  // or cancel is a fragment that says why, in words: shown like any other answer, where it
  // was asked for (htmx leaves 4xx answers out by default).
  document.addEventListener("htmx:beforeSwap", function (event) {
    const status = event.detail.xhr && event.detail.xhr.status;
    const target = event.detail.target;
    if (![400, 409, 422].includes(status) || !target) return;
    if (target.id === "preview" || target.hasAttribute("data-action-area")) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  // The action panel's "keep it" / "close": the area it was shown in is emptied.
  document.addEventListener("click", function (event) {
    const close = event.target.closest("[data-close-action]");
    if (!close) return;
    const panel = close.closest("[data-action-area]");
    if (panel) panel.replaceChildren();
  });
})();
