// The order screen's confirmations: each action button opens its <dialog>; the dialog's form POSTs.
// Without JavaScript the buttons are links to ?confirm=<action>, which renders the dialog open.
document.addEventListener("click", function (event) {
  var opener = event.target.closest("[data-dialog]");
  if (opener) {
    var dialog = document.getElementById(opener.dataset.dialog);
    if (dialog && dialog.showModal) {
      event.preventDefault();
      dialog.showModal();
      var first = dialog.querySelector("textarea, button[type=submit]");
      if (first) { first.focus(); }
    }
    return;
  }
  var closer = event.target.closest("[data-close]");
  if (closer) {
    event.preventDefault();
    closer.closest("dialog").close();
  }
});
window.addEventListener("load", function () {
  // A dialog the server rendered open (no-JS fallback) becomes a real modal when JS is there.
  document.querySelectorAll("dialog[open]").forEach(function (dialog) {
    if (dialog.showModal) { dialog.close(); dialog.showModal(); }
  });
});
