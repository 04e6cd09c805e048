// A little help on top of plain forms: a button marked data-once is disabled once its form is
// sent, so an impatient second click sends nothing (the server refuses a repeat anyway).
document.addEventListener("submit", function (event) {
  var form = event.target;
  if (!(form instanceof HTMLFormElement)) return;
  form.querySelectorAll("button[data-once]").forEach(function (button) {
    window.setTimeout(function () { button.disabled = true; }, 0);
  });
});
