// Assent admin: small enhancements. Every page works without this file.
"use strict";

document.addEventListener("DOMContentLoaded", function () {
  // Ask before destructive actions.
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (e) {
      if (!window.confirm(form.getAttribute("data-confirm"))) {
        e.preventDefault();
      }
    });
  });

  // Copy buttons next to read-only fields (a form link, a new API key).
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    var input = document.getElementById(button.getAttribute("data-copy"));
    if (!input || !navigator.clipboard) {
      return;
    }
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(input.value).then(function () {
        button.textContent = "Copied";
        setTimeout(function () { button.textContent = "Copy"; }, 2000);
      });
    });
  });
  document.querySelectorAll("input[readonly]").forEach(function (input) {
    input.addEventListener("focus", function () { input.select(); });
  });

  // Bring the keyboard to what needs attention: a problem, a new key.
  var first = document.querySelector("[data-autofocus]");
  if (first) {
    first.focus();
  }

  // Suggest a subcategory's value from its name until the value is typed.
  var form = document.querySelector('form[action="/admin/subcategories"]');
  if (form && form.elements.name && form.elements.value) {
    var name = form.elements.name, value = form.elements.value;
    var typed = value.value !== "";
    value.addEventListener("input", function () { typed = value.value !== ""; });
    name.addEventListener("input", function () {
      if (typed) {
        return;
      }
      value.value = name.value.normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase()
        .replace(/[^a-z0-9_-]+/g, "-").replace(/^[-_]+|-+$/g, "").slice(0, 64);
    });
  }
});
