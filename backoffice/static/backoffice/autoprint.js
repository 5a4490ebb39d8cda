// A recorded print (the answer to pressing Print) opens the browser's print dialog by itself.
window.addEventListener("load", function () {
  if (document.body.dataset.autoprint) { window.print(); }
});
