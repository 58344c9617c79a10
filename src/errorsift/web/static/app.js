// errorsift dashboard: the only script besides htmx. Loaded from /static (the CSP allows no inline script).
// Copy buttons: <button data-copy="ELEMENT_ID"> copies that element's text (e.g. the customer reply).
document.addEventListener("click", function (event) {
  var button = event.target.closest("[data-copy]");
  if (!button) {
    return;
  }
  var source = document.getElementById(button.getAttribute("data-copy"));
  if (!source) {
    return;
  }
  var text = source.textContent.trim();
  var done = function () {
    button.textContent = "Copied";
    window.setTimeout(function () { button.textContent = "Copy text"; }, 2000);
  };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(text).then(done, function () { selectText(source); });
  } else {
    selectText(source);
  }
});

function selectText(element) {
  var range = document.createRange();
  range.selectNodeContents(element);
  var selection = window.getSelection();
  selection.removeAllRanges();
  selection.addRange(range);
}
