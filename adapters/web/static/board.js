// The status board with JavaScript: drag a card to another column (the vendored SortableJS), or press the
// left and right arrow keys on a focused card, and the move is posted with the card's own form (its CSRF
// token and one-time key) asking for JSON. A refused move snaps the card back and shows the desk's own
// message; cancelling and resolving submit the form as it is, which opens the page asking why (or for the
// note). Every word shown comes from the server: none is written here.
(function () {
  "use strict";
  var board = document.getElementById("board");
  var message = document.getElementById("board-message");
  if (!board || !message || typeof Sortable === "undefined") { return; }
  var ASKED = { cancelled: true, resolved: true };

  function say(text, ok) {
    message.textContent = text;
    message.className = "flash " + (ok ? "ok" : "error");
    message.setAttribute("role", ok ? "status" : "alert");
    message.hidden = false;
  }

  function recount(list, delta) {
    var count = list.closest(".column").querySelector(".count");
    var n = parseInt(count.getAttribute("data-count"), 10) + delta;
    count.setAttribute("data-count", String(n));
    count.textContent = String(n);
  }

  // The form's choice for a column: the status itself, or its first "waiting:REASON".
  function choiceFor(select, status) {
    var options = select ? select.options : [];
    for (var i = 0; i < options.length; i++) {
      var value = options[i].value;
      if (value === status || value.indexOf(status + ":") === 0) { return value; }
    }
    return null;
  }

  function rebuild(select, moves) {
    while (select.firstChild) { select.removeChild(select.firstChild); }
    moves.forEach(function (move) {
      var option = document.createElement("option");
      option.value = move[0];
      option.textContent = move[1];
      select.appendChild(option);
    });
  }

  function move(card, from, to, index) {
    var form = card.querySelector("form.move");
    var select = form && form.querySelector("select[name=status]");
    var status = to.getAttribute("data-status");
    function snapBack(text) {
      from.insertBefore(card, from.children[index] || null);
      say(text, false);
      card.focus();
    }
    if (!form) { snapBack(board.getAttribute("data-readonly")); return; }
    var choice = choiceFor(select, status);
    if (ASKED[status] && choice) {  // asks why, or for the note, on its own page
      select.value = choice;
      form.submit();
      return;
    }
    var data = new FormData(form);
    data.set("status", choice || status);
    card.classList.add("moving");
    fetch(form.getAttribute("action"), {
      method: "POST", body: data, credentials: "same-origin", headers: { "Accept": "application/json" }
    }).then(function (response) {
      return response.json().then(function (body) { return { ok: response.ok, body: body }; });
    }).then(function (answer) {
      card.classList.remove("moving");
      if (answer.body.once) { form.querySelector("input[name=once]").value = answer.body.once; }
      if (!answer.ok) { snapBack(answer.body.message); return; }
      card.setAttribute("data-status", answer.body.status);
      rebuild(select, answer.body.moves || []);
      if (!select.options.length) { form.hidden = true; card.classList.remove("movable"); }
      recount(from, -1);
      recount(to, 1);
      say(answer.body.message, true);
      card.focus();
    }).catch(function () {
      card.classList.remove("moving");
      snapBack(board.getAttribute("data-failed"));
    });
  }

  var lists = Array.prototype.slice.call(board.querySelectorAll("ol.cards"));
  lists.forEach(function (list) {
    Sortable.create(list, {
      group: "board", sort: false, draggable: ".movable", filter: "input, select, button, a, label",
      preventOnFilter: false, animation: 120, forceFallback: true, fallbackTolerance: 3,
      onEnd: function (event) {
        if (event.from === event.to) { return; }
        move(event.item, event.from, event.to, event.oldIndex);
      }
    });
  });

  // Keyboard: the left and right arrows move a focused card to the column beside it.
  board.addEventListener("keydown", function (event) {
    var card = event.target;
    if (!card.classList || !card.classList.contains("board-card") || !card.classList.contains("movable")) { return; }
    if (event.key !== "ArrowLeft" && event.key !== "ArrowRight") { return; }
    var from = card.parentNode;
    var to = lists[lists.indexOf(from) + (event.key === "ArrowRight" ? 1 : -1)];
    if (!to) { return; }
    event.preventDefault();
    var index = Array.prototype.indexOf.call(from.children, card);
    to.appendChild(card);
    card.focus();
    move(card, from, to, index);
  });
}());
